"""Per-photo precomputation of the warp: control points and linear displacement bases.

Every displacement the animator makes is linear in the track's channels, so each channel's
dense field is solved once per photo (thin-plate spline through control points, on a coarse
grid) and a frame is a weighted sum of a few small arrays.

The mouth needs a tear: when it opens, the upper lip goes up and the lower lip and jaw go down.
So the mouth has two fields, ``upper`` and ``lower``, split along the line where the lips meet
and its extension across the cheeks, where both fields are made equal so no seam shows.

Besides the track's channels every field has a constant ``REST`` term: it closes a mouth that
is open in the photo (the inner lips meet on the ``meeting`` line), so every photo starts from
closed lips and ``OPEN`` opens it from there. Whatever lies between the lips (the photo's own
teeth included) is painted by ``inference.animate.mouth``, never stretched from the photo.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inference.animate.geometry import face_axes, face_size
from inference.animate.head import head_moves
from inference.animate.track import CHANNELS, Channel

FloatArray = npt.NDArray[np.float32]

_NECK_ANCHORS = 11
GRID_STEP = 4  # px between coarse grid nodes; the fields are smooth at this scale
_TPS_REGULARIZATION = 1e-3
REST = CHANNELS  # index of the constant term in every displacement basis
_TERMS = CHANNELS + 1
# Where the lips meet when the photo's open mouth closes: this share of the gap is the upper
# lip's way down, the rest the lower lip's (and the jaw's) way up.
_UPPER_SHARE = 0.4
_PER_SEGMENT = 6  # curve points per landmark segment of the inner lips
_UPPER_INNER = [60, 61, 62, 63, 64]
_LOWER_INNER = [60, 67, 66, 65, 64]


@dataclass(frozen=True)
class Region:
    """A rectangle of the frame and the coarse grid laid over it."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.y1 - self.y0, self.x1 - self.x0)

    def grid_points(self) -> FloatArray:
        ys = np.arange(self.y0, self.y1 + GRID_STEP, GRID_STEP, dtype=np.float32)
        xs = np.arange(self.x0, self.x1 + GRID_STEP, GRID_STEP, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)
        return np.stack([gx, gy], axis=-1)

    def cell_centres(self) -> FloatArray:
        """Nodes at the centres of the region's GRID_STEP cells: a field on them scales up
        to the pixels with ``cv2.resize``, much faster than ``cv2.remap``."""
        offset = (GRID_STEP - 1) / 2
        ys = self.y0 + offset + GRID_STEP * np.arange(-(-self.shape[0] // GRID_STEP))
        xs = self.x0 + offset + GRID_STEP * np.arange(-(-self.shape[1] // GRID_STEP))
        gx, gy = np.meshgrid(xs.astype(np.float32), ys.astype(np.float32))
        return np.stack([gx, gy], axis=-1)


@dataclass(frozen=True)
class Field:
    """Displacement per term on a region's grid: (CHANNELS + 1, gh, gw, 2), forward, in px.

    The last term is ``REST``, always weighted 1 (see ``weights``).
    """

    region: Region
    basis: FloatArray


def weights(params: FloatArray) -> FloatArray:
    """A track row with the constant ``REST`` term appended: what every basis is weighted by."""
    return np.append(params, np.float32(1.0)).astype(np.float32)


@dataclass(frozen=True)
class Line:
    """Source points and their displacement per term: (n, 2) and (CHANNELS + 1, n, 2)."""

    points: FloatArray
    moves: FloatArray

    def at(self, terms: FloatArray) -> FloatArray:
        """Where the points are in a frame whose ``weights`` are ``terms``."""
        return (self.points + np.einsum("k,k...->...", terms, self.moves)).astype(np.float32)


@dataclass(frozen=True)
class FaceRig:
    head: Field  # blinks and head motion, one smooth field
    upper: Field  # mouth region above the split
    lower: Field  # mouth region below the split
    top: Line  # upper inner lip, cheek to cheek: upper field + head field
    bottom: Line  # lower inner lip, cheek to cheek: lower field + head field
    lip_span: tuple[int, int]  # top[a:b] runs from one outer mouth corner to the other
    skull: Line  # three points fixed to the skull (upper teeth): head field only
    meeting: FloatArray  # (n, 2) where the lips meet at rest, corner to corner, in the photo
    photo_gap: float  # the photo's own lip gap at the middle, px (0 for a closed mouth)
    mouth_width: float
    jaw_drop: float  # px the jaw (and the lower teeth) moves down at OPEN = 1

    @property
    def shows_teeth(self) -> bool:
        """The photo's mouth is open far enough to show what is inside it."""
        return self.photo_gap > 0.05 * self.mouth_width


def inner_lips(landmarks: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The inner lips as smooth curves (upper, lower), inner corner to inner corner."""
    lm = landmarks.astype(np.float32)
    return (
        catmull_rom(lm[_UPPER_INNER], _PER_SEGMENT),
        catmull_rom(lm[_LOWER_INNER], _PER_SEGMENT),
    )


def build_rig(
    landmarks: FloatArray,
    size: int,
    inner: tuple[FloatArray, FloatArray] | None = None,
    head_region: Region | None = None,
) -> FaceRig:
    """The rig of one photo; ``inner`` are its inner lips where known better than
    ``inner_lips(landmarks)`` (see ``inference.animate.lips``), ``head_region`` the part of
    the frame the head's motion may change (by default: ``head_box``)."""
    lm = landmarks.astype(np.float32)
    head_region = head_region or head_box(lm, size)
    axis_x, axis_y = face_axes(lm)
    mouth_width = float(np.linalg.norm(lm[54] - lm[48]))
    face_height = face_size(lm)[1]
    gap = min(0.34 * mouth_width, 0.22 * face_height)  # lips apart at OPEN = 1

    inner = inner if inner is not None else inner_lips(lm)
    upper_pts, lower_pts = _mouth_controls(
        lm, inner, axis_x, axis_y, mouth_width, gap, face_height
    )
    neck = lower_pts[0][-_NECK_ANCHORS:]
    mouth_region = _bounded_region(np.concatenate([lm[2:15], lm[29:30], neck]), pad=6, size=size)
    border = _border_points(mouth_region, spacing=24)
    upper_pts = _with_fixed(upper_pts, border)
    lower_pts = _with_fixed(lower_pts, border)

    # The inner lips as smooth curves from one outer corner to the other, continued across the
    # cheeks; the opening is painted between them and the field boundary runs midway.
    reach = np.array([1.2, 0.7, 0.35], np.float32)[:, None] * mouth_width
    left, right = lm[48] - reach * axis_x, lm[54] + reach[::-1] * axis_x
    top_lip = np.concatenate([lm[48:49], inner[0], lm[54:55]])
    bottom_lip = np.concatenate([lm[48:49], inner[1], lm[54:55]])
    top_line = np.concatenate([left, top_lip, right])
    bottom_line = np.concatenate([left, bottom_lip, right])
    upper, top_moves = _solve_field(mouth_region, *upper_pts, extra=top_line)
    lower, bottom_moves = _solve_field(mouth_region, *lower_pts, extra=bottom_line)

    skull = np.stack([lm[48], lm[54], lm[33]])
    extra = np.concatenate([top_line, bottom_line, skull])
    head, head_extra = _head_field(lm, axis_x, axis_y, face_height, head_region, extra)
    n = len(top_line)

    opening = (bottom_lip - top_lip) @ axis_y
    return FaceRig(
        head=head,
        upper=upper,
        lower=lower,
        top=Line(top_line, top_moves + head_extra[:, :n]),
        bottom=Line(bottom_line, bottom_moves + head_extra[:, n : 2 * n]),
        lip_span=(len(reach), n - len(reach)),
        skull=Line(skull, head_extra[:, 2 * n :]),
        meeting=top_lip + _UPPER_SHARE * (bottom_lip - top_lip),
        photo_gap=float(max(np.median(opening[2:-2]), 0.0)),
        mouth_width=mouth_width,
        jaw_drop=0.85 * gap,
    )


Controls = tuple[FloatArray, FloatArray]  # points (n, 2), displacements (CHANNELS + 1, n, 2)


def _controls(entries: list[tuple[FloatArray, dict[int, FloatArray]]]) -> Controls:
    points = np.array([p for p, _ in entries], np.float32)
    moves = np.zeros((_TERMS, len(entries), 2), np.float32)
    for index, (_, by_channel) in enumerate(entries):
        for channel, move in by_channel.items():
            moves[channel, index] = move
    return points, moves


def _mouth_controls(
    lm: FloatArray,
    inner: tuple[FloatArray, FloatArray],
    ax: FloatArray,
    ay: FloatArray,
    mouth_width: float,
    gap: float,
    face_height: float,
) -> tuple[Controls, Controls]:
    """Control points of the upper and lower mouth fields with their moves per term.

    ``inner`` holds the inner lips as curves (upper, lower) through ``_UPPER_INNER`` and
    ``_LOWER_INNER``.
    """
    mw = mouth_width
    O, W, R = Channel.OPEN, Channel.WIDE, Channel.ROUND  # noqa: E741 (short names keep rows short)
    S = Channel.SMILE
    # The photo's own opening at each inner-lip pair; REST closes it (see the module doc).
    at_landmarks = [_PER_SEGMENT, 2 * _PER_SEGMENT, 3 * _PER_SEGMENT]  # 61/67, 62/66, 63/65
    opening = np.maximum((inner[1][at_landmarks] - inner[0][at_landmarks]) @ ay, 0.0)
    closing = {50: opening[0], 51: opening[1], 52: opening[2]}
    closing.update({58: opening[0], 57: opening[1], 56: opening[2]})
    closing.update({49: opening[0] * 0.5, 53: opening[2] * 0.5})
    closing.update({59: opening[0] * 0.5, 55: opening[2] * 0.5})
    down = ay * _UPPER_SHARE
    up = -ay * (1 - _UPPER_SHARE)

    def corner(side: float) -> dict[int, FloatArray]:
        # side -1 is the image-left corner; "outward" is away from the mouth centre.
        return {
            O: ay * 0.2 * gap - side * ax * 0.03 * mw,
            W: side * ax * 0.09 * mw - ay * 0.03 * mw,
            R: -side * ax * 0.17 * mw,
            S: side * ax * 0.06 * mw - ay * 0.09 * mw,  # a smile pulls the corners up and out
        }

    def near_corner(side: float, vertical: FloatArray, rest: FloatArray) -> dict[int, FloatArray]:
        return {
            O: vertical,
            W: side * ax * 0.05 * mw,
            R: -side * ax * 0.11 * mw,
            S: side * ax * 0.035 * mw - ay * 0.05 * mw,
            REST: rest,
        }

    shared: list[tuple[FloatArray, dict[int, FloatArray]]] = []
    for index, side in ((48, -1.0), (60, -1.0), (54, 1.0), (64, 1.0)):
        shared.append((lm[index], corner(side)))
    for anchor, side in ((lm[48], -1.0), (lm[54], 1.0)):
        for reach, weight in ((0.1, 0.8), (0.2, 0.62), (0.35, 0.45), (0.7, 0.12), (1.0, 0.0)):
            point = anchor + side * ax * reach * mw
            shared.append((point, {c: m * weight for c, m in corner(side).items()}))
    for index in (*range(0, 4), *range(13, 17), *range(27, 36)):
        shared.append((lm[index], {}))

    lift = -ay * 0.18 * gap
    pout = 0.05 * mw  # rounded lips push out: the red of the lips shows taller
    upper = [
        (lm[49], near_corner(-1.0, lift * 0.7, down * closing[49] * 0.6)),
        (lm[53], near_corner(1.0, lift * 0.7, down * closing[53] * 0.6)),
        *[(lm[i], {O: lift, R: -ay * pout, REST: down * closing[i] * 0.6}) for i in (50, 51, 52)],
        *_inner_lip(
            inner, ay, _UPPER_INNER, {i: {O: lift, R: ay * 0.01 * mw} for i in (61, 62, 63)}
        ),
        ((lm[33] + lm[51]) / 2, {O: lift * 0.4, REST: down * opening[1] * 0.25}),
    ]
    drop = ay * 0.85 * gap
    lower = [
        (lm[59], near_corner(-1.0, drop * 0.6, up * closing[59] * 0.7)),
        (lm[55], near_corner(1.0, drop * 0.6, up * closing[55] * 0.7)),
        *[
            (lm[i], {O: drop * w, R: ay * pout, REST: up * closing[i] * 0.8})
            for i, w in ((58, 0.9), (57, 1), (56, 0.9))
        ],
        *_inner_lip(
            inner,
            ay,
            _LOWER_INNER,
            {i: {O: drop * w, R: -ay * 0.01 * mw} for i, w in ((67, 0.9), (66, 1.0), (65, 0.9))},
        ),
    ]
    # The jaw closes with the lower lip: a photo with an open mouth has a dropped jaw.
    jaw_rest = up * opening[1] * 0.7
    jaw_weights = {4: 0.15, 5: 0.35, 6: 0.6, 7: 0.8, 8: 0.85, 9: 0.8, 10: 0.6, 11: 0.35, 12: 0.15}
    for index, weight in jaw_weights.items():
        lower.append((lm[index], {O: drop * weight, REST: jaw_rest * weight}))
    for lip, jaw, weight in ((57, 8, 0.9), (58, 7, 0.82), (56, 9, 0.82), (59, 6, 0.65)):
        lower.append(((lm[lip] + lm[jaw]) / 2, {O: drop * weight, REST: jaw_rest * weight}))
    lower.append(((lm[55] + lm[10]) / 2, {O: drop * 0.65, REST: jaw_rest * 0.65}))
    # The neck stays: anchors below the jaw line keep the collar from sliding with the chin.
    centre = lm[27:36].mean(axis=0)
    for index in range(3, 14):
        outward = lm[index] - centre
        outward /= np.linalg.norm(outward)
        lower.append((lm[index] + outward * 0.18 * face_height, {}))
    return _controls(shared + upper), _controls(shared + lower)


def _inner_lip(
    inner: tuple[FloatArray, FloatArray],
    ay: FloatArray,
    path: list[int],
    moves: dict[int, dict[int, FloatArray]],
) -> list[tuple[FloatArray, dict[int, FloatArray]]]:
    """Controls along one inner lip's curve, so that ``REST`` closes the lips exactly.

    ``moves`` holds the landmarks' own moves (the corners ``path[0]`` and ``path[-1]`` are
    controlled elsewhere); points between landmarks move as their neighbours, blended, and
    each point's ``REST`` takes its lip to the meeting line, a fraction of a pixel past it so
    the seam samples the lip's own colour, never the teeth behind it.
    """
    upper = path == _UPPER_INNER
    top, bottom = inner
    gap = np.maximum((bottom - top) @ ay, 0.0)
    share = _UPPER_SHARE if upper else _UPPER_SHARE - 1.0
    # Landmarks sit a little inside the real lip edge, so an open mouth closes with overlap.
    overlap = 0.8 * np.minimum(gap, 1.0) + 0.06 * gap
    rest = (share * gap + np.sign(share) * overlap)[:, None] * ay
    curve = top if upper else bottom
    entries: list[tuple[FloatArray, dict[int, FloatArray]]] = []
    for k in range(1, len(curve) - 1):
        segment, step = divmod(k, _PER_SEGMENT)
        t = step / _PER_SEGMENT
        a, b = moves.get(path[segment], {}), moves.get(path[segment + 1], {})
        blended = {c: (1 - t) * a.get(c, 0 * ay) + t * b.get(c, 0 * ay) for c in {*a, *b}}
        entries.append((curve[k], {**blended, REST: rest[k]}))
    return entries


def head_box(landmarks: FloatArray, size: int) -> Region:
    """Where the head, its hair and the top of the neck can be: what head motion may change."""
    lm = landmarks.astype(np.float32)
    face_width, face_height = face_size(lm)
    centre = lm[27:48].mean(axis=0)
    corners = np.array(
        [
            [centre[0] - 1.5 * face_width, centre[1] - 1.9 * face_height],
            [centre[0] + 1.5 * face_width, lm[8, 1] + 0.8 * face_height],
        ],
        np.float32,
    )
    return _bounded_region(corners, pad=0, size=size)


def _head_field(
    lm: FloatArray,
    ax: FloatArray,
    ay: FloatArray,
    face_height: float,
    region: Region,
    extra: FloatArray,
) -> tuple[Field, FloatArray]:
    """The head's own motion (``inference.animate.head``) plus the face's expressions."""
    face_pts = _face_controls(lm, ax, ay, face_height)
    local_region = _bounded_region(face_pts[0], pad=4, size=10**6)
    face_pts = _with_fixed(face_pts, _border_points(local_region, 32))
    grid = region.cell_centres()
    basis = head_moves(grid, lm)
    # The expressions move only the face: their spline is read on the nodes inside its box.
    inside = (
        (grid[..., 0] >= local_region.x0)
        & (grid[..., 0] <= local_region.x1)
        & (grid[..., 1] >= local_region.y0)
        & (grid[..., 1] <= local_region.y1)
    )
    # Lids a few pixels apart close onto each other: the spline must pass through its points.
    spline = _spline(local_region, *face_pts, regularization=_TPS_REGULARIZATION / 100)
    basis[:, inside] += spline(grid[inside])
    basis[np.abs(basis) < 1e-6] = 0.0  # subnormal floats would slow every frame's sums
    return Field(region, np.ascontiguousarray(basis)), head_moves(extra, lm) + spline(extra)


def _face_controls(lm: FloatArray, ax: FloatArray, ay: FloatArray, face_height: float) -> Controls:
    """The face's expressions in the photo's frame: brows, cheeks, lower lids and irises.

    Head motion is not here (``inference.animate.head`` adds it); the mouth has fields of its
    own, so every point of it stays still here.
    """
    face_width = face_size(lm)[0]
    iod = float(np.linalg.norm(lm[45] - lm[36]))
    entries: list[tuple[FloatArray, dict[int, FloatArray]]] = []
    centre = lm[27:48].mean(axis=0)
    S = Channel.SMILE
    for side, eye in ((-1.0, range(36, 42)), (1.0, range(42, 48))):
        points = lm[list(eye)]
        height = float(np.linalg.norm(points[[1, 2]] - points[[5, 4]], axis=1).mean())
        width = float(np.linalg.norm(points[3] - points[0]))
        # The lower lid rises in a smile (blinks are drawn by ``inference.animate.eyes``).
        lower = catmull_rom(points[[0, 5, 4, 3]], 3)[1:-1]
        rise = np.sin(np.linspace(0, np.pi, len(lower) + 2)[1:-1])
        for bottom, lift in zip(lower, rise, strict=True):
            entries.append((bottom, {S: -ay * height * 0.22 * lift}))
        for index in (36, 37, 38, 39) if side < 0 else (42, 43, 44, 45):
            entries.append((lm[index], {}))
        iris = points.mean(axis=0)
        entries.append((iris, {Channel.GAZE_X: ax * 0.14 * width}))
        # The skin above the lid follows the brows a little, as a real lid fold does.
        for lid in (1, 2):
            fold = points[lid] - ay * height * 0.9
            entries.append((fold, {Channel.BROW_RAISE: -ay * 0.025 * iod}))
        # The cheek under the eye rises in a smile.
        cheek = iris + ay * 0.55 * face_height * 0.5 - side * ax * 0.05 * face_width
        entries.append((cheek, {S: -ay * 0.035 * face_width}))
    entries += _brow_controls(lm, ax, ay, iod)
    for index in (*range(0, 17), *range(27, 36), *range(48, 68)):
        entries.append((lm[index], {}))
    for scale in (1.15, 1.45):
        for angle in np.linspace(0, 2 * np.pi, 16, endpoint=False):
            direction = np.cos(angle) * ax + np.sin(angle) * ay
            point = centre + direction * face_height * 0.5 * scale
            if angle > 0.25 * np.pi and angle < 0.75 * np.pi:
                point = centre + direction * face_height * 0.8 * scale  # below: reach the neck
            entries.append((point.astype(np.float32), {}))
    return _controls(entries)


def _brow_controls(
    lm: FloatArray, ax: FloatArray, ay: FloatArray, iod: float
) -> list[tuple[FloatArray, dict[int, FloatArray]]]:
    """Brows up (emphasis, questions), knit (negation) or raised inside (sadness).

    The forehead above follows a raise by half as much, so its skin folds, not slides.
    """
    entries: list[tuple[FloatArray, dict[int, FloatArray]]] = []
    R, F, D = Channel.BROW_RAISE, Channel.BROW_FROWN, Channel.BROW_SAD
    middle = (lm[21] + lm[22]) / 2
    for index in range(17, 27):
        point = lm[index]
        # 0 at the outer end of each brow, 1 at its inner end by the nose.
        inner = (index - 17) / 4 if index < 22 else (26 - index) / 4
        toward = (middle - point) @ ax * ax
        toward = toward / max(float(np.linalg.norm(toward)), 1e-6)
        moves: dict[int, FloatArray] = {
            R: -ay * 0.075 * iod * (0.8 + 0.2 * inner),
            F: (ay * 0.04 * iod + toward * 0.03 * iod) * inner,
            D: -ay * 0.06 * iod * inner**1.5 + ay * 0.015 * iod * (1 - inner),
        }
        entries.append((point, moves))
        above = point - ay * 0.22 * iod
        entries.append((above, {c: m * 0.5 for c, m in moves.items()}))
    return entries


def _bounded_region(points: FloatArray, pad: int, size: int) -> Region:
    x0, y0 = np.floor(points.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(points.max(axis=0)).astype(int) + pad
    return Region(max(0, x0), max(0, y0), min(size, x1), min(size, y1))


def _border_points(region: Region, spacing: int) -> FloatArray:
    xs = np.linspace(region.x0, region.x1, max(2, (region.x1 - region.x0) // spacing + 1))
    ys = np.linspace(region.y0, region.y1, max(2, (region.y1 - region.y0) // spacing + 1))
    points = [(x, region.y0) for x in xs] + [(x, region.y1) for x in xs]
    points += [(region.x0, y) for y in ys[1:-1]] + [(region.x1, y) for y in ys[1:-1]]
    return np.array(points, np.float32)


def _with_fixed(controls: Controls, fixed: FloatArray) -> Controls:
    points, moves = controls
    # Border points never move, so the warp ends exactly at the region's edge: no seams.
    still = np.zeros((_TERMS, len(fixed), 2), np.float32)
    return np.concatenate([points, fixed]), np.concatenate([moves, still], axis=1)


def catmull_rom(points: FloatArray, per_segment: int) -> FloatArray:
    """A smooth curve through ``points`` (ends kept): lips are curves, not polylines."""
    padded = np.concatenate(
        [2 * points[:1] - points[1:2], points, 2 * points[-1:] - points[-2:-1]]
    )
    result = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        for t in np.linspace(0, 1, per_segment, endpoint=False):
            result.append(
                0.5
                * (
                    2 * p1
                    + (-p0 + p2) * t
                    + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                    + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
                )
            )
    result.append(points[-1])
    return np.array(result, np.float32)


def _tps_kernel(a: FloatArray, b: FloatArray) -> npt.NDArray[np.float64]:
    r2 = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = 0.5 * r2 * np.log(r2)
    return np.nan_to_num(k)


def _solve_field(
    region: Region, points: FloatArray, moves: FloatArray, extra: FloatArray | None = None
) -> tuple[Field, FloatArray]:
    """Thin-plate spline through the controls, on the region's grid and at ``extra`` points."""
    spline = _spline(region, points, moves)
    extra_moves = spline(extra) if extra is not None else np.zeros((_TERMS, 0, 2), np.float32)
    return Field(region, spline(region.grid_points())), extra_moves


def _spline(
    region: Region,
    points: FloatArray,
    moves: FloatArray,
    regularization: float = _TPS_REGULARIZATION,
) -> Callable[[FloatArray], FloatArray]:
    """Thin-plate spline through the controls, as a linear map applied to every term.

    Returns a function from target points (..., 2) to their moves (CHANNELS + 1, ..., 2).
    """
    scale = float(max(region.shape))
    origin = np.array([region.x0, region.y0], np.float32)
    ctrl = (points - origin) / scale
    n = len(ctrl)
    system = np.zeros((n + 3, n + 3))
    system[:n, :n] = _tps_kernel(ctrl, ctrl) + regularization * np.eye(n)
    system[:n, n] = 1
    system[:n, n + 1 :] = ctrl
    system[n, :n] = 1
    system[n + 1 :, :n] = ctrl.T
    # Every term's x and y at once: (n + 3, terms * 2) spline coefficients.
    values = np.zeros((n + 3, _TERMS * 2))
    values[:n] = moves.transpose(1, 0, 2).reshape(n, -1)
    try:
        coefficients = np.linalg.solve(system, values)
    except np.linalg.LinAlgError:  # degenerate controls (all on one line): least squares
        coefficients = np.linalg.lstsq(system, values, rcond=None)[0]

    def evaluate(targets: FloatArray) -> FloatArray:
        flat = (targets.reshape(-1, 2) - origin) / scale
        design = np.concatenate([_tps_kernel(flat, ctrl), np.ones((len(flat), 1)), flat], axis=1)
        result = (design @ coefficients).reshape(len(flat), _TERMS, 2).transpose(1, 0, 2)
        shaped = result.reshape((_TERMS, *targets.shape[:-1], 2))
        return np.ascontiguousarray(shaped, dtype=np.float32)  # frames sum it: keep it dense

    return evaluate
