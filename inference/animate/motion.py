"""Life beyond the mouth: blinks every few seconds and slight head motion that follows speech."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inference.animate.signal import gaussian_smooth

FloatArray = npt.NDArray[np.float32]

_BLINK_CLOSE_S, _BLINK_HOLD_S, _BLINK_OPEN_S = 0.07, 0.04, 0.12


def blinks(frames: int, fps: int, seed: int) -> FloatArray:
    """Eyelid closure 0..1 per frame; the first blink comes early so short notes blink too."""
    rng = np.random.default_rng(seed)
    times = np.arange(frames, dtype=np.float32) / fps
    result = np.zeros(frames, np.float32)
    start = float(rng.uniform(0.6, 1.6))
    while start < frames / fps:
        t = times - start
        closing = np.clip(t / _BLINK_CLOSE_S, 0.0, 1.0)
        opening = np.clip((t - _BLINK_CLOSE_S - _BLINK_HOLD_S) / _BLINK_OPEN_S, 0.0, 1.0)
        result = np.maximum(result, np.where(t < 0, 0.0, closing - opening).astype(np.float32))
        start += float(rng.uniform(2.5, 5.0))
    return np.clip(result, 0.0, 1.0) ** 0.8


def head_motion(loudness: FloatArray, fps: int, seed: int) -> FloatArray:
    """(frames, 3): x and y shift in face widths, roll in radians; tiny by design.

    A slow drift keeps the head alive in pauses; a smoothed loudness term nods on stressed,
    loud stretches, which is what makes motion read as speech-driven.
    """
    rng = np.random.default_rng(seed + 1)
    frames = len(loudness)
    t = np.arange(frames, dtype=np.float32) / fps
    drift = np.zeros((frames, 3), np.float32)
    for axis, amplitude in enumerate((0.004, 0.003, 0.008)):
        for frequency in (0.17, 0.31, 0.53):
            phase = rng.uniform(0, 2 * np.pi)
            drift[:, axis] += amplitude / 3 * np.sin(2 * np.pi * frequency * t + phase)
    emphasis = gaussian_smooth(loudness, sigma=0.15 * fps)
    drift[:, 1] += 0.006 * (emphasis - emphasis.mean())
    drift[:, 2] += 0.004 * (emphasis - emphasis.mean())
    return drift.astype(np.float32)
