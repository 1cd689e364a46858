"""Engine choice: ``auto`` picks the best engine available here; the default tier is always on.

Speech: ``auto`` takes Silero when torch is installed (the ``neural`` extra) and its weights
are in MODELS_DIR (``govorun models download silero-v5-cis-base``), else eSpeak NG.
Face: ``auto`` takes SadTalker when torch sees a CUDA device, SADTALKER_HOME holds its code and
its checkpoints are in MODELS_DIR, else the ``warp`` animator. A neural engine that ``auto``
picked but that fails to load (a corrupt checkpoint, a missing package, no GPU memory) falls
back to the embedded one too: the worker starts anyway. The choice is reported in the render
output, the worker's start-up log (with why a neural engine was passed over, which
``govorun doctor`` shows as well) and the bot's /stats, so the operator always knows.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from typing import TypeVar

from inference.animate.base import Animator
from inference.models import ModelStore
from inference.tts.base import TTSEngine
from inference.tts.espeak import EspeakEngine

E = TypeVar("E")  # an engine: a TTSEngine or an Animator

log = logging.getLogger("govorun.engines")
SILERO_MODEL = "silero-v5-cis-base"  # MIT; the CC BY-NC models are an explicit opt-in
_REASON_CHARS = 300


def silero_ready(store: ModelStore | None = None) -> bool:
    """torch is installed and the Silero weights are present and verified."""
    if importlib.util.find_spec("torch") is None:
        return False
    return (store or ModelStore.from_settings()).is_present(SILERO_MODEL)


def choose_tts(name: str = "auto", store: ModelStore | None = None) -> str:
    """The TTS engine ``name`` stands for here (``auto`` resolved)."""
    if name not in ("auto", "espeak", "silero"):
        raise ValueError(f"unknown TTS engine: {name}")
    if name == "auto":
        return "silero" if silero_ready(store) else "espeak"
    return name


def choose_animator(name: str = "auto", store: ModelStore | None = None) -> tuple[str, str | None]:
    """The animator ``name`` stands for here, and why SadTalker cannot run (None if it can)."""
    if name not in ("auto", "warp", "sadtalker"):
        raise ValueError(f"unknown animator: {name}")
    if name == "warp":
        return name, None
    from inference.animate.sadtalker.engine import sadtalker_missing

    missing = sadtalker_missing(store or ModelStore.from_settings())
    if name == "auto":
        return ("warp" if missing else "sadtalker"), missing
    return name, missing


def load_tts(name: str = "auto", store: ModelStore | None = None) -> tuple[TTSEngine, str | None]:
    """The TTS engine for ``name``, and why ``auto`` passed Silero over (None if it did not)."""
    store = store or ModelStore.from_settings()
    if choose_tts(name, store) == "espeak":
        if name == "espeak":
            return EspeakEngine(), None
        why = "torch or its weights missing"
        log.info("Silero not available (%s): using eSpeak NG", why)
        return EspeakEngine(), why
    from inference.tts.silero import load_silero

    return _neural_or_fallback(
        name, lambda: load_silero(store, SILERO_MODEL), EspeakEngine, "Silero", "eSpeak NG"
    )


def load_animator(
    name: str = "auto", store: ModelStore | None = None
) -> tuple[Animator, str | None]:
    """The animator for ``name``, and why ``auto`` passed SadTalker over (None if it did not)."""
    from inference.animate.warp import WarpEngine

    store = store or ModelStore.from_settings()
    chosen, missing = choose_animator(name, store)
    if chosen == "warp":
        if name == "auto":
            log.info("SadTalker not available (%s): using the warp animator", missing)
        return WarpEngine(), missing
    from inference.animate.sadtalker.engine import load_sadtalker

    return _neural_or_fallback(
        name, lambda: load_sadtalker(store), WarpEngine, "SadTalker", "the warp animator"
    )


def _neural_or_fallback(
    name: str, load: Callable[[], E], fallback: Callable[[], E], neural: str, embedded: str
) -> tuple[E, str | None]:
    """The neural engine ``load`` gives; on ``auto``, the embedded one if it fails to load
    (with why: logged, and shown by ``govorun doctor``). Named explicitly, the failure stands."""
    try:
        return load(), None
    except Exception as error:
        if name != "auto":
            raise
        why = f"failed to load: {failure(error)}"
        log.warning("%s %s: using %s", neural, why, embedded)
        return fallback(), why


def create_tts(name: str = "auto") -> TTSEngine:
    return load_tts(name)[0]


def create_animator(name: str = "auto") -> Animator:
    return load_animator(name)[0]


def failure(error: BaseException) -> str:
    """One line for a log or ``govorun doctor``: the error's type and the start of its text."""
    text = " ".join(str(error).split())
    line = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return line[:_REASON_CHARS]
