"""When each word of a note is spoken, and when its stressed syllable sounds.

eSpeak says where every word starts; for engines that give audio only (Silero), the words are
laid over the stretches where the voice sounds, each taking time in proportion to its
syllables, which is how speech spends its time.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inference.animate.signal import gaussian_smooth
from inference.animate.visemes import loudness_envelope
from inference.text.cues import Script, Word
from inference.text.duration import VOWELS
from inference.tts.base import Speech

FloatArray = npt.NDArray[np.float32]

RATE = 100  # Hz of the loudness grid the timing works on
_VOICED = 0.12  # loudness (share of the loud parts) above which the voice sounds


@dataclass(frozen=True)
class SpokenWord:
    word: Word
    start: float
    end: float
    beat: float  # when its stressed (or loudest) syllable sounds, in seconds


def spoken_words(script: Script, speech: Speech) -> list[SpokenWord]:
    """The script's words with their times in ``speech``."""
    if not script.words:
        return []
    loudness = loudness_envelope(speech.samples, speech.sample_rate, rate=RATE)
    spans = _from_events(script, speech) if speech.words else _from_syllables(script, loudness)
    return [
        SpokenWord(word, start, end, _beat(start, end, speech, loudness))
        for word, (start, end) in zip(script.words, spans, strict=True)
    ]


def syllables(text: str) -> int:
    return max(1, sum(ch in VOWELS for ch in text))


def _from_events(script: Script, speech: Speech) -> list[tuple[float, float]]:
    """Each script word gets the span of the eSpeak word that starts at or before it."""
    assert speech.words is not None
    events = sorted(speech.words, key=lambda event: event.position)
    positions = np.array([event.position for event in events])
    spans = []
    for word in script.words:
        index = int(np.searchsorted(positions, word.start, side="right")) - 1
        event = events[max(index, 0)]
        spans.append((event.start, event.end))
    return spans


def _from_syllables(script: Script, loudness: FloatArray) -> list[tuple[float, float]]:
    voiced = gaussian_smooth(loudness, 0.03 * RATE) > _VOICED
    # Cumulative voiced time, so words are laid over the voice and the pauses are skipped.
    sounding = np.concatenate([[0.0], np.cumsum(voiced, dtype=np.float64)])
    total = sounding[-1]
    if total <= 0:
        sounding = np.arange(len(loudness) + 1, dtype=np.float64)
        total = sounding[-1]
    weights = np.array([syllables(word.text) for word in script.words], np.float64)
    edges = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * total
    steps = np.searchsorted(sounding, edges, side="left").clip(0, len(loudness))
    times = steps / RATE
    return [(float(a), float(max(b, a + 1.0 / RATE))) for a, b in itertools.pairwise(times)]


def _beat(start: float, end: float, speech: Speech, loudness: FloatArray) -> float:
    """The stressed vowel's onset where eSpeak marked it, else the word's loudest moment."""
    for event in speech.phonemes or ():
        if start <= event.start < end and "ˈ" in event.phoneme:
            return event.start
    a, b = int(start * RATE), max(int(end * RATE), int(start * RATE) + 1)
    window = loudness[a:b]
    if len(window) == 0:
        return start
    return (a + int(np.argmax(window))) / RATE
