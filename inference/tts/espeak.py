"""eSpeak NG speech through its C API (the library and Russian data ship in ``espeakng-loader``).

The C API is used directly via ctypes rather than the command line: it gives phoneme events with
sample-exact timings, which drive the visemes, and it keeps everything in-process and pip-only.
eSpeak NG keeps global state, so one lock serializes every call in the process.
"""

from __future__ import annotations

import ctypes
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from inference.errors import ErrorCode, RenderError
from inference.tts.base import PhonemeEvent, Speech, Voice, WordEvent
from inference.tts.voices import ESPEAK_VOICES as VOICE_NAMES

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS = 0x0001
_INIT_PHONEME_IPA = 0x0002
_INIT_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_ENDPAUSE = 0x1000
_PARAM_RATE = 1
_EVENT_LIST_TERMINATED = 0
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_DEFAULT_WPM = 165  # eSpeak's own default for Russian is 175; a touch slower reads better
# eSpeak copies the data path into a fixed 160-byte buffer and exits the process when it does
# not fit, so long virtualenv paths are reached through a short symlink instead.
_MAX_DATA_PATH = 150

_VARIANTS = {  # our voice id -> (eSpeak voice+variant, gender); display names live in the contract
    "ru-male": ("ru+m3", "male"),
    "ru-male-low": ("ru+m1", "male"),
    "ru-female": ("ru+f2", "female"),
    "ru-female-soft": ("ru+f4", "female"),
}
VOICES: dict[str, tuple[str, Voice]] = {
    voice_id: (variant, Voice(voice_id, VOICE_NAMES[voice_id], gender))
    for voice_id, (variant, gender) in _VARIANTS.items()
}
DEFAULT_VOICE = "ru-male"


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


_SynthCallback = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


def _short_data_path(data_path: str) -> str:
    if len(data_path) <= _MAX_DATA_PATH:
        return data_path
    link = Path(tempfile.gettempdir()) / f"govorun-espeak-{os.getuid()}"
    if not link.is_symlink() or os.readlink(link) != data_path:
        link.unlink(missing_ok=True)
        link.symlink_to(data_path)
    return str(link)


class EspeakEngine:
    """Russian eSpeak NG voices with IPA phoneme events."""

    name = "espeak"
    _lock = threading.Lock()
    _library: ctypes.CDLL | None = None
    _sample_rate = 0

    def __init__(self) -> None:
        with self._lock:
            if EspeakEngine._library is None:
                EspeakEngine._library, EspeakEngine._sample_rate = self._load()
        self._lib = EspeakEngine._library
        # Buffers the C callback fills during one espeak_Synth call (held under the lock).
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, str]] = []
        self._words: list[tuple[int, int]] = []
        self._callback = _SynthCallback(self._on_synth)

    @staticmethod
    def _load() -> tuple[ctypes.CDLL, int]:
        import espeakng_loader

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_char_p,
            ctypes.c_int,
        ]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.POINTER(ctypes.c_uint),
            ctypes.c_void_p,
        ]
        data_path = _short_data_path(espeakng_loader.get_data_path())
        options = _INIT_PHONEME_EVENTS | _INIT_PHONEME_IPA | _INIT_DONT_EXIT
        rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path.encode(), options)
        if rate <= 0:
            raise RenderError(ErrorCode.ENGINE_UNAVAILABLE, engine="espeak")
        return lib, rate

    def voices(self) -> list[Voice]:
        return [voice for _, voice in VOICES.values()]

    def synthesize(self, text: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        voice_id = voice or DEFAULT_VOICE
        if voice_id not in VOICES:
            raise RenderError(ErrorCode.VOICE_UNKNOWN)
        espeak_name = VOICES[voice_id][0]
        wpm = round(np.clip(_DEFAULT_WPM * rate, 80, 450))
        encoded = text.encode("utf-8") + b"\0"
        with self._lock:
            self._chunks, self._events, self._words = [], [], []
            self._lib.espeak_SetSynthCallback(self._callback)
            self._lib.espeak_SetVoiceByName(espeak_name.encode())
            self._lib.espeak_SetParameter(_PARAM_RATE, wpm, 0)
            status = self._lib.espeak_Synth(
                encoded, len(encoded), 0, _POS_CHARACTER, 0, _CHARS_UTF8 | _ENDPAUSE, None, None
            )
            chunks, events, words = self._chunks, self._events, self._words
            self._chunks, self._events, self._words = [], [], []
        if status != 0:
            raise RenderError(ErrorCode.ENGINE_UNAVAILABLE, engine="espeak")
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        samples = (pcm.astype(np.float32) / 32768.0).astype(np.float32)
        rate_hz = self._sample_rate
        return Speech(
            samples,
            rate_hz,
            _phoneme_events(events, len(samples), rate_hz),
            _word_events(text, words, len(samples), rate_hz),
        )

    def _on_synth(self, wav: Any, count: int, events: Any) -> int:
        if count > 0 and wav:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != _EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == _EVENT_PHONEME:
                name = event.id.string.decode("utf-8", errors="replace")
                self._events.append((event.sample, name))
            elif event.type == _EVENT_WORD:
                self._words.append((event.sample, event.text_position))
            i += 1
        return 0


def _phoneme_events(
    events: list[tuple[int, str]], total_samples: int, sample_rate: int
) -> tuple[PhonemeEvent, ...]:
    """Turn (start sample, name) pairs into intervals; each phoneme lasts until the next."""
    result = []
    for index, (start, name) in enumerate(events):
        end = events[index + 1][0] if index + 1 < len(events) else total_samples
        if end > start and name.strip():
            result.append(PhonemeEvent(start / sample_rate, end / sample_rate, name))
    return tuple(result)


def _word_events(
    text: str, words: list[tuple[int, int]], total_samples: int, sample_rate: int
) -> tuple[WordEvent, ...]:
    """Each word from where eSpeak starts it to where the next one starts.

    eSpeak counts text positions in characters from 1; a word's ``position`` here is the
    0-based offset in ``text`` of the character it named.
    """
    result = []
    for index, (start, position) in enumerate(words):
        end = words[index + 1][0] if index + 1 < len(words) else total_samples
        offset = min(max(position - 1, 0), len(text))
        if end > start:
            result.append(WordEvent(start / sample_rate, end / sample_rate, offset))
    return tuple(result)
