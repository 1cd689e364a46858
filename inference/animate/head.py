"""How the head moves as a body: turns, nods and tilts of a rounded head on a neck.

The photo is flat, but a head is not: when it turns, the nose travels further than the cheeks
and the outline hardly moves at all (a sphere's silhouette is the same from every side). So
each point gets a depth from a simple head model, an ellipsoid through the face's outline with
the nose standing out of it, and a small turn moves it sideways in proportion to that depth.
The angles stay small (a few degrees), where this first-order picture is accurate and every
motion is linear in the track's channels, like the rest of the rig.

The head and the top of the neck move as one; lower down the neck the motion fades out, so the
collar and the shoulders stay where they are.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from inference.animate.geometry import face_axes, face_size
from inference.animate.track import CHANNELS, Channel

FloatArray = npt.NDArray[np.float32]

_DEPTH = 0.45  # the face's front above the axis the head turns about, in face widths
_NOSE = 0.2  # how far the nose stands out of the rounded face, in face widths
_YAW_AXIS = -0.12  # the axis of turns lies this far behind the outline (face widths)
_PITCH_AXIS = -0.2  # nods turn about the top of the spine, further back
_NECK_FADE = 0.45  # face heights below the chin where the neck stops moving

# The most the track may ask of the head (radians, face widths): beyond a few degrees a flat
# photo stops looking like a turning head, and the clean plate behind it would run out.
LIMITS = {
    Channel.YAW: 0.16,
    Channel.PITCH: 0.14,
    Channel.ROLL: 0.06,
    Channel.HEAD_X: 0.03,
    Channel.HEAD_Y: 0.03,
}


def head_moves(points: FloatArray, landmarks: FloatArray) -> FloatArray:
    """Displacement of ``points`` (..., 2) per unit of each track channel: (CHANNELS + 1, ..., 2).

    Only the head channels (HEAD_X, HEAD_Y, ROLL, YAW, PITCH) move anything here; the last
    term (the rig's constant one) is zero.
    """
    lm = landmarks.astype(np.float32)
    ax, ay = face_axes(lm)
    face_width, face_height = face_size(lm)
    flat = points.reshape(-1, 2).astype(np.float32)

    depth = _depth(flat, lm, ax, ay, face_width, face_height)
    weight = body_weight(flat, lm)[:, None]
    pivot = lm[8] + ay * 0.25 * face_height  # the neck: tilts turn about it
    radius = flat - pivot

    moves = np.zeros((CHANNELS + 1, len(flat), 2), np.float32)
    moves[Channel.HEAD_X] = ax * face_width * weight
    moves[Channel.HEAD_Y] = ay * face_width * weight
    moves[Channel.ROLL] = np.stack([-radius[:, 1], radius[:, 0]], axis=1) * weight
    moves[Channel.YAW] = ((depth - _YAW_AXIS * face_width)[:, None] * ax) * weight
    moves[Channel.PITCH] = ((depth - _PITCH_AXIS * face_width)[:, None] * ay) * weight
    # Far tails of the exponentials are subnormal floats, which slow every frame's sums ~100×.
    moves[np.abs(moves) < 1e-6] = 0.0
    return moves.reshape((CHANNELS + 1, *points.shape))


def _depth(
    flat: FloatArray,
    lm: FloatArray,
    ax: FloatArray,
    ay: FloatArray,
    face_width: float,
    face_height: float,
) -> FloatArray:
    """Height of the head's front over its outline plane at each point, in pixels."""
    centre = (lm[27] + lm[30]) / 2
    rel = flat - centre
    u, v = rel @ ax, rel @ ay
    half_width = 0.55 * face_width
    # The skull reaches higher above the eyes than the chin lies below them.
    half_height = np.where(v < 0, 1.0 * face_height, 0.75 * face_height)
    inside = np.clip(1.0 - (u / half_width) ** 2 - (v / half_height) ** 2, 0.0, None)
    # A paraboloid rather than a true ellipsoid: the ellipsoid's infinite slope at the outline
    # would fold the picture over itself there, where a real head turns out of sight anyway.
    rounded = _DEPTH * face_width * inside
    tip = (lm[30] + lm[29]) / 2
    nu, nv = (flat - tip) @ ax, (flat - tip) @ ay
    nose = (
        _NOSE
        * face_width
        * np.exp(-0.5 * ((nu / (0.09 * face_width)) ** 2 + (nv / (0.16 * face_width)) ** 2))
    )
    return (rounded + nose).astype(np.float32)


def body_weight(points: FloatArray, landmarks: FloatArray) -> FloatArray:
    """1 where a point moves with the head, fading to 0 down the neck and out to the shoulders."""
    lm = landmarks.astype(np.float32)
    ax, ay = face_axes(lm)
    face_width, face_height = face_size(lm)
    flat = points.reshape(-1, 2).astype(np.float32)
    chin = lm[8]
    rel = flat - chin
    u, v = rel @ ax, rel @ ay
    start = -0.1 * face_height  # the jaw's corners lie above the chin
    down = _smoothstep((v - start) / ((_NECK_FADE + 0.1) * face_height))
    # Below the jaw only the neck moves: the shoulders beside it stay put.
    beside = _smoothstep((np.abs(u) - 0.3 * face_width) / (0.35 * face_width))
    below = _smoothstep((v - start) / (0.15 * face_height))
    # Shoulders, a collar or a high-backed chair can rise above the chin, well out to the
    # sides: from the mouth down, what lies beyond the jaw's width stays put too.
    aside = _smoothstep((np.abs(u) - 0.55 * face_width) / (0.2 * face_width))
    lower = _smoothstep((v + 0.45 * face_height) / (0.15 * face_height))
    weight = (1.0 - down) * (1.0 - beside * below) * (1.0 - aside * lower)
    weight[weight < 0.01] = 0.0  # past this the body is still, exactly: the warp skips it
    return weight.reshape(points.shape[:-1]).astype(np.float32)


def _smoothstep(x: FloatArray) -> FloatArray:
    t = np.clip(x, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def reach(moves: FloatArray) -> float:
    """The furthest (px) any point moves within ``LIMITS``; ``moves``: (CHANNELS + 1, ..., 2)."""
    furthest = sum(
        limit * np.linalg.norm(moves[channel].reshape(-1, 2), axis=1)
        for channel, limit in LIMITS.items()
    )
    return float(np.max(furthest))
