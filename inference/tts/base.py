"""The TTS interface every engine implements (eSpeak NG now, Silero later)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class PhonemeEvent:
    """One phoneme of the synthesized audio, in seconds from its start."""

    start: float
    end: float
    phoneme: str  # IPA, as the engine names it


@dataclass(frozen=True)
class WordEvent:
    """One word of the synthesized audio: its time span and where it starts in the text."""

    start: float
    end: float
    position: int  # character offset in the text given to ``synthesize``


@dataclass(frozen=True)
class Voice:
    id: str
    name: str
    gender: str  # "male" | "female"


@dataclass(frozen=True)
class Speech:
    """Mono float32 audio in [-1, 1]; ``phonemes`` and ``words`` are None when the engine
    gives audio only (then the face is timed from the audio itself)."""

    samples: npt.NDArray[np.float32]
    sample_rate: int
    phonemes: tuple[PhonemeEvent, ...] | None = None
    words: tuple[WordEvent, ...] | None = None

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


class TTSEngine(Protocol):
    name: str

    def voices(self) -> list[Voice]: ...

    def synthesize(self, text: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        """Speak already-normalized text. ``rate`` 1.0 is the voice's natural speed."""
        ...
