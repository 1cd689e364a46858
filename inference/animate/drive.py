"""Wires the curves into one animation track for a piece of speech."""

from __future__ import annotations

import numpy as np

from inference.animate.motion import blinks, head_motion
from inference.animate.track import Channel, Track, empty_track
from inference.animate.visemes import loudness_envelope, shapes_from_audio, shapes_from_phonemes
from inference.tts.base import Speech


def build_track(speech: Speech, fps: int, seed: int = 0) -> Track:
    """Mouth from phoneme events when the engine gave them, else from the audio itself."""
    if speech.phonemes:
        shapes = shapes_from_phonemes(speech.phonemes, speech.samples, speech.sample_rate, fps)
    else:
        shapes = shapes_from_audio(speech.samples, speech.sample_rate, fps)
    frames = len(shapes)
    track = empty_track(frames)
    track[:, Channel.OPEN : Channel.ROUND + 1] = shapes
    track[:, Channel.BLINK] = blinks(frames, fps, seed)
    loudness = loudness_envelope(speech.samples, speech.sample_rate, rate=fps)[:frames]
    loudness = np.pad(loudness, (0, frames - len(loudness)))
    track[:, Channel.HEAD_X : Channel.ROLL + 1] = head_motion(loudness, fps, seed)
    # A NaN here would make every warp map NaN, and cv2.remap then never returns.
    return np.nan_to_num(track, nan=0.0, posinf=0.0, neginf=0.0)
