"""The face beyond the lips: head, brows, smile, blinks and gaze over a note, as a speaker's.

What real speakers do shapes the curves (numbers from landmark studies of people talking):

* the head is never still: a slow drift of a degree or two, and a small nod on the stressed
  syllable of many content words (the "beat"), which is what ties motion to speech;
* "да" nods twice, "нет" shakes; a question ends with raised brows and a slight tilt, an
  exclamation with a firm nod; the head settles at the end of a sentence;
* brows rise on emphasis, knit on negation, lift inside on sad words; smiles last a while;
* blinks come every few seconds at irregular intervals, mostly in pauses and at sentence ends,
  never in the middle of a stressed word, and the lids meet;
* the eyes glance aside now and then and come back.

Without a text (a user's own voice message) the voice itself leads: its loud syllables bring
beats, high pitch brings brows, and its pauses bring blinks and settles.

Everything is a pure function of the speech, the script, the mimic level and the seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inference.animate.signal import gaussian_smooth
from inference.animate.timing import RATE, SpokenWord, spoken_words
from inference.animate.track import Channel, Track, empty_track
from inference.animate.visemes import loudness_envelope
from inference.media.audio import resample
from inference.text.cues import Cue, Script
from inference.tts.base import Speech

FloatArray = npt.NDArray[np.float32]

_DEG = np.pi / 180


@dataclass(frozen=True)
class Liveliness:
    """How much a mimic level moves: head amplitudes scale, events come more often."""

    head: float  # scale of every head motion
    beats: float  # share of content words that get a nod
    brows: float  # share of stressed content words that raise the brows
    blink_every: float  # mean seconds between blinks


LEVELS = {
    "calm": Liveliness(head=1.0, beats=0.55, brows=0.15, blink_every=3.6),
    "lively": Liveliness(head=1.4, beats=0.8, brows=0.3, blink_every=3.0),
}

# Head motion, degrees at mimic "calm": a selfie's, about half a public speaker's.
_DRIFT = {Channel.YAW: 3.5, Channel.PITCH: 2.3, Channel.ROLL: 1.2}
_BEAT_NOD = 4.0
_CUE_NOD = 4.5
_SHAKE = 5.0
_SHAKE_HZ = 2.4
_FIRM_NOD = 4.0
_QUESTION_TILT = 2.5
_SETTLE = 1.4
# Blinks: close fast, stay shut for at least a frame, open slower.
_BLINK_CLOSE_S, _BLINK_HOLD_S, _BLINK_OPEN_S = 0.07, 0.06, 0.14
_PAUSE_S = 0.22  # silence long enough to count as a pause
_PITCH_RATE = 8000


@dataclass(frozen=True)
class _Timeline:
    """The note's clock: frame times, and the voice's loudness and pauses on them."""

    t: FloatArray  # seconds, one per frame
    loudness: FloatArray  # 0..1 per frame
    fine: FloatArray  # 0..1 per 1/RATE s
    pauses: list[tuple[float, float]]  # silent stretches, seconds


def plan_face(
    speech: Speech, fps: int, frames: int, seed: int, script: Script | None, mimic: str = "calm"
) -> Track:
    """Every channel but the mouth's, one row per frame."""
    level = LEVELS[mimic]
    rng = np.random.default_rng(seed + 7)
    timeline = _timeline(speech, fps, frames)
    words = spoken_words(script, speech) if script is not None else []
    track = empty_track(frames)
    t = timeline.t
    for channel, degrees in _DRIFT.items():
        track[:, channel] = _drift(t, rng, degrees * _DEG * level.head)
    if words:
        ends = _text_gestures(track, t, words, level, rng)
        beats = [w.beat for w in words if w.word.content]
    else:
        # A long pause is where a spoken sentence most likely ended.
        ends = [a for a, b in timeline.pauses if b - a >= 0.4 and a > 0.3]
        beats = _voice_gestures(track, t, speech, timeline, level, rng)
    for end in ends:
        track[:, Channel.PITCH] += _bump(t, end - 0.1, 0.6) * _SETTLE * _DEG * level.head
    track[:, Channel.BLINK] = blinks(t, timeline.pauses, ends, beats, level, rng)
    track[:, Channel.GAZE_X] = _gaze(t, fps, rng, level)
    return track


def _timeline(speech: Speech, fps: int, frames: int) -> _Timeline:
    t = (np.arange(frames, dtype=np.float32) / fps).astype(np.float32)
    fine = loudness_envelope(speech.samples, speech.sample_rate, rate=RATE)
    at = np.minimum((t * RATE).astype(int), max(len(fine) - 1, 0))
    loudness = fine[at] if len(fine) else np.zeros(frames, np.float32)
    return _Timeline(t, loudness.astype(np.float32), fine, _pauses(fine))


def _pauses(loudness: FloatArray) -> list[tuple[float, float]]:
    quiet = gaussian_smooth(loudness, 0.02 * RATE) < 0.08
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]])))
    runs = zip(edges[::2], edges[1::2], strict=True)
    return [(a / RATE, b / RATE) for a, b in runs if (b - a) / RATE >= _PAUSE_S]


def _text_gestures(
    track: Track,
    t: FloatArray,
    words: Sequence[SpokenWord],
    level: Liveliness,
    rng: np.random.Generator,
) -> list[float]:
    """Gestures the words ask for; returns the times sentences end."""
    head = level.head * _DEG
    ends: list[float] = []
    for i, spoken in enumerate(words):
        cues, word = spoken.word.cues, spoken.word
        if Cue.NOD in cues and not _continues(words, i, Cue.NOD):
            start = _run_start(words, i, Cue.NOD)
            for k in range(2):  # "да": a double nod
                track[:, Channel.PITCH] += _bump(t, start + 0.33 * k, 0.34) * _CUE_NOD * head
        elif Cue.SHAKE in cues and not _continues(words, i, Cue.SHAKE):
            start = _run_start(words, i, Cue.SHAKE)
            length = max(spoken.end - start, 0.7)
            track[:, Channel.YAW] += _shake(t, start, length) * _SHAKE * head
        elif word.content and Cue.SHAKE not in cues and rng.random() < level.beats:
            sign = rng.choice((-1.0, 1.0))
            track[:, Channel.PITCH] += _bump(t, spoken.beat - 0.12, 0.4) * _BEAT_NOD * head
            track[:, Channel.YAW] += _bump(t, spoken.beat - 0.12, 0.5) * 0.7 * head * sign
        if Cue.EMPHASIS in cues or (word.content and rng.random() < level.brows):
            _hold(track, Channel.BROW_RAISE, t, spoken.start, spoken.end, 0.75)
        if Cue.NEGATION in cues:
            _hold(track, Channel.BROW_FROWN, t, spoken.start, spoken.end + 0.2, 0.6)
        if Cue.SMILE in cues:
            _hold(track, Channel.SMILE, t, spoken.start - 0.2, spoken.end + 0.6, 0.85)
        if Cue.SAD in cues:
            _hold(track, Channel.BROW_SAD, t, spoken.start - 0.1, spoken.end + 0.5, 0.85)
            track[:, Channel.PITCH] += _window(t, spoken.start, spoken.end + 0.5) * 1.5 * head
        if word.mark == "?":
            _hold(track, Channel.BROW_RAISE, t, spoken.start, spoken.end + 0.35, 0.95)
            tilt = _window(t, spoken.start - 0.1, spoken.end + 0.4)
            track[:, Channel.ROLL] += tilt * _QUESTION_TILT * head * rng.choice((-1.0, 1.0))
            track[:, Channel.PITCH] -= tilt * 1.2 * head
        if word.mark == "!":
            track[:, Channel.PITCH] += _bump(t, spoken.beat - 0.1, 0.4) * _FIRM_NOD * head
            _hold(track, Channel.BROW_RAISE, t, spoken.beat - 0.15, spoken.end + 0.2, 0.8)
        if word.mark in (".", "!", "?"):
            ends.append(spoken.end)
    return ends


def _continues(words: Sequence[SpokenWord], i: int, cue: Cue) -> bool:
    """The next word carries the same cue with no mark between: one gesture for the run."""
    return i + 1 < len(words) and cue in words[i + 1].word.cues and not words[i].word.mark


def _run_start(words: Sequence[SpokenWord], i: int, cue: Cue) -> float:
    while i > 0 and cue in words[i - 1].word.cues and not words[i - 1].word.mark:
        i -= 1
    return words[i].start


def _voice_gestures(
    track: Track,
    t: FloatArray,
    speech: Speech,
    timeline: _Timeline,
    level: Liveliness,
    rng: np.random.Generator,
) -> list[float]:
    """Beats on the voice's loudest syllables, brows where its pitch rises; returns beats."""
    smooth = gaussian_smooth(timeline.fine, 0.04 * RATE)
    peaks = _peaks(smooth, min_gap=int(0.28 * RATE), floor=0.45)
    beats = [p / RATE for p in peaks]
    pitch = _pitch(speech)
    voiced = pitch[pitch > 0]
    high = float(np.percentile(voiced, 85)) if len(voiced) > 10 else np.inf
    head = level.head * _DEG
    for peak, beat in zip(peaks, beats, strict=True):
        if rng.random() < level.beats:
            track[:, Channel.PITCH] += _bump(t, beat - 0.12, 0.4) * _BEAT_NOD * head
        if pitch[min(peak, len(pitch) - 1)] >= high:
            _hold(track, Channel.BROW_RAISE, t, beat - 0.15, beat + 0.3, 0.7)
    return beats


def _peaks(values: FloatArray, min_gap: int, floor: float) -> list[int]:
    """Local maxima above ``floor``, at least ``min_gap`` steps apart, strongest kept."""
    if len(values) < 3:
        return []
    inner = (values[1:-1] >= values[:-2]) & (values[1:-1] > values[2:]) & (values[1:-1] > floor)
    candidates = sorted(np.flatnonzero(inner) + 1, key=lambda i: -values[i])
    chosen: list[int] = []
    for index in candidates:
        if all(abs(index - other) >= min_gap for other in chosen):
            chosen.append(int(index))
    return sorted(chosen)


def _pitch(speech: Speech) -> FloatArray:
    """Rough F0 (Hz) per ``RATE`` step by autocorrelation; 0 where unvoiced."""
    # A speaking voice's pitch is under 400 Hz: 8 kHz holds it, at a sixth of 48 kHz's work.
    rate = min(speech.sample_rate, _PITCH_RATE)
    samples = resample(speech.samples, speech.sample_rate, rate)
    hop, size = rate // RATE, int(0.04 * rate)
    count = max(1, len(samples) // hop)
    lo, hi = rate // 400, rate // 70  # 70–400 Hz covers speaking voices
    result = np.zeros(count, np.float32)
    padded = np.pad(samples, (0, size))
    for i in range(count):
        frame = padded[i * hop : i * hop + size]
        frame = frame - frame.mean()
        energy = float(frame @ frame)
        if energy < 1e-4 * size:
            continue
        corr = np.correlate(frame, frame[: size - hi], mode="valid")[lo:hi]
        if len(corr) == 0:
            continue
        lag = int(np.argmax(corr))
        if corr[lag] > 0.3 * energy:
            result[i] = rate / (lo + lag)
    return result


def blinks(
    t: FloatArray,
    pauses: Sequence[tuple[float, float]],
    ends: Sequence[float],
    beats: Sequence[float],
    level: Liveliness,
    rng: np.random.Generator,
) -> FloatArray:
    """Lid closure per frame: full blinks at irregular times, drawn to pauses and ends."""
    duration = float(t[-1]) if len(t) else 0.0
    quiet = [(a + b) / 2 for a, b in pauses] + list(ends)
    times: list[float] = []
    # Gamma-distributed gaps (shape 3: irregular, yet rarely two blinks in a row).
    moment = float(rng.uniform(0.4, 1.6))
    while moment < duration:
        near = [q for q in quiet if abs(q - moment) < 0.8]
        if near:
            moment = min(near, key=lambda q: abs(q - moment)) + float(rng.uniform(0.0, 0.12))
        moment = _after_stress(moment, beats)
        if not times or moment - times[-1] > 0.6:
            times.append(moment)
        moment += float(rng.gamma(3.0, level.blink_every / 3.0))
    for end in ends:
        if all(abs(end - blink) > 1.0 for blink in times) and rng.random() < 0.6:
            times.append(_after_stress(end + 0.05, beats))
    result = np.zeros(len(t), np.float32)
    for start in times:
        rel = t - start
        closing = np.clip(rel / _BLINK_CLOSE_S, 0.0, 1.0)
        opening = np.clip((rel - _BLINK_CLOSE_S - _BLINK_HOLD_S) / _BLINK_OPEN_S, 0.0, 1.0)
        result = np.maximum(result, np.where(rel < 0, 0.0, closing - opening))
    return result.astype(np.float32)


def _after_stress(moment: float, beats: Sequence[float]) -> float:
    """``moment``, or just after the stressed syllable it would fall in (blinks never do)."""
    for beat in sorted(beats):
        # A blink lasts a quarter second: one starting this close would cover the syllable.
        if -0.25 < moment - beat < 0.2:
            moment = beat + 0.22
    return moment


def _gaze(t: FloatArray, fps: int, rng: np.random.Generator, level: Liveliness) -> FloatArray:
    """Glances aside and back; the eyes jump (saccades), they do not glide."""
    result = np.zeros(len(t), np.float32)
    duration = float(t[-1]) if len(t) else 0.0
    moment, target = float(rng.uniform(1.0, 2.5)), 0.0
    while moment < duration:
        target = float(rng.uniform(-0.6, 0.6)) * min(level.head, 1.3) if target == 0 else 0.0
        result[t >= moment] = target
        moment += float(rng.uniform(1.2, 3.5))
    return gaussian_smooth(result, 0.02 * fps)


def _drift(t: FloatArray, rng: np.random.Generator, std: float) -> FloatArray:
    """A slow wander with the given standard deviation (three incommensurate sines)."""
    wave = np.zeros(len(t), np.float32)
    for frequency in rng.uniform(0.07, 0.45, size=3):
        wave += np.sin(2 * np.pi * frequency * t + rng.uniform(0, 2 * np.pi)).astype(np.float32)
    return (wave / np.sqrt(1.5) * std).astype(np.float32)


def _bump(t: FloatArray, start: float, length: float) -> FloatArray:
    """A smooth 0 → 1 → 0 pulse (raised cosine) from ``start`` lasting ``length`` seconds."""
    phase = np.clip((t - start) / length, 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(2 * np.pi * phase)).astype(np.float32)


def _shake(t: FloatArray, start: float, length: float) -> FloatArray:
    """Side to side, fading in and out over ``length`` seconds."""
    phase = np.clip((t - start) / length, 0.0, 1.0)
    swing = np.sin(2 * np.pi * _SHAKE_HZ * (t - start))
    return (np.sin(np.pi * phase) * swing).astype(np.float32)


def _window(t: FloatArray, start: float, end: float, ramp: float = 0.15) -> FloatArray:
    """1 between ``start`` and ``end``, easing in and out over ``ramp`` seconds."""
    rise = np.clip((t - start + ramp) / ramp, 0.0, 1.0)
    fall = np.clip((end + ramp - t) / ramp, 0.0, 1.0)
    level = np.minimum(rise, fall)
    return (level * level * (3 - 2 * level)).astype(np.float32)


def _hold(
    track: Track, channel: Channel, t: FloatArray, start: float, end: float, value: float
) -> None:
    track[:, channel] = np.maximum(track[:, channel], _window(t, start, end) * value)
