"""Find exactly one usable face in a photo: dlib HOG detection, 68 landmarks, 128-d embedding.

The models come from the ``face-recognition-models`` wheel and are loaded once per process
(about 0.8 s, most of it reading the 100 MB landmark model); every :class:`FaceAnalyzer`
shares them, so building one with different thresholds costs nothing.

The exactly-one-face rule (see :func:`select_single_face`):

* no detection → ``NO_FACE``;
* only confident detections (HOG score ≥ :data:`CONFIDENT_SCORE`, 0.4) take part when there
  are any. dlib reports every window scoring above 0, and clothing or patterns reach 0.0–0.2
  (the astronaut's space suit does), while real frontal faces score 0.8–2.5; without this a
  suit would count as a second person. A photo with only weak detections keeps the best one:
  dlib's own threshold is then the judge;
* faces at least :data:`COMPARABLE_FACE_RATIO` (35 %) as wide as the widest one count as
  "comparable"; two or more comparable faces → ``MANY_FACES`` with ``count``. Smaller faces
  (people far behind, a portrait on the wall) are ignored: the photo is clearly about one person;
* the chosen face narrower than ``min_face_px`` (80 px in the original image by default) →
  ``FACE_TOO_SMALL`` with ``min_px``: too few pixels to animate a mouth convincingly.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import cv2
import dlib
import face_recognition_models
import numpy as np
import numpy.typing as npt

from inference.errors import ErrorCode, RenderError

Box = tuple[float, float, float, float]
"""``(x0, y0, x1, y1)`` in image pixels; may reach past the image edge for cut-off faces."""

Landmarks = npt.NDArray[np.float32]
"""``(68, 2)`` float32 array of ``(x, y)`` in image pixels, in dlib's iBUG-68 order."""

DEFAULT_MIN_FACE_PX: Final = 80
DETECT_MAX_SIDE: Final = 640
COMPARABLE_FACE_RATIO: Final = 0.35
CONFIDENT_SCORE: Final = 0.4
N_LANDMARKS: Final = 68


class _Boxed:
    box: Box

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]


@dataclass(frozen=True, eq=False)
class Face(_Boxed):
    """One detected face. ``landmarks`` is stored read-only so the frozen object stays frozen."""

    box: Box
    landmarks: Landmarks

    def __post_init__(self) -> None:
        points = np.array(self.landmarks, dtype=np.float32)
        if points.shape != (N_LANDMARKS, 2):
            raise ValueError(f"expected ({N_LANDMARKS}, 2) landmarks, got {points.shape}")
        points.setflags(write=False)
        object.__setattr__(self, "landmarks", points)
        object.__setattr__(self, "box", tuple(float(v) for v in self.box))


@dataclass(frozen=True)
class Detection(_Boxed):
    """A raw detector hit: ``box`` in image pixels and dlib's HOG ``score`` (0 = threshold)."""

    box: Box
    score: float


@dataclass(frozen=True)
class _Models:
    detector: Any
    predictor: Any
    encoder: Any
    # dlib's objects are not documented as thread-safe; a worker may run renders in a thread
    # pool, and the calls are short, so they are simply serialised.
    lock: threading.Lock


@functools.cache
def _models() -> _Models:
    return _Models(
        detector=dlib.get_frontal_face_detector(),
        predictor=dlib.shape_predictor(face_recognition_models.pose_predictor_model_location()),
        encoder=dlib.face_recognition_model_v1(
            face_recognition_models.face_recognition_model_location()
        ),
        lock=threading.Lock(),
    )


class FaceAnalyzer:
    """Face detection, landmarks and embeddings with the exactly-one-face policy."""

    def __init__(
        self,
        *,
        min_face_px: int = DEFAULT_MIN_FACE_PX,
        detect_max_side: int = DETECT_MAX_SIDE,
        comparable_ratio: float = COMPARABLE_FACE_RATIO,
    ) -> None:
        self.min_face_px = min_face_px
        self.detect_max_side = detect_max_side
        self.comparable_ratio = comparable_ratio
        self._models = _models()

    def find_face(self, rgb: npt.NDArray[np.uint8]) -> Face:
        """The single clear face of ``rgb`` (H×W×3 uint8 RGB), or a typed refusal."""
        image = _checked_rgb(rgb)
        detections = self._detect_multiscale(image)
        box = select_single_face(
            detections, min_face_px=self.min_face_px, comparable_ratio=self.comparable_ratio
        )
        return Face(box=box, landmarks=self.landmarks_in(image, box))

    def landmarks_in(self, rgb: npt.NDArray[np.uint8], box: Sequence[float]) -> Landmarks:
        """Run the 68-point predictor inside a known ``box`` (full-resolution coordinates)."""
        image = _checked_rgb(rgb)
        with self._models.lock:
            shape = self._models.predictor(image, _to_rect(box))
        points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
        points.setflags(write=False)
        return points

    def embedding(
        self, rgb: npt.NDArray[np.uint8], face: Face | npt.NDArray[np.floating[Any]]
    ) -> npt.NDArray[np.float64]:
        """128-d identity descriptor; Euclidean distance < 0.6 means "same person".

        ``face`` is a :class:`Face` or a (68, 2) landmark array in ``rgb``'s coordinates.
        """
        image = _checked_rgb(rgb)
        points = np.asarray(face.landmarks if isinstance(face, Face) else face, np.float64)
        if points.shape != (N_LANDMARKS, 2):
            raise ValueError(f"expected ({N_LANDMARKS}, 2) landmarks, got {points.shape}")
        rect = _to_rect((*points.min(axis=0), *points.max(axis=0)))
        parts = [dlib.point(round(x), round(y)) for x, y in points]
        shape = dlib.full_object_detection(rect, parts)
        with self._models.lock:
            descriptor = self._models.encoder.compute_face_descriptor(image, shape)
        return np.array(descriptor, dtype=np.float64)

    def detect_all(
        self, rgb: npt.NDArray[np.uint8], upsample: int = 0, *, min_score: float = 0.0
    ) -> list[Box]:
        """Boxes of all HOG detections at ``rgb``'s own resolution, no policy applied.

        Pass ``min_score=CONFIDENT_SCORE`` to drop the weak hits that textures can produce.
        """
        return [d.box for d in self.detect_scored(rgb, upsample) if d.score >= min_score]

    def detect_scored(self, rgb: npt.NDArray[np.uint8], upsample: int = 0) -> list[Detection]:
        """All HOG detections with their scores, strongest first."""
        image = _checked_rgb(rgb)
        with self._models.lock:
            rects, scores, _ = self._models.detector.run(image, upsample, 0.0)
        found = [
            Detection(
                box=(float(r.left()), float(r.top()), float(r.right() + 1), float(r.bottom() + 1)),
                score=float(score),
            )
            for r, score in zip(rects, scores, strict=True)
        ]
        return sorted(found, key=lambda d: d.score, reverse=True)

    def _detect_multiscale(self, image: npt.NDArray[np.uint8]) -> list[Detection]:
        """Detect cheaply first, and spend more time only when nothing confident was found.

        HOG's window is 80 px: on a copy whose longest side is ``detect_max_side`` it finds
        faces from about 80 px there, with one upsampling from about 40 px. Only if that finds
        nothing confident do we scan the full resolution, where faces of ``min_face_px`` show
        up. Without a confident hit anywhere, the first pass with any hit is the answer.
        """
        height, width = image.shape[:2]
        scale = min(1.0, self.detect_max_side / max(height, width))
        small = image
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            small = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
        passes = [(small, 0, scale), (small, 1, scale)]
        # The upsampled copy already had more pixels than the original when scale >= 0.5.
        if scale < 0.5:
            passes.append((image, 0, 1.0))
        fallback: list[Detection] = []
        for source, upsample, factor in passes:
            found = [
                Detection(_scale_box(d.box, 1.0 / factor), d.score)
                for d in self.detect_scored(source, upsample)
            ]
            if any(d.score >= CONFIDENT_SCORE for d in found):
                return found
            fallback = fallback or found
        return fallback


def select_single_face(
    detections: Sequence[Detection],
    *,
    min_face_px: float = DEFAULT_MIN_FACE_PX,
    comparable_ratio: float = COMPARABLE_FACE_RATIO,
    confident_score: float = CONFIDENT_SCORE,
) -> Box:
    """Apply the exactly-one-face rule (module docstring) to detections in original pixels."""
    if not detections:
        raise RenderError(ErrorCode.NO_FACE)
    confident = [d for d in detections if d.score >= confident_score]
    candidates = confident or [max(detections, key=lambda d: d.score)]
    widest = max(candidates, key=lambda d: d.width)
    count = sum(1 for d in candidates if d.width >= comparable_ratio * widest.width)
    if count > 1:
        raise RenderError(ErrorCode.MANY_FACES, count=count)
    if widest.width < min_face_px:
        raise RenderError(ErrorCode.FACE_TOO_SMALL, min_px=int(min_face_px))
    return widest.box


def _scale_box(box: Box, factor: float) -> Box:
    x0, y0, x1, y1 = box
    return (x0 * factor, y0 * factor, x1 * factor, y1 * factor)


def _to_rect(box: Sequence[float]) -> Any:
    # dlib rectangles are inclusive on the right/bottom edge; our boxes are exclusive.
    x0, y0, x1, y1 = (float(v) for v in box)
    return dlib.rectangle(round(x0), round(y0), round(x1) - 1, round(y1) - 1)


def _checked_rgb(rgb: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}")
    # dlib reads the buffer directly and needs it C-contiguous (slices and flips are not).
    return np.ascontiguousarray(rgb)
