"""Wires the curves into one animation track for a piece of speech."""

from __future__ import annotations

import numpy as np

from inference.animate.gestures import plan_face
from inference.animate.head import LIMITS
from inference.animate.track import Channel, Track
from inference.animate.visemes import shapes_from_audio, shapes_from_phonemes
from inference.text.cues import Script
from inference.tts.base import Speech


def build_track(
    speech: Speech,
    fps: int,
    seed: int = 0,
    script: Script | None = None,
    mimic: str = "calm",
) -> Track:
    """The whole face over ``speech``: the mouth from phoneme events when the engine gave
    them, else from the audio itself; head, brows, smile, blinks and gaze from the
    ``script`` (the words being spoken) and the voice (``inference.animate.gestures``)."""
    if speech.phonemes:
        shapes = shapes_from_phonemes(speech.phonemes, speech.samples, speech.sample_rate, fps)
    else:
        shapes = shapes_from_audio(speech.samples, speech.sample_rate, fps)
    track = plan_face(speech, fps, len(shapes), seed, script, mimic)
    track[:, Channel.OPEN : Channel.ROUND + 1] = shapes
    for channel, limit in LIMITS.items():
        # Eased into the limit rather than cut at it: a cut would hold the head in a plateau.
        track[:, channel] = limit * np.tanh(track[:, channel] / limit)
    # A NaN here would make every warp map NaN, and cv2.remap then never returns.
    return np.nan_to_num(track, nan=0.0, posinf=0.0, neginf=0.0)
