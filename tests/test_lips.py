"""Inner-lip curves moved to the real lip edge (``inference/animate/lips.py``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inference.animate.lips import snap_inner_lips
from inference.animate.rig import inner_lips

Image = npt.NDArray[np.uint8]
UPPER_EDGE, LOWER_EDGE = 95, 115  # rows where the drawn lips end and the teeth begin


def _mouth(open_: bool) -> tuple[Image, npt.NDArray[np.float32]]:
    """A drawn mouth (skin, dark upper lip, white teeth, pink lower lip) and 68 landmarks
    whose inner-lip points sit 5 px inside the opening, as dlib's often do."""
    image = np.full((200, 200, 3), (205, 160, 135), np.uint8)
    image[80:UPPER_EDGE, 50:150] = (120, 60, 60)
    image[UPPER_EDGE:LOWER_EDGE, 55:145] = (235, 230, 215) if open_ else (120, 60, 60)
    image[LOWER_EDGE:130, 50:150] = (190, 110, 110)
    lm = np.zeros((68, 2), np.float32)
    lm[36:42] = (60, 40)
    lm[42:48] = (140, 40)
    lm[48], lm[54] = (50, 105), (150, 105)
    lm[60], lm[64] = (58, 105), (142, 105)
    middle = 105 if not open_ else None
    lm[[50, 51, 52]] = [(75, 80), (100, 80), (125, 80)]
    lm[[58, 57, 56]] = [(75, 130), (100, 130), (125, 130)]
    lm[[61, 62, 63]] = [
        (75, middle or UPPER_EDGE + 5),
        (100, middle or UPPER_EDGE + 5),
        (125, middle or UPPER_EDGE + 5),
    ]
    lm[[67, 66, 65]] = [
        (75, middle or LOWER_EDGE - 5),
        (100, middle or LOWER_EDGE - 5),
        (125, middle or LOWER_EDGE - 5),
    ]
    return image, lm


def test_inner_lips_move_out_to_the_lips_edge() -> None:
    image, lm = _mouth(open_=True)
    top, bottom = snap_inner_lips(image, lm, inner_lips(lm))
    middle = len(top) // 2
    assert abs(top[middle, 1] - UPPER_EDGE) <= 1.5
    assert abs(bottom[middle, 1] - LOWER_EDGE) <= 1.5
    assert top[0, 1] == inner_lips(lm)[0][0, 1]  # the corners stay


def test_a_closed_mouth_is_left_as_it_is() -> None:
    image, lm = _mouth(open_=False)
    top, bottom = snap_inner_lips(image, lm, inner_lips(lm))
    assert np.array_equal(top, inner_lips(lm)[0])
    assert np.array_equal(bottom, inner_lips(lm)[1])
