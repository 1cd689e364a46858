"""Per-frame animation parameters: one row per video frame, one column per channel.

One track drives both animators: ``warp`` uses every channel, ``sadtalker`` makes its own lips
from the audio and takes the rest (head, brows, smile, blinks) as offsets and scales.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt


class Channel(IntEnum):
    OPEN = 0  # lips apart, 0 closed .. 1 a wide "а"
    WIDE = 1  # lips spread ("и", "э")
    ROUND = 2  # lips rounded and pushed together ("о", "у")
    BLINK = 3  # 0 eyes as in the photo .. 1 the lids meet
    HEAD_X = 4  # head shift, in units of the face's width (small)
    HEAD_Y = 5
    ROLL = 6  # radians; + turns the head clockwise on screen
    YAW = 7  # radians; + turns the face toward the image's right (the nose moves right)
    PITCH = 8  # radians; + tips the head down (the nose moves down), as in a nod
    BROW_RAISE = 9  # 0..1 both brows up (emphasis, questions)
    BROW_FROWN = 10  # 0..1 inner brows down and together (negation)
    BROW_SAD = 11  # 0..1 inner brows up (sad words)
    SMILE = 12  # 0..1 mouth corners and cheeks up, eyes narrowed
    GAZE_X = 13  # -1..1 the irises' shift toward the image's right, a share of their travel


CHANNELS = len(Channel)
Track = npt.NDArray[np.float32]  # shape (frames, CHANNELS)
MIMIC_LEVELS = ("calm", "lively")  # how lively the face is; the user's choice, calm by default


def empty_track(frames: int) -> Track:
    return np.zeros((frames, CHANNELS), np.float32)
