"""Small signal helpers shared by the animation curves."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


def gaussian_smooth(values: FloatArray, sigma: float) -> FloatArray:
    """Smooth along the first axis (1-D or 2-D input); edges are held, not faded to zero."""
    if len(values) == 0 or sigma <= 0:
        return values
    radius = int(3 * sigma) + 1
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    columns = values.reshape(len(values), -1)
    padded = np.pad(columns, ((radius, radius), (0, 0)), mode="edge")
    smoothed = [np.convolve(padded[:, c], kernel, mode="valid") for c in range(columns.shape[1])]
    return np.stack(smoothed, axis=1).reshape(values.shape).astype(np.float32)
