"""The face's own frame, read off the 68 landmarks: its axes and its size.

Every part of the rig measures in these, so a tilted or small face moves the same as an
upright, large one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


def face_axes(landmarks: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Unit vectors across the face (eye to eye) and down it."""
    lm = np.asarray(landmarks, np.float32)
    eyes = lm[42:48].mean(axis=0) - lm[36:42].mean(axis=0)
    across = (eyes / max(float(np.linalg.norm(eyes)), 1e-6)).astype(np.float32)
    return across, np.array([-across[1], across[0]], np.float32)


def face_size(landmarks: FloatArray) -> tuple[float, float]:
    """Width (jaw end to jaw end) and height (brows to chin), in pixels."""
    lm = np.asarray(landmarks, np.float32)
    width = float(np.linalg.norm(lm[16] - lm[0]))
    height = float(np.linalg.norm(lm[8] - (lm[19] + lm[24]) / 2))
    return width, height
