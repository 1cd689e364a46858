"""Silero TTS (torch.package models, 48 kHz) behind the ``TTSEngine`` interface.

The model file is a ``torch.package`` archive downloaded once by ``govorun models download``;
it is opened exactly as Silero's own standalone example does::

    model = torch.package.PackageImporter(path).load_pickle("tts_models", "model")
    model.to(device)
    audio = model.apply_tts(text=..., speaker=..., sample_rate=48000)   # 1-D float tensor

What this wrapper adds:

- **Length.** ``apply_tts`` refuses long input ("Model couldn't generate your text, probably
  it's too long"); the limit is about generated duration and differs per speaker (reports put
  it between ~800 and ~1000 characters). Text is split at sentence boundaries (then clauses,
  then words; a word is never cut) into chunks of at most ``max_chars`` characters, and a chunk
  the model still refuses is halved at the boundary nearest its middle and tried again.
- **Stress.** ``v5_cis_base`` (MIT) reads stress marks ("+" before the stressed vowel) and
  guesses where there are none, so with ``needs_stress`` every chunk goes through
  :class:`~inference.tts.stress.StressPlacer` (silero-stress) first.
- **Joins.** Each chunk gets a short raised-cosine fade at both ends and chunks are separated
  by a short silence, so stitching never clicks.
- **Rate.** Silero has no speed parameter; resampling would shift the pitch. A rate other than
  ~1.0 wraps each chunk in SSML ``<prosody rate="...">``, which Silero's SSML supports with the
  named values x-slow, slow, medium, fast, x-fast only, so the rate is quantized to the nearest
  of those (see :func:`prosody_rate`); the exact speed of each level is the model's.
- **SSML.** Text that starts with ``<speak>`` goes to ``apply_tts(ssml_text=...)`` as it is, in
  one call, with no stress placement and no rate: the markup is the author's.

Silero gives audio only, so ``Speech.phonemes`` is None and the animator derives the mouth
motion from the audio. torch is imported only when an engine is built, so importing this module
works without it.
"""

from __future__ import annotations

import inspect
import logging
import math
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import numpy as np
import numpy.typing as npt
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from inference.errors import ErrorCode, RenderError
from inference.text import pack
from inference.tts.base import Speech, Voice
from inference.tts.stress import StressPlacer

if TYPE_CHECKING:
    from inference.models import ModelStore

log = logging.getLogger(__name__)

SAMPLE_RATES = (8000, 24000, 48000)
DEFAULT_SAMPLE_RATE = 48000
# Characters of plain text per apply_tts call (stress marks come on top, ~1 per word). Silero's
# limit sits around 800-1000 characters depending on the speaker; a refused chunk is halved.
MAX_CHARS = 750
PAUSE_SECONDS = 0.15  # silence between chunks (each chunk ends on a sentence or a clause)
FADE_SECONDS = 0.008  # raised-cosine fade at both ends of each chunk
_MAX_HALVINGS = 4
# Silero raises Exception("Model couldn't generate your text, probably it's too long").
_TOO_LONG_MARK = "too long"

# Speakers whose gender is known; others: "unknown". Silero publishes names, not genders: these
# follow the names and, for ru_kejilgan, ru_miyau, ru_onaoy and ru_sibday, whose names do not
# say, the pitch a public TTS comparison measured on their speech (about 112, 113, 224 and
# 162 Hz; the men named here speak at 104-138 Hz there, the women at 186-250 Hz).
_MALE = {
    "aidar",
    "eugene",
    "ru_alexandr",
    "ru_bogdan",
    "ru_dmitriy",
    "ru_eduard",
    "ru_gamat",
    "ru_igor",
    "ru_kejilgan",
    "ru_marat",
    "ru_miyau",
    "ru_roman",
    "ru_safarhuja",
    "ru_sibday",
}
_FEMALE = {
    "baya",
    "kseniya",
    "xenia",
    "ru_aigul",
    "ru_albina",
    "ru_alfia",
    "ru_alfia2",
    "ru_ekaterina",
    "ru_karina",
    "ru_kermen",
    "ru_nurgul",
    "ru_oksana",
    "ru_onaoy",
    "ru_ramilia",
    "ru_saida",
    "ru_vika",
    "ru_zara",
    "ru_zhadyra",
    "ru_zhazira",
    "ru_zinaida",
}
_PREFERRED_DEFAULTS = ("xenia", "ru_zhadyra", "baya", "aidar")
# CIS models name speakers "<lang>_<name>"; only the Russian ones ("ru_...") read Russian text.
_LANG_PREFIX = re.compile(r"^[a-z]{3}_")
# v3/v4 models offer "random" (a new voice per call): not a voice a user can pick twice.
_NOT_VOICES = {"random"}

# Upper bounds of the rate bands mapped to Silero's named SSML rates; None: natural speed.
_PROSODY_BANDS: tuple[tuple[float, str | None], ...] = (
    (0.7, "x-slow"),
    (0.9, "slow"),
    (1.12, None),
    (1.4, "fast"),
    (math.inf, "x-fast"),
)
# Which model needs stress marks, by manifest name.
NEEDS_STRESS = {"silero-v5-cis-base": True, "silero-v4-ru": False}

_SENTENCE_END = re.compile(r"[.!?…][»\"')\]]*$")
_CLAUSE_END = re.compile(r"[,;:—]$")


class SileroSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SILERO_", env_file=".env", extra="ignore")

    device: str = Field(
        "auto", description="auto (the GPU when torch sees one, else the CPU), cpu, cuda, cuda:N"
    )


def silero_device(setting: str) -> str:
    """The torch device for SILERO_DEVICE: ``auto`` is CUDA on a GPU host, else the CPU."""
    if setting != "auto":
        return setting
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class _TooLong(Exception):
    pass


def gender_of(speaker: str) -> str:
    if speaker in _MALE:
        return "male"
    if speaker in _FEMALE:
        return "female"
    return "unknown"


def prosody_rate(rate: float) -> str | None:
    """Silero's named SSML rate nearest to ``rate``, or None for the natural speed."""
    if not rate > 0:
        raise ValueError("rate must be positive")
    for upper, name in _PROSODY_BANDS:
        if rate < upper:
            return name
    return "x-fast"  # pragma: no cover - the last band is unbounded


def split_chunks(text: str, max_chars: int = MAX_CHARS) -> list[str]:
    """Pack ``text`` into chunks of at most ``max_chars`` characters for one apply_tts call.

    The text stage's packer (``inference.text.pack``): whole sentences, then clauses, then
    words; ``" ".join(chunks)`` is the text with its whitespace normalized (pieces with no
    letter or digit are dropped). Only a single word longer than ``max_chars`` is ever cut.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be positive")
    return [
        chunk[i : i + max_chars]
        for chunk in pack(text, lambda chunk: len(chunk) <= max_chars)
        for i in range(0, len(chunk), max_chars)
    ]


def halve(chunk: str) -> tuple[str, str] | None:
    """Split ``chunk`` in two at the space nearest its middle, preferring sentence ends, then
    clause marks; None when it has no space (a single word)."""
    spaces = [m.start() for m in re.finditer(r" ", chunk)]
    if not spaces:
        return None
    middle = len(chunk) / 2
    window = [i for i in spaces if len(chunk) / 4 <= i <= 3 * len(chunk) / 4]
    for pattern in (_SENTENCE_END, _CLAUSE_END):
        preferred = [i for i in window if pattern.search(chunk[:i])]
        if preferred:
            cut = min(preferred, key=lambda i: abs(i - middle))
            break
    else:
        cut = min(spaces, key=lambda i: abs(i - middle))
    return chunk[:cut].strip(), chunk[cut + 1 :].strip()


def join_chunks(
    parts: list[npt.NDArray[np.float32]],
    sample_rate: int,
    *,
    pause: float = PAUSE_SECONDS,
    fade: float = FADE_SECONDS,
) -> npt.NDArray[np.float32]:
    """Concatenate audio chunks with a raised-cosine fade on each end and silence between."""
    gap = np.zeros(round(pause * sample_rate), np.float32)
    out: list[npt.NDArray[np.float32]] = []
    for index, part in enumerate(parts):
        if index:
            out.append(gap)
        out.append(_faded(part, round(fade * sample_rate)))
    if not out:
        return np.zeros(0, np.float32)
    return np.concatenate(out).astype(np.float32, copy=False)


def _faded(part: npt.NDArray[np.float32], n_fade: int) -> npt.NDArray[np.float32]:
    samples = np.array(part, dtype=np.float32, copy=True)
    n = min(n_fade, len(samples) // 2)
    if n > 0:
        ramp = (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)
        samples[:n] *= ramp
        samples[-n:] *= ramp[::-1]
    return samples


def _is_ssml(text: str) -> bool:
    return text.lstrip().startswith("<speak>")


def _to_numpy(audio: Any) -> npt.NDArray[np.float32]:
    if hasattr(audio, "detach"):
        audio = audio.detach().to("cpu").float().numpy()
    samples = np.asarray(audio, dtype=np.float32).reshape(-1)
    return np.clip(np.nan_to_num(samples), -1.0, 1.0).astype(np.float32, copy=False)


def _accepted_options(apply_tts: Any, options: dict[str, bool]) -> dict[str, bool]:
    """The keyword options this model's apply_tts takes (v5_cis_base may not take put_accent)."""
    try:
        parameters = inspect.signature(apply_tts).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return dict(options)
    return {key: value for key, value in options.items() if key in parameters}


def _load_model(model_path: Path, device: str) -> Any:
    """Open the torch.package archive; any failure is ENGINE_UNAVAILABLE, without the path."""
    try:
        import torch
        from torch.package.package_importer import PackageImporter

        importer = PackageImporter(str(model_path))
        model = importer.load_pickle("tts_models", "model")
        moved = model.to(torch.device(device))
        model = moved if moved is not None else model
        speakers = [str(s) for s in model.speakers]
        if not callable(getattr(model, "apply_tts", None)) or not speakers:
            raise TypeError("not a Silero TTS model")
    except Exception as exc:
        # The exception text may name the file; the log gets its type only.
        log.warning("Silero model failed to load: %s", type(exc).__name__)
        raise RenderError(ErrorCode.ENGINE_UNAVAILABLE, engine="silero") from None
    return model


class SileroEngine:
    """Russian Silero voices; ``voice`` ids are Silero speaker names ("xenia", "ru_zhadyra")."""

    name = "silero"

    def __init__(
        self,
        model_path: Path,
        *,
        device: str = "cpu",
        needs_stress: bool = False,
        sample_rate: int = DEFAULT_SAMPLE_RATE,
        put_accent: bool = True,
        put_yo: bool = True,
        default_voice: str | None = None,
        max_chars: int = MAX_CHARS,
        stress: StressPlacer | None = None,
    ) -> None:
        if sample_rate not in SAMPLE_RATES:
            raise ValueError(f"Silero sample rates are {SAMPLE_RATES}")
        if max_chars < 16:
            raise ValueError("max_chars is too small")
        self.sample_rate = sample_rate
        self.needs_stress = needs_stress
        self.max_chars = max_chars
        self._model = _load_model(model_path, device)
        self._options = _accepted_options(
            self._model.apply_tts, {"put_accent": put_accent, "put_yo": put_yo}
        )
        self._voices = [
            Voice(speaker, _display_name(speaker), gender_of(speaker))
            for speaker in map(str, self._model.speakers)
            if _is_russian_voice(speaker)
        ]
        if not self._voices:
            raise RenderError(ErrorCode.ENGINE_UNAVAILABLE, engine="silero")
        ids = [v.id for v in self._voices]
        if default_voice is not None and default_voice not in ids:
            raise RenderError(ErrorCode.VOICE_UNKNOWN)
        self.default_voice = default_voice or next(
            (v for v in _PREFERRED_DEFAULTS if v in ids), ids[0]
        )
        self._stress: StressPlacer | None = None
        if needs_stress:
            self._stress = stress if stress is not None else StressPlacer()
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The loaded Silero model (what ``load_pickle`` returned)."""
        return self._model

    def voices(self) -> list[Voice]:
        return list(self._voices)

    def synthesize(self, text: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        speaker = voice or self.default_voice
        if speaker not in {v.id for v in self._voices}:
            raise RenderError(ErrorCode.VOICE_UNKNOWN)
        if _is_ssml(text):
            return Speech(self._call_ssml(text.strip(), speaker), self.sample_rate)
        level = prosody_rate(rate)
        chunks = split_chunks(text, self.max_chars)
        if not chunks:
            raise RenderError(ErrorCode.TEXT_EMPTY)
        parts: list[npt.NDArray[np.float32]] = []
        for chunk in chunks:
            marked = self._stress.place(chunk) if self._stress is not None else chunk
            parts.extend(self._render(marked, speaker, level, 0))
        return Speech(join_chunks(parts, self.sample_rate), self.sample_rate, phonemes=None)

    def _render(
        self, chunk: str, speaker: str, level: str | None, depth: int
    ) -> list[npt.NDArray[np.float32]]:
        try:
            if level is None:
                return [self._call(speaker, text=chunk)]
            ssml = f'<speak><prosody rate="{level}">{escape(chunk)}</prosody></speak>'
            return [self._call(speaker, ssml_text=ssml)]
        except _TooLong:
            halves = halve(chunk) if depth < _MAX_HALVINGS else None
            if halves is None:
                raise RenderError(ErrorCode.TEXT_TOO_LONG, max_chars=self.max_chars) from None
            return [
                part for half in halves for part in self._render(half, speaker, level, depth + 1)
            ]

    def _call_ssml(self, ssml: str, speaker: str) -> npt.NDArray[np.float32]:
        try:
            return self._call(speaker, ssml_text=ssml)
        except _TooLong:
            raise RenderError(ErrorCode.TEXT_TOO_LONG, max_chars=self.max_chars) from None

    def _call(self, speaker: str, **source: str) -> npt.NDArray[np.float32]:
        import torch

        try:
            with self._lock, torch.no_grad():
                audio = self._model.apply_tts(
                    speaker=speaker, sample_rate=self.sample_rate, **source, **self._options
                )
        except Exception as exc:
            if _TOO_LONG_MARK in str(exc):
                raise _TooLong from None
            log.warning("Silero apply_tts failed: %s", type(exc).__name__)
            raise RenderError(ErrorCode.ENGINE_UNAVAILABLE, engine="silero") from None
        return _to_numpy(audio)


def _is_russian_voice(speaker: str) -> bool:
    if speaker in _NOT_VOICES:
        return False
    return not _LANG_PREFIX.match(speaker) or speaker.startswith("ru_")


def _display_name(speaker: str) -> str:
    return speaker.removeprefix("ru_").replace("_", " ").capitalize()


def load_silero(
    store: ModelStore, name: str = "silero-v5-cis-base", **options: Any
) -> SileroEngine:
    """A Silero engine on the verified model file ``name`` from ``store``.

    Raises ``ModelMissing`` (naming ``govorun models download NAME``) when the file is absent;
    ``options`` go to :class:`SileroEngine` (``default_voice``, ...); the device is SILERO_DEVICE's
    unless ``options`` name one.
    """
    path = store.require(name)
    options.setdefault("needs_stress", NEEDS_STRESS.get(name, "cis" in name))
    if "device" not in options:
        options["device"] = silero_device(SileroSettings().device)
    return SileroEngine(path, **options)
