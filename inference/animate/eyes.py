"""Blinks: the upper lid slides down over the eye, which it hides rather than squeezes.

A warp cannot close an eye by moving the lid's pixels down: the eye between the lids would
have to shrink to nothing, and a smooth field folds over itself long before that (a ghost of
the iris shows through). A real lid covers the eye. So the blink is made on the frame's map,
after the head's motion: every pixel from the brow down to the lid's new edge takes its
picture from higher up, the skin of the lid stretching down over the eye, and every pixel
below that edge keeps the eye as it was. The lash line, at the lid's edge, comes along.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inference.animate.geometry import face_axes
from inference.animate.rig import catmull_rom

FloatArray = npt.NDArray[np.float32]

_PAST_LOWER = 0.12  # a shut lid reaches this share of the eye's height past the lower lid
_CREASE = 0.6  # the lid's skin stretches from this share of the way up to the brow
_BEYOND = 0.08  # share of the eye's width past each corner that the lid's edge still moves
_RIM = 0.25  # the lid's rim and lashes, this share of the eye's height above its edge


@dataclass(frozen=True)
class Eye:
    """One eye in the photo, in its own axes: ``u`` along the eye, ``v`` down the face."""

    origin: FloatArray
    ax: FloatArray
    ay: FloatArray
    u: FloatArray  # sample positions along the eye, corner to corner
    upper: FloatArray  # v of the upper lid's edge at each u
    lower: FloatArray  # v of the lower lid's edge at each u
    crease: FloatArray  # v where the stretching skin begins, between brow and lid


def find_eyes(landmarks: FloatArray) -> tuple[Eye, Eye]:
    lm = landmarks.astype(np.float32)
    ax, ay = face_axes(lm)
    return (
        _eye(lm, [36, 37, 38, 39], [36, 41, 40, 39], list(range(17, 22)), ax, ay),
        _eye(lm, [42, 43, 44, 45], [42, 47, 46, 45], list(range(22, 27)), ax, ay),
    )


def _eye(
    lm: FloatArray,
    top: list[int],
    bottom: list[int],
    brow: list[int],
    ax: FloatArray,
    ay: FloatArray,
) -> Eye:
    origin = lm[top[0]]
    upper, lower = catmull_rom(lm[top], 8), catmull_rom(lm[bottom], 8)
    u = (upper - origin) @ ax
    v_up = (upper - origin) @ ay
    v_low = np.interp(u, (lower - origin) @ ax, (lower - origin) @ ay)
    brow_u, brow_v = (lm[brow] - origin) @ ax, (lm[brow] - origin) @ ay
    order = np.argsort(brow_u)
    v_brow = np.interp(u, brow_u[order], brow_v[order])
    return Eye(
        origin=origin,
        ax=ax,
        ay=ay,
        u=u.astype(np.float32),
        upper=v_up.astype(np.float32),
        lower=v_low.astype(np.float32),
        crease=(v_up + _CREASE * (v_brow - v_up)).astype(np.float32),
    )


def close_lids(map_x: FloatArray, map_y: FloatArray, eye: Eye, closure: float) -> None:
    """Close ``eye`` by ``closure`` (0 open .. 1 shut) on a map in the photo's coordinates.

    ``map_x``/``map_y`` say which photo pixel each frame pixel shows (head motion applied);
    they are changed in place where the lid now covers the eye.
    """
    if closure <= 0:
        return
    rel_x, rel_y = map_x - eye.origin[0], map_y - eye.origin[1]
    u = rel_x * eye.ax[0] + rel_y * eye.ax[1]
    v = rel_x * eye.ay[0] + rel_y * eye.ay[1]
    # A little past the corners too: the lashes reach beyond them.
    reach = _BEYOND * (eye.u[-1] - eye.u[0])
    span = (u > eye.u[0] - reach) & (u < eye.u[-1] + reach)
    upper = np.where(span, np.interp(u, eye.u, eye.upper), np.nan)
    crease = np.interp(u, eye.u, eye.crease)
    gap = float(np.max(eye.lower - eye.upper))
    # The lid's edge comes down in one smooth arc, deepest mid-eye, to just past the lower lid.
    along = np.clip((u - eye.u[0] + reach) / (eye.u[-1] - eye.u[0] + 2 * reach), 0.0, 1.0)
    height = gap * np.clip(np.sin(np.pi * along), 0.0, 1.0) ** 0.6
    travel = closure * height * (1.0 + _PAST_LOWER)  # how far the lid's edge comes down
    edge = upper + travel
    covered = (v > crease) & (v < edge)  # NaN outside the eye's span: never covered
    if not covered.any():
        return
    v, travel, crease = v[covered], travel[covered], crease[covered]
    # The lid's rim (its lashes) comes down whole; the skin between the crease and the rim
    # stretches to let it, as a real lid's does.
    rim = upper[covered] - _RIM * height[covered] + travel
    stretch = travel * np.clip((v - crease) / np.maximum(rim - crease, 1e-3), 0.0, 1.0)
    map_x[covered] -= stretch * eye.ay[0]
    map_y[covered] -= stretch * eye.ay[1]
