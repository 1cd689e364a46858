"""Where an open mouth's lips really end: dlib's inner-lip points, moved out to the lip's edge.

On a photo with an open mouth dlib often puts the inner-lip points on the teeth or in the dark
of the mouth, a few pixels short of the lips. Closing that mouth would then bring the teeth
along onto the lips. So each point of the inner-lip curves is moved outward (up for the upper
lip, down for the lower) to the first pixels that look like that lip; points already on the lip
stay. A closed mouth has nothing between its lips and is left as it is.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from inference.animate.geometry import face_axes

FloatArray = npt.NDArray[np.floating[Any]]
Image = npt.NDArray[np.uint8]

_MIN_GAP = 0.05  # of the mouth width: below it the mouth is closed
_REACH = 0.1  # of the mouth width: the farthest a point moves
_STEP = 0.5  # px along the search
_TOLERANCE = 3.0  # colour distance, in the lip's own spreads, that is still "lip"
_MIN_TOLERANCE = 8.0  # Lab units


def snap_inner_lips(
    image: Image, landmarks: FloatArray, inner: tuple[FloatArray, FloatArray]
) -> tuple[FloatArray, FloatArray]:
    """``inner`` (upper and lower inner-lip curves) moved out to where the lips begin."""
    lm = np.asarray(landmarks, np.float32)
    top, bottom = (np.asarray(curve, np.float32) for curve in inner)
    mouth_width = float(np.linalg.norm(lm[54] - lm[48]))
    down = face_axes(lm)[1]
    gap = (bottom - top) @ down
    if float(np.median(gap)) < _MIN_GAP * mouth_width:
        return top, bottom
    lab = np.asarray(cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB), np.float32)
    reach = _REACH * mouth_width
    upper_lip = _colour(lab, lm[[50, 51, 52]], lm[[61, 62, 63]])
    lower_lip = _colour(lab, lm[[58, 57, 56]], lm[[67, 66, 65]])
    # Points only move outward, away from each other, so the curves cannot cross.
    top = _snap(lab, top, -down, reach, upper_lip)
    bottom = _snap(lab, bottom, down, reach, lower_lip)
    return top, bottom


def _colour(lab: FloatArray, outer: FloatArray, inner: FloatArray) -> tuple[FloatArray, float]:
    """A lip's colour (median Lab) and spread, from the middle of its thickness."""
    t = np.linspace(0.3, 0.6, 7, dtype=np.float32)[:, None, None]
    points = (outer[None] + (inner - outer)[None] * t).reshape(-1, 2)
    samples = _sample(lab, points)
    centre = np.median(samples, axis=0)
    spread = float(np.median(np.linalg.norm(samples - centre, axis=1)))
    return centre.astype(np.float32), max(_TOLERANCE * spread, _MIN_TOLERANCE)


def _snap(
    lab: FloatArray,
    curve: FloatArray,
    outward: FloatArray,
    reach: float,
    lip: tuple[FloatArray, float],
) -> FloatArray:
    colour, tolerance = lip
    steps = np.arange(0.0, reach + _STEP, _STEP, dtype=np.float32)
    points = curve[:, None, :] + steps[None, :, None] * outward  # (n, steps, 2)
    distance = np.linalg.norm(_sample(lab, points.reshape(-1, 2)) - colour, axis=1)
    is_lip = (distance <= tolerance).reshape(len(curve), len(steps))
    shift = np.array([_edge(row, steps, reach) for row in is_lip], np.float32)
    shift = _smooth(shift)
    shift[[0, -1]] = 0.0  # the inner corners stay where both lips meet
    return (curve + shift[:, None] * outward).astype(np.float32)


def _edge(is_lip: npt.NDArray[np.bool_], steps: FloatArray, reach: float) -> float:
    """How far out the lip begins along one search line, 0 if at the point already.

    The walk comes in from the lip's side (from ``reach``): walking out from the point would
    stop at once in a dark mouth whose shadow has the colour of a dark lip.
    """
    last = int(np.searchsorted(steps, reach, side="right")) - 1
    if last < 1 or not is_lip[last]:
        return 0.0
    for index in range(last, 0, -1):
        if not is_lip[index - 1] and (index < 2 or not is_lip[index - 2]):
            return float(steps[index])
    return 0.0


def _smooth(shift: FloatArray) -> FloatArray:
    """A running median (one odd pixel is noise, not the lip) then a running mean."""
    padded = np.pad(shift, 2, mode="edge")
    median = np.median(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1)
    return np.convolve(np.pad(median, 2, mode="edge"), np.ones(5) / 5, mode="valid").astype(
        np.float32
    )


def _sample(lab: FloatArray, points: FloatArray) -> FloatArray:
    xs = np.ascontiguousarray(points[:, 0].reshape(1, -1), np.float32)
    ys = np.ascontiguousarray(points[:, 1].reshape(1, -1), np.float32)
    values = cv2.remap(lab, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(values, np.float32).reshape(-1, 3)
