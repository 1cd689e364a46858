"""Mouth shapes over time: from eSpeak's phoneme events, or from the audio alone.

Both paths return (frames, 3) arrays of OPEN, WIDE, ROUND in [0, 1] sampled at the video's
frame rate. What real speakers do shapes the constants: a vowel holds the mouth open for its
whole length, open vowels wider than close ones; between vowels the jaw stays part open (it
moves per syllable, slower than the lips), so only bilabials (м, п, б) and pauses close the lips,
and they close them fully; opening follows loudness, so quiet tails close.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inference.animate.signal import gaussian_smooth
from inference.tts.base import PhonemeEvent

FloatArray = npt.NDArray[np.float32]

_RATE = 200  # Hz; the internal time grid, fine enough for 30 ms phonemes
_SMOOTH_S = 0.025  # co-articulation: Gaussian sigma of the shape curves
_JAW_SMOOTH_S = 0.04  # the jaw follows the voice's loudness, a little slower than the lips
_CLOSURE_SMOOTH_S = 0.012  # lips press together fast and fully
_MIN_CLOSURE_S = 0.05
_MAX_HOLD_S = 0.35  # a phoneme held longer relaxes toward rest (eSpeak pads before pauses)

# (open, wide, round). Keys are eSpeak's Russian IPA with stress marks and length removed.
_VOWELS: dict[str, tuple[float, float, float]] = {
    "a": (1.0, 0.3, 0.0),
    "ɑ": (1.0, 0.25, 0.0),
    "ɐ": (0.85, 0.25, 0.0),
    "ʌ": (0.8, 0.2, 0.0),
    "ə": (0.6, 0.15, 0.0),
    "e": (0.75, 0.75, 0.0),
    "ɛ": (0.8, 0.7, 0.0),
    "i": (0.5, 1.0, 0.0),
    "ɪ": (0.5, 0.85, 0.0),
    "ɨ": (0.55, 0.7, 0.0),
    "o": (0.8, 0.0, 1.0),
    "ɔ": (0.85, 0.0, 0.9),
    "u": (0.45, 0.0, 1.0),
    "ʊ": (0.5, 0.0, 1.0),
}
_BILABIAL = {"p", "b", "m"}  # lips pressed together
_LABIODENTAL = {"f", "v"}  # lower lip against the upper teeth
_HUSHING = {"ʂ", "ʐ", "ɕ", "tɕ", "ʃ", "ʒ"}  # lips slightly pushed out
_CONSONANT = (0.25, 0.15, 0.0)


def phoneme_shape(phoneme: str) -> tuple[float, float, float]:
    """Target (open, wide, round) of one eSpeak phoneme."""
    name = _base(phoneme)
    if name.startswith("j") and len(name) > 1:  # iotated vowels "я ю ё е" end as their vowel
        name = name[1:]
    if name in _VOWELS:
        return _VOWELS[name]
    if name in _BILABIAL:
        return (0.0, 0.0, 0.0)
    if name in _LABIODENTAL:
        return (0.05, 0.05, 0.0)
    if name in _HUSHING:
        return (0.2, 0.0, 0.6)
    if name and name[0] in _VOWELS:
        return _VOWELS[name[0]]
    return _CONSONANT


def loudness_envelope(samples: FloatArray, sample_rate: int, rate: int = _RATE) -> FloatArray:
    """RMS loudness on a ``rate`` Hz grid, 0..1 relative to the clip's loud parts."""
    hop = sample_rate / rate
    count = max(1, int(np.ceil(len(samples) / hop)))
    window = int(0.03 * sample_rate)
    padded = np.pad(samples.astype(np.float32) ** 2, (window // 2, window))
    cumulative = np.concatenate([[0.0], np.cumsum(padded, dtype=np.float64)])
    starts = (np.arange(count) * hop).astype(np.int64)
    rms = np.sqrt(np.maximum(cumulative[starts + window] - cumulative[starts], 0) / window)
    reference = float(np.percentile(rms, 95)) if rms.size else 0.0
    if reference <= 1e-6:
        return np.zeros(count, np.float32)
    return np.clip(rms / reference, 0.0, 1.0).astype(np.float32)


def shapes_from_phonemes(
    phonemes: tuple[PhonemeEvent, ...], samples: FloatArray, sample_rate: int, fps: int
) -> FloatArray:
    duration = len(samples) / sample_rate
    size = int(np.ceil(duration * _RATE)) + 1
    grid = np.zeros((size, 3), np.float32)
    closure = np.zeros(size, np.float32)  # 1 where the lips must be pressed together
    centres, openings = [], []
    for event in phonemes:
        start = int(event.start * _RATE)
        end = int(np.ceil(min(event.end, event.start + _MAX_HOLD_S) * _RATE))
        shape = phoneme_shape(event.phoneme)
        grid[start:end] = shape
        if _is_vowel(event.phoneme):
            centres.append((event.start + event.end) / 2 * _RATE)
            openings.append(shape[0])
        if _base(event.phoneme) in _BILABIAL:
            # Shut long enough to be seen in at least one frame, however short eSpeak makes it.
            shut = max(event.end, event.start + _MIN_CLOSURE_S)
            closure[start : int(np.ceil(shut * _RATE))] = 1.0
    grid = gaussian_smooth(grid, _SMOOTH_S * _RATE)
    loudness = loudness_envelope(samples, sample_rate)[:size]
    loudness = np.pad(loudness, (0, size - len(loudness)))
    if centres:
        # eSpeak's vowel events are short and its consonants long, while the sound shows the
        # jaw open through the syllable: the jaw opens as far as the nearest vowel asks, as
        # long as the voice is loud, and the lips shape it on top.
        nearest = np.abs(np.arange(size)[:, None] - np.array(centres)[None, :]).argmin(axis=1)
        syllable = np.array(openings, np.float32)[nearest]
        voiced = np.clip(gaussian_smooth(loudness, _JAW_SMOOTH_S * _RATE) * 1.6, 0.0, 1.0)
        grid[:, 0] = np.maximum(grid[:, 0], syllable * voiced**0.7)
    grid[:, 0] *= 1.0 - np.clip(gaussian_smooth(closure, _CLOSURE_SMOOTH_S * _RATE) * 1.4, 0, 1)
    # Loud parts open as far as the phoneme says; quiet tails and pauses close.
    grid[:, 0] *= np.clip(loudness * 2.5, 0.0, 1.0) ** 0.6
    return _to_frames(grid, duration, fps)


def _is_vowel(phoneme: str) -> bool:
    name = _base(phoneme)
    return name in _VOWELS or (name.startswith("j") and name[1:] in _VOWELS)


def _base(phoneme: str) -> str:
    return phoneme.replace("ˈ", "").replace("ˌ", "").replace("ː", "").replace("ʲ", "")


def shapes_from_audio(samples: FloatArray, sample_rate: int, fps: int) -> FloatArray:
    """Mouth shapes for audio without phonemes (voice messages, Silero)."""
    duration = len(samples) / sample_rate
    loudness = loudness_envelope(samples, sample_rate)
    brightness = _brightness(samples, sample_rate, len(loudness))
    grid = np.zeros((len(loudness), 3), np.float32)
    # Audio alone cannot tell "а" from "о"; a moderate ceiling avoids the gaping extremes.
    grid[:, 0] = 0.7 * np.clip((loudness - 0.08) / 0.72, 0.0, 1.0) ** 0.8
    voiced = np.clip(loudness * 3.0, 0.0, 1.0)
    # Spectral brightness separates spread front vowels from rounded back ones.
    grid[:, 1] = np.clip((brightness - 0.5) * 2.0, 0.0, 1.0) * voiced * 0.8
    grid[:, 2] = np.clip((0.35 - brightness) * 3.0, 0.0, 1.0) * voiced * 0.5
    grid = gaussian_smooth(grid, _SMOOTH_S * _RATE)
    return _to_frames(grid, duration, fps)


def _brightness(samples: FloatArray, sample_rate: int, count: int) -> FloatArray:
    """Share of 1.2–4 kHz energy against 250 Hz–4 kHz, per grid step, 0..1."""
    hop = sample_rate / _RATE
    size = 1 << int(np.ceil(np.log2(0.03 * sample_rate)))
    padded = np.pad(samples.astype(np.float32), (size // 2, size))
    starts = (np.arange(count) * hop).astype(np.int64)
    frames = np.lib.stride_tricks.sliding_window_view(padded, size)[starts]
    spectrum = np.abs(np.fft.rfft(frames * np.hanning(size).astype(np.float32), axis=1)) ** 2
    freqs = np.fft.rfftfreq(size, 1.0 / sample_rate)
    band = spectrum[:, (freqs >= 250) & (freqs < 4000)].sum(axis=1) + 1e-9
    high = spectrum[:, (freqs >= 1200) & (freqs < 4000)].sum(axis=1)
    return (high / band).astype(np.float32)


def _to_frames(grid: FloatArray, duration: float, fps: int) -> FloatArray:
    """Average the grid over each frame's interval (point sampling would alias)."""
    frames = max(1, round(duration * fps))
    edges = np.minimum((np.arange(frames + 1) * _RATE / fps).astype(np.int64), len(grid))
    cumulative = np.concatenate([np.zeros((1, grid.shape[1])), np.cumsum(grid, axis=0)])
    widths = np.maximum(edges[1:] - edges[:-1], 1)[:, None]
    return ((cumulative[edges[1:]] - cumulative[edges[:-1]]) / widths).astype(np.float32)
