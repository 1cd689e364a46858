"""The ``warp`` animator: renders frames of a framed photo from an animation track."""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from inference.animate.drive import build_track
from inference.animate.mouth import MouthStyle, paint_mouth, style_for
from inference.animate.rig import GRID_STEP, FaceRig, Field, Region, build_rig
from inference.animate.track import Track
from inference.face.framing import FramedPhoto
from inference.provenance import embed, keep_face_clean
from inference.tts.base import Speech

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]

_INVERSE_ITERATIONS = 2


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

    def frames(self, speech: Speech, fps: int, seed: int) -> Iterator[Image]:
        return self.animator.frames(build_track(speech, fps, seed))


class WarpAnimator:
    """Holds one photo's rig; ``frames`` yields RGB frames, one per track row.

    Only the head region is resampled per frame; every other pixel is the photo itself, which
    keeps the background still and sharp and the cost proportional to the face, not the frame.
    """

    name = "warp"

    def __init__(self, image: Image, landmarks: FloatArray) -> None:
        self.image = np.ascontiguousarray(image)
        self.rig: FaceRig = build_rig(landmarks, image.shape[0])
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
        lo, hi = self.rig.lip_span
        self._style: MouthStyle = style_for(
            image, landmarks[48:60], self.rig.mouth_width, self.rig.closed_mouth
        )
        self._lips = slice(lo, hi)

    def frames(self, track: Track) -> Iterator[Image]:
        for params in track:
            yield self.frame(params)

    def frame(self, params: FloatArray) -> Image:
        rig = self.rig
        head = rig.head.region
        back_x = _upsampled(_inverse(_combine(rig.head, params)), self._head_maps)
        map_x = self._head_pixels[0] - back_x[..., 0]
        map_y = self._head_pixels[1] - back_x[..., 1]

        upper = _upsampled(_inverse(_combine(rig.upper, params)), self._mouth_maps)
        lower = _upsampled(_inverse(_combine(rig.lower, params)), self._mouth_maps)
        top = rig.split + np.tensordot(params, rig.split_upper, axes=1)
        bottom = rig.split + np.tensordot(params, rig.split_lower, axes=1)
        below = _below_mask(rig.upper.region, top)
        mouth_back = np.where(below[..., None], lower, upper)
        window = self._mouth_window
        map_x[window] -= mouth_back[..., 0]
        map_y[window] -= mouth_back[..., 1]

        frame = self.image.copy()
        warped = cv2.remap(
            self.image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
        )
        frame[head.y0 : head.y1, head.x0 : head.x1] = warped
        paint_mouth(frame, top[self._lips], bottom[self._lips], self._style)
        return frame


def _combine(field: Field, params: FloatArray) -> FloatArray:
    return np.tensordot(params, field.basis, axes=1).astype(np.float32)


def _inverse(forward: FloatArray) -> FloatArray:
    """Backward displacement on the grid: the source of p is p - result(p).

    Fixed-point iteration of s = p - F(s); the fields are smooth and small against the grid,
    so two rounds are plenty.
    """
    gh, gw = forward.shape[:2]
    gx, gy = np.meshgrid(np.arange(gw, dtype=np.float32), np.arange(gh, dtype=np.float32))
    back = forward
    for _ in range(_INVERSE_ITERATIONS):
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


def _below_mask(region: Region, line: FloatArray) -> npt.NDArray[np.bool_]:
    """Pixels of ``region`` under ``line`` (a left-to-right polyline), in output space."""
    h, w = region.shape
    origin = np.array([region.x0, region.y0], np.float32)
    local = line - origin
    left = [[-w, local[0, 1]], [-w, 2 * h]]
    right = [[2 * w, 2 * h], [2 * w, local[-1, 1]]]
    polygon = np.concatenate([left[::-1], local, right]).astype(np.float32)
    mask = np.zeros((h, w), np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 8).astype(np.int32)], 1, shift=3)
    return mask.astype(bool)
