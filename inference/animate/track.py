"""Per-frame animation parameters: one row per video frame, one column per channel."""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt


class Channel(IntEnum):
    OPEN = 0  # lips apart, 0 closed .. 1 a wide "а"
    WIDE = 1  # lips spread ("и", "э")
    ROUND = 2  # lips rounded and pushed together ("о", "у")
    BLINK = 3  # 0 eyes as in the photo .. 1 closed
    HEAD_X = 4  # head shift, in units of the face's width (tiny)
    HEAD_Y = 5
    HEAD_ROLL = 6  # head roll, radians (tiny)


CHANNELS = len(Channel)
Track = npt.NDArray[np.float32]  # shape (frames, CHANNELS)


def empty_track(frames: int) -> Track:
    return np.zeros((frames, CHANNELS), np.float32)
