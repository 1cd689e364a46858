"""The ``warp`` animator: renders frames of a framed photo from an animation track."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from inference.animate.drive import build_track
from inference.animate.lips import snap_inner_lips
from inference.animate.mouth import MouthInterior, build_interior, paint_mouth
from inference.animate.rig import (
    GRID_STEP,
    FaceRig,
    Field,
    Region,
    build_rig,
    inner_lips,
    weights,
)
from inference.animate.track import Channel, Track
from inference.face.framing import FramedPhoto
from inference.provenance import embed, keep_face_clean
from inference.tts.base import Speech

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]

# Fixed-point rounds of the inverse: head motion is tiny; the mouth's fields close a photo's
# open mouth, moving the lips by a large share of its height, and need one more.
_HEAD_ITERATIONS, _MOUTH_ITERATIONS = 2, 3
# The lower lip drops a little further than the teeth behind it, which then show.
_LOWER_TEETH_FOLLOW = 0.65


class WarpEngine:
    """The ``warp`` engine (see ``inference.animate.base.Animator``): CPU, no weights."""

    name = "warp"
    fps: int | None = None

    def prepare(self, photo: FramedPhoto, job_id: str) -> WarpAnimation:
        # The invisible mark goes into the photo once, so every frame carries it for free;
        # the face itself is kept clean, so the mark's texture cannot blur its identity.
        marked = keep_face_clean(photo.image, embed(photo.image, job_id), photo.landmarks)
        return WarpAnimation(WarpAnimator(marked, photo.landmarks))


class WarpAnimation:
    def __init__(self, animator: WarpAnimator) -> None:
        self.animator = animator

    def frames(
        self,
        speech: Speech,
        fps: int,
        seed: int,
        track: Track | None = None,
        mimic: str = "calm",
    ) -> Iterator[Image]:
        return self.animator.frames(build_track(speech, fps, seed) if track is None else track)


class WarpAnimator:
    """Holds one photo's rig; ``frames`` yields RGB frames, one per track row.

    Only the head region is resampled per frame; every other pixel is the photo itself, which
    keeps the background still and sharp and the cost proportional to the face, not the frame.
    """

    name = "warp"

    def __init__(self, image: Image, landmarks: FloatArray) -> None:
        self.image = np.ascontiguousarray(image)
        inner = snap_inner_lips(self.image, landmarks, inner_lips(landmarks))
        self.rig: FaceRig = build_rig(landmarks, image.shape[0], inner)
        head = self.rig.head.region
        mouth = self.rig.upper.region
        self._head_maps = head.pixel_to_grid()
        self._mouth_maps = mouth.pixel_to_grid()
        ys, xs = np.mgrid[head.y0 : head.y1, head.x0 : head.x1].astype(np.float32)
        self._head_pixels = (xs, ys)
        self._mouth_window = (
            slice(mouth.y0 - head.y0, mouth.y1 - head.y0),
            slice(mouth.x0 - head.x0, mouth.x1 - head.x0),
        )
        self._lips = slice(*self.rig.lip_span)
        self._interior: MouthInterior = build_interior(self.image, self.rig)

    def frames(self, track: Track) -> Iterator[Image]:
        for params in track:
            yield self.frame(params)

    def frame(self, params: FloatArray) -> Image:
        rig = self.rig
        terms = weights(params)
        head = rig.head.region
        back_x = _upsampled(_inverse(_combine(rig.head, terms), _HEAD_ITERATIONS), self._head_maps)
        map_x = self._head_pixels[0] - back_x[..., 0]
        map_y = self._head_pixels[1] - back_x[..., 1]

        upper = _upsampled(
            _inverse(_combine(rig.upper, terms), _MOUTH_ITERATIONS), self._mouth_maps
        )
        lower = _upsampled(
            _inverse(_combine(rig.lower, terms), _MOUTH_ITERATIONS), self._mouth_maps
        )
        top, bottom = rig.top.at(terms), rig.bottom.at(terms)
        seam = ((top + bottom) / 2).astype(np.float32)
        below = _below_mask(rig.upper.region, seam)
        window = self._mouth_window
        lips = _band(rig.upper.region, seam[self._lips], pad=3)
        if lips is not None:
            head_x, head_y = map_x[window][lips].copy(), map_y[window][lips].copy()
        map_x[window] -= np.where(below > 0.5, lower[..., 0], upper[..., 0])
        map_y[window] -= np.where(below > 0.5, lower[..., 1], upper[..., 1])

        frame = self.image.copy()
        warped = cv2.remap(
            self.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
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
        frame[head.y0 : head.y1, head.x0 : head.x1] = warped
        skull = rig.skull.at(terms)
        jaw = float(params[Channel.OPEN]) * rig.jaw_drop * _LOWER_TEETH_FOLLOW
        paint_mouth(frame, top[self._lips], bottom[self._lips], skull, jaw, self._interior)
        return frame


def _combine(field: Field, params: FloatArray) -> FloatArray:
    return np.tensordot(params, field.basis, axes=1).astype(np.float32)


def _inverse(forward: FloatArray, iterations: int) -> FloatArray:
    """Backward displacement on the grid: the source of p is p - result(p).

    Fixed-point iteration of s = p - F(s); the fields are smooth against the grid, so a few
    rounds are enough.
    """
    gh, gw = forward.shape[:2]
    gx, gy = np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32))
    back = forward
    for _ in range(iterations):
        back = cast(
            FloatArray,
            cv2.remap(
                forward,
                gx - back[..., 0] / GRID_STEP,
                gy - back[..., 1] / GRID_STEP,
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REPLICATE,
            ),
        )
    return back


def _upsampled(grid_field: FloatArray, maps: tuple[FloatArray, FloatArray]) -> FloatArray:
    return cast(FloatArray, cv2.remap(grid_field, maps[0], maps[1], cv2.INTER_LINEAR))


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
