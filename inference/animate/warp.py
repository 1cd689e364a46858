"""The ``warp`` animator: renders frames of a framed photo from an animation track."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache, partial
from typing import Any, TypeVar, cast

import cv2
import numpy as np
import numpy.typing as npt

from inference.animate.base import Performance
from inference.animate.drive import build_track
from inference.animate.eyes import Eye, close_lids, find_eyes
from inference.animate.head import body_weight, head_moves
from inference.animate.head import reach as head_reach
from inference.animate.lips import snap_inner_lips
from inference.animate.looks import Look
from inference.animate.mouth import MouthInterior, build_interior, paint_mouth
from inference.animate.plate import Reach, head_layer
from inference.animate.rig import (
    GRID_STEP,
    FaceRig,
    Field,
    Region,
    build_rig,
    head_box,
    inner_lips,
    weights,
)
from inference.animate.track import Channel, Track
from inference.face.framing import FramedPhoto
from inference.provenance import FrameMarker

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]

# Fixed-point rounds of the inverse: head motion is tiny; the mouth's fields close a photo's
# open mouth, moving the lips by a large share of its height, and need one more.
_HEAD_ITERATIONS, _MOUTH_ITERATIONS = 2, 3
_MARK_SAMPLES = 24  # frames averaged to foresee what the watermark's detector will see
# The lower lip drops a little further than the teeth behind it, which then show.
_LOWER_TEETH_FOLLOW = 0.65
# Frames are drawn by two threads at once (OpenCV and numpy let go of the GIL while they
# work), a few frames ahead of the encoder: the worker runs one render per two cores.
_FRAME_THREADS, _FRAMES_AHEAD = 2, 4


class WarpEngine:
    """The ``warp`` engine (see ``inference.animate.base.Animator``): CPU, no weights."""

    name = "warp"
    fps: int | None = None

    def __init__(self) -> None:
        # Frames are drawn on threads of our own; OpenCV's pool inside each call would only
        # have them and the encoder fight over the cores (a sixth more CPU for the same note).
        cv2.setNumThreads(1)

    def prepare(self, photo: FramedPhoto, job_id: str, look: Look | None = None) -> WarpAnimation:
        return WarpAnimation(WarpAnimator(photo.image, photo.landmarks, look), job_id)


class WarpAnimation:
    def __init__(self, animator: WarpAnimator, job_id: str) -> None:
        self.animator = animator
        self.job_id = job_id

    def frames(self, performance: Performance) -> Iterator[Image]:
        track = performance.track
        if track is None:
            track = build_track(performance.speech, performance.fps, performance.seed)
        # The invisible mark is fitted to this note's average picture and stays put in every
        # frame, as the detector (which averages the frames) expects: a mark carried on the
        # moving head would smear. It covers the face too: a moving head costs a re-encode
        # bits the mark needs, and the face's cells win them back (identity holds, as
        # tests/test_render_quality.py checks).
        draw = self.animator.draw(track)
        picks = np.linspace(0, len(track) - 1, min(len(track), _MARK_SAMPLES)).astype(int)
        # The sampled frames are kept for their turn in the note rather than drawn twice.
        drawn = dict(zip(picks.tolist(), _in_order(draw, track[picks]), strict=True))
        total = np.zeros(self.animator.image.shape, np.float32)
        for frame in drawn.values():
            total += frame
        mark = FrameMarker(self.job_id, reference=np.rint(total / len(picks)).astype(np.uint8))

        def frame_at(index: int) -> Image:
            kept = drawn.pop(index, None)
            return draw(track[index]) if kept is None else kept

        return (mark(frame) for frame in _in_order(frame_at, range(len(track))))


class WarpAnimator:
    """Holds one photo's rig; ``frames`` yields RGB frames, one per track row.

    Only the head region is resampled per frame. The person moves as a layer over the clean
    plate (``inference.animate.plate``): pixels the head can neither reach nor uncover are the
    photo itself, which keeps the background still and sharp.

    With a stylized ``look`` the frames are the look's picture moved: the lips and the person
    are still found on the photo (a look's ink lines would stop the lip search and mislead
    GrabCut), the pixels come from the look, and the mouth's inside is drawn through it.
    """

    name = "warp"

    def __init__(self, image: Image, landmarks: FloatArray, look: Look | None = None) -> None:
        photo = np.ascontiguousarray(image)
        self.image = photo if look is None else np.ascontiguousarray(look.image)
        inner = snap_inner_lips(photo, landmarks, inner_lips(landmarks))
        size = image.shape[0]
        layer = head_layer(photo, landmarks, _most_reach(landmarks), paint=self.image)
        self.rig: FaceRig = build_rig(landmarks, size, inner, _moving_box(layer.mask, landmarks))
        head = self.rig.head.region
        mouth = self.rig.upper.region
        ys, xs = np.mgrid[head.y0 : head.y1, head.x0 : head.x1].astype(np.float32)
        # Where each of the head field's grid nodes sits in the frame: resize puts nodes at
        # cell centres, and between them a frame's source points are as linear as resize's.
        nodes = (_grid(*self.rig.head.basis.shape[1:3]) + 0.5) * GRID_STEP - 0.5
        self._head_nodes = (nodes + np.array([head.x0, head.y0])).astype(np.float32)
        # Added to a pixel's position / GRID_STEP, gives its place on the mouth's grid.
        origin = np.array([mouth.x0, mouth.y0], np.float32) / -GRID_STEP
        self._mouth_cells = np.broadcast_to(origin, (*mouth.shape, 2)).copy()
        self._mouth_window = (
            slice(mouth.y0 - head.y0, mouth.y1 - head.y0),
            slice(mouth.x0 - head.x0, mouth.x1 - head.x0),
        )
        self._lips = slice(*self.rig.lip_span)
        self._head_basis, self._upper_basis, self._lower_basis = (
            _Basis(field) for field in (self.rig.head, self.rig.upper, self.rig.lower)
        )
        # The mouth's inside is drawn as the photo would show it, then through the look per
        # frame: the look treats it as it treated the photo (a sketch's pale lips would
        # otherwise lend the inside their pallor).
        restyle = None if look is None else look.restyle
        self._interior: MouthInterior = build_interior(photo, self.rig, restyle)
        reach = head_reach(self.rig.head.basis) + 2.0
        self._eyes = [(eye, _eye_window(eye, head, reach)) for eye in find_eyes(landmarks)]
        # The person is laid over the plate per frame, but only where they can be: the rest
        # of the frame is the photo itself, and so are the shoulders, which never move.
        window = (slice(head.y0, head.y1), slice(head.x0, head.x1))
        self._head_window = window
        self._mask = layer.mask
        self._plate = np.ascontiguousarray(layer.plate[window])
        still = body_weight(np.stack([xs, ys], axis=-1), landmarks) <= 0.01
        self._reach = Reach(layer.mask[window], still)
        self._strips = self._strips_within(reach)

    def frames(self, track: Track) -> Iterator[Image]:
        """The frames of ``track``, in order; drawn a few ahead on two threads."""
        return _in_order(self.draw(track), track)

    def draw(self, track: Track) -> Callable[[FloatArray], Image]:
        """``frame`` for the rows of ``track``: it redraws only what this note's motion
        reaches (a calm note, less of the frame)."""
        peak = np.append(np.abs(track).max(axis=0), 1.0) if len(track) else np.ones(1)
        bound = np.tensordot(peak, np.linalg.norm(self.rig.head.basis, axis=-1), axes=1)
        pixels = cv2.resize(bound.astype(np.float32), self.rig.head.region.shape[::-1])
        return partial(self.frame, strips=self._strips_within(np.asarray(pixels) + 2.0))

    def _strips_within(self, moves: FloatArray | float) -> list[_Strip]:
        moving, near = self._reach.within(moves)
        moving[self._mouth_window] = True
        return _strips(moving, moving & near)

    def frame(self, params: FloatArray, strips: list[_Strip] | None = None) -> Image:
        """One frame; ``strips`` are the parts of the head region it redraws (by default, all
        that any motion within the limits could reach)."""
        rig = self.rig
        terms = weights(params)
        head = rig.head.region
        inverse = _inverse(self._head_basis.at(terms), _HEAD_ITERATIONS)
        upper_grid = _inverse(self._upper_basis.at(terms), _MOUTH_ITERATIONS)
        lower_grid = _inverse(self._lower_basis.at(terms), _MOUTH_ITERATIONS)
        # Which photo pixel each pixel shows: the nodes' sources, resized. (Resize holds the
        # outermost half cell at the nodes' values: no strip reaches that far out.)
        source = cv2.resize(self._head_nodes - inverse, head.shape[::-1])
        map_x, map_y = source[..., 0], source[..., 1]

        # The mouth's fields are in the photo's frame: read them where the head's motion says
        # each pixel comes from, so the lips part where they are, however the head has turned.
        window = self._mouth_window
        # (OpenCV's arithmetic: numpy's over a last axis of 2 costs ten times as much.)
        at = cv2.scaleAdd(source[window], 1.0 / GRID_STEP, self._mouth_cells)
        fields = _remap(np.dstack([upper_grid, lower_grid]), at, cv2.BORDER_CONSTANT)
        upper, lower = fields[..., :2], fields[..., 2:]
        top, bottom = rig.top.at(terms), rig.bottom.at(terms)
        seam = ((top + bottom) / 2).astype(np.float32)
        below = _below_mask(rig.upper.region, seam)
        lips = _band(rig.upper.region, seam[self._lips], pad=3)
        if lips is not None:
            head_x, head_y = map_x[window][lips].copy(), map_y[window][lips].copy()
        map_x[window] -= np.where(below > 0.5, lower[..., 0], upper[..., 0])
        map_y[window] -= np.where(below > 0.5, lower[..., 1], upper[..., 1])

        for eye, eye_window in self._eyes:
            close_lids(map_x[eye_window], map_y[eye_window], eye, float(params[Channel.BLINK]))
        frame = self.image.copy()
        warped = frame[self._head_window]  # drawn in place: the photo where nothing moves
        for strip in self._strips if strips is None else strips:
            self._layer_over_plate(warped, strip, source)
        # Where the lips meet, the two fields sample different rows of the photo: blend the
        # two pictures across the seam instead of switching, so the lip line is not stepped.
        if lips is not None:
            both = [
                cv2.remap(
                    self.image,
                    head_x - field[lips][..., 0],
                    head_y - field[lips][..., 1],
                    cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REFLECT_101,
                ).astype(np.float32)
                for field in (upper, lower)
            ]
            share = below[lips][..., None]
            mouth = window[0].start + lips[0].start, window[1].start + lips[1].start
            rows = slice(mouth[0], mouth[0] + share.shape[0])
            cols = slice(mouth[1], mouth[1] + share.shape[1])
            warped[rows, cols] = (both[0] + (both[1] - both[0]) * share + 0.5).astype(np.uint8)
        skull = rig.skull.at(terms)
        jaw = float(params[Channel.OPEN]) * rig.jaw_drop * _LOWER_TEETH_FOLLOW
        paint_mouth(frame, top[self._lips], bottom[self._lips], skull, jaw, self._interior)
        return frame

    def _layer_over_plate(self, warped: Image, strip: _Strip, source: FloatArray) -> None:
        """Resample the person into ``warped`` and, near their outline, lay them over the
        clean plate: where the head has moved away, the background behind it shows, never a
        stretched copy."""
        rows, cols, edges, unreached = strip
        # Fixed-point maps (1/32 px) resample a third faster than float ones.
        # One map holds x and y: OpenCV takes None for the second (its stubs do not).
        fixed, fraction = cv2.convertMaps(source[rows, cols], None, cv2.CV_16SC2)  # type: ignore[call-overload]
        area = warped[rows, cols]
        cv2.remap(
            self.image,
            fixed,
            fraction,
            cv2.INTER_LINEAR,
            dst=area,
            borderMode=cv2.BORDER_REFLECT_101,
        )
        if unreached is not None:  # the band is wider here than the person can reach
            cv2.copyTo(self.image[self._head_window][rows, cols], unreached, area)
        for edge in edges:
            part = slice(edge.start - cols.start, edge.stop - cols.start)
            alpha = cv2.remap(self._mask, fixed[:, part], fraction[:, part], cv2.INTER_LINEAR)
            share = alpha.astype(np.float32) * np.float32(1 / 255)
            plate = self._plate[rows, edge]
            area[:, part] = cv2.blendLinear(area[:, part], plate, share, 1.0 - share)


def _eye_window(eye: Eye, region: Region, reach: float) -> tuple[slice, slice]:
    """The part of ``region`` where ``eye``'s lid can be in a frame, wherever the head is."""
    corners = [
        eye.origin + eye.ax * u + eye.ay * v
        for u in (eye.u[0], eye.u[-1])
        for v in (float(eye.crease.min()), float(eye.lower.max()) * 2)
    ]
    low = np.floor(np.min(corners, axis=0) - reach).astype(int) - [region.x0, region.y0]
    high = np.ceil(np.max(corners, axis=0) + reach).astype(int) - [region.x0, region.y0]
    h, w = region.shape
    return (
        slice(int(max(low[1], 0)), int(min(high[1], h))),
        slice(int(max(low[0], 0)), int(min(high[0], w))),
    )


# Rows, columns, the runs of columns where the plate can show, and the pixels that stay the
# photo's own (where the person cannot reach, in a band drawn wider for its other rows).
_Strip = tuple[slice, slice, list[slice], Image | None]
_Row = TypeVar("_Row")


def _strips(
    moving: npt.NDArray[np.bool_], edge: npt.NDArray[np.bool_], rows: int = 32
) -> list[_Strip]:
    """Bands of ``rows`` rows, each as wide as its moving pixels (what a frame resamples),
    with the runs of columns where the person's outline can be (what it blends)."""
    strips = []
    for y in range(0, moving.shape[0], rows):
        columns = np.flatnonzero(moving[y : y + rows].any(axis=0))
        if len(columns) == 0:
            continue
        first, last = int(columns[0]), int(columns[-1]) + 1
        near = first + np.flatnonzero(edge[y : y + rows, first:last].any(axis=0))
        # Runs of outline columns; gaps narrower than a few pixels are not worth a call.
        breaks = np.flatnonzero(np.diff(near) > 8)
        starts = np.concatenate([near[:1], near[breaks + 1]])
        stops = np.concatenate([near[breaks], near[-1:]]) + 1
        runs = [slice(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]
        unreached = ~moving[y : y + rows, first:last]
        mask = unreached.astype(np.uint8) if unreached.any() else None
        strips.append((slice(y, y + rows), slice(first, last), runs, mask))
    return strips


def _most_reach(landmarks: FloatArray) -> float:
    """How far (px) the head can move any of its pixels, from a coarse look at the head."""
    box = head_box(landmarks, 10**6)
    ys, xs = np.mgrid[box.y0 : box.y1 : 8, box.x0 : box.x1 : 8].astype(np.float32)
    return head_reach(head_moves(np.stack([xs, ys], axis=-1), landmarks)) + 2.0


def _moving_box(mask: Image, landmarks: FloatArray) -> Region:
    """The part of ``head_box`` the person can move in: their bounding box and some."""
    size = mask.shape[0]
    box = head_box(landmarks, size)
    ys, xs = np.mgrid[box.y0 : box.y1, box.x0 : box.x1].astype(np.float32)
    moving = (mask[box.y0 : box.y1, box.x0 : box.x1] > 0) & (
        body_weight(np.stack([xs, ys], axis=-1), landmarks) > 0.01
    )
    ys, xs = np.nonzero(moving)
    if len(xs) == 0:
        return box
    margin = int(np.ceil(_most_reach(landmarks))) + 4 * GRID_STEP
    x0 = max(box.x0, box.x0 + int(xs.min()) - margin)
    y0 = max(box.y0, box.y0 + int(ys.min()) - margin)
    x1 = min(box.x1, box.x0 + int(xs.max()) + margin)
    y1 = min(box.y1, box.y0 + int(ys.max()) + margin)
    # Whole grid cells, so the head's field scales up to the pixels exactly.
    return Region(x0, y0, x1 - (x1 - x0) % GRID_STEP, y1 - (y1 - y0) % GRID_STEP)


def _in_order(draw: Callable[[_Row], Image], rows: Iterable[_Row]) -> Iterator[Image]:
    """``draw`` of each row, in order, computed on ``_FRAME_THREADS`` threads."""
    with ThreadPoolExecutor(_FRAME_THREADS, thread_name_prefix="warp") as pool:
        pending: deque[Future[Image]] = deque()
        for row in rows:
            pending.append(pool.submit(draw, row))
            if len(pending) > _FRAMES_AHEAD:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class _Basis:
    """A field's basis without the terms that never move it (its sum per frame skips them)."""

    def __init__(self, field: Field) -> None:
        planes = np.abs(field.basis).reshape(len(field.basis), -1).max(axis=1)
        self._terms = np.flatnonzero(planes > 0)
        self._basis = np.ascontiguousarray(field.basis[self._terms])

    def at(self, terms: FloatArray) -> FloatArray:
        # einsum's own loop, not BLAS: BLAS threads would fight the encoder's for the cores.
        return np.einsum("k,k...->...", terms[self._terms], self._basis).astype(
            np.float32, copy=False
        )


def _inverse(forward: FloatArray, iterations: int) -> FloatArray:
    """Backward displacement on the grid: the source of p is p - result(p).

    Fixed-point iteration of s = p - F(s); the fields are smooth against the grid, so a few
    rounds are enough.
    """
    grid = _grid(*forward.shape[:2])
    back = forward
    for _ in range(iterations):
        back = _remap(forward, cv2.scaleAdd(back, -1.0 / GRID_STEP, grid), cv2.BORDER_REPLICATE)
    return back


def _remap(field: FloatArray, at: npt.NDArray[Any], border: int) -> FloatArray:
    """``field`` read at ``at`` (one map of x and y), bilinearly."""
    # OpenCV takes None for the second map (its stubs do not).
    moved = cv2.remap(field, at, None, cv2.INTER_LINEAR, borderMode=border)  # type: ignore[call-overload]
    return cast(FloatArray, moved)


@cache
def _grid(rows: int, columns: int) -> FloatArray:
    """Each grid node's own coordinates, in cells: (rows, columns, 2)."""
    return np.mgrid[:rows, :columns][::-1].transpose(1, 2, 0).astype(np.float32)


def _below_mask(region: Region, line: FloatArray) -> FloatArray:
    """Coverage of ``region``'s pixels under ``line`` (a left-to-right polyline), anti-aliased."""
    h, w = region.shape
    origin = np.array([region.x0, region.y0], np.float32)
    local = line - origin
    left = [[-w, local[0, 1]], [-w, 2 * h]]
    right = [[2 * w, 2 * h], [2 * w, local[-1, 1]]]
    polygon = np.concatenate([left[::-1], local, right]).astype(np.float32)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 8).astype(np.int32)], 255, cv2.LINE_AA, shift=3)
    return mask.astype(np.float32) / 255.0


def _band(region: Region, line: FloatArray, pad: int) -> tuple[slice, slice] | None:
    """The rectangle of ``region`` (local coordinates) around ``line``, ``pad`` px wider."""
    h, w = region.shape
    x0, y0 = np.floor(line.min(axis=0)).astype(int) - pad - [region.x0, region.y0]
    x1, y1 = np.ceil(line.max(axis=0)).astype(int) + pad + 1 - [region.x0, region.y0]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return None
    return slice(y0, y1), slice(x0, x1)
