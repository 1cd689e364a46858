"""Round-safe square framing of a portrait for a circular video note.

Telegram shows a video note as the circle inscribed in the square frame, so the face has to
sit in the middle with margin on every side. :func:`plan_crop` is the pure geometry (which
square of the photo to take), :func:`frame_square` cuts and resizes it.

The rule:

* centre: horizontally the midpoint of the two eye centres, vertically the middle between
  the top of the brows and the chin;
* size: the head height (brows to chin, plus an estimated forehead of half that) fills
  about 52 % of the side, and every landmark stays within 0.40 of the side from the centre
  (the inscribed circle has radius 0.5), so chin and forehead are never clipped by the round
  mask and there is room for the jaw to move when the mouth opens;
* a crop that runs past the photo's edge is first shifted (up to 5 % of the side, so the face
  stays visibly centred) and shrunk (the head may grow to 70 % of the side) to fit inside the
  photo: a tightly cut portrait fills more of the circle rather than gaining invented
  background. Only if that is impossible is the photo extended, and never with a copy of
  itself: a mirrored band puts a second ear, doubled shoulders or a floating tuft of hair into
  the circle. Inpainting carries the colours at the photo's edge outward instead, and the
  invented band is blurred more the deeper it lies, like background out of focus. (Repeating
  the edge pixels would smear visible streaks; a black band would look like a broken frame.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from inference.face.analyzer import Face, Landmarks

DEFAULT_SIZE: Final = 640
TARGET_HEAD_FRACTION: Final = 0.525
MAX_HEAD_FRACTION: Final = 0.70
FOREHEAD_RATIO: Final = 0.5
LANDMARK_RADIUS: Final = 0.40
MAX_SHIFT: Final = 0.05
# Enlarging more than this makes faces visibly soft; a mild unsharp mask compensates.
SHARPEN_ABOVE_SCALE: Final = 1.3

_RIGHT_EYE: Final = slice(36, 42)  # the subject's right eye, image left
_LEFT_EYE: Final = slice(42, 48)
_BROW_TOPS: Final = (19, 24)
_CHIN: Final = 8


@dataclass(frozen=True, eq=False)
class FramedPhoto:
    """The square photo the animator works on; ``landmarks`` are in its pixel coordinates."""

    image: npt.NDArray[np.uint8]
    landmarks: Landmarks
    scale: float
    """Output pixels per original pixel."""


@dataclass(frozen=True)
class CropPlan:
    """A square ``side`` × ``side`` window of the photo at ``(x0, y0)``, in photo pixels.

    It may reach past the photo's edges; :func:`frame_square` invents that part as soft
    background.
    """

    x0: float
    y0: float
    side: float

    def fits_inside(self, width: int, height: int) -> bool:
        eps = 1e-6
        return (
            self.x0 >= -eps
            and self.y0 >= -eps
            and self.x0 + self.side <= width + eps
            and self.y0 + self.side <= height + eps
        )


def face_centre(landmarks: npt.NDArray[np.floating]) -> tuple[float, float]:
    """The point the framing centres: between the eyes horizontally, mid brow-chin vertically."""
    lm = np.asarray(landmarks, dtype=np.float64)
    eyes_x = (lm[_RIGHT_EYE, 0].mean() + lm[_LEFT_EYE, 0].mean()) / 2.0
    brow_top = min(lm[i, 1] for i in _BROW_TOPS)
    return float(eyes_x), float((brow_top + lm[_CHIN, 1]) / 2.0)


def head_height(landmarks: npt.NDArray[np.floating]) -> float:
    """Brows-to-chin distance plus the forehead above the brows that dlib does not mark."""
    lm = np.asarray(landmarks, dtype=np.float64)
    brow_top = min(lm[i, 1] for i in _BROW_TOPS)
    return float((lm[_CHIN, 1] - brow_top) * (1.0 + FOREHEAD_RATIO))


def plan_crop(landmarks: npt.NDArray[np.floating], width: int, height: int) -> CropPlan:
    """Choose the square window of a ``width`` × ``height`` photo (rule in the module doc)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    centre = np.array(face_centre(lm))
    head = max(head_height(lm), 1.0)

    def reach(c: npt.NDArray[np.float64]) -> float:
        return float(np.max(np.hypot(*(lm - c).T)))

    # The landmark spread can demand more room than the head height (a turned or tilted
    # head), so both limits apply to the largest and the smallest allowed window.
    by_landmarks = reach(centre) / LANDMARK_RADIUS
    biggest = max(head / TARGET_HEAD_FRACTION, by_landmarks)
    smallest = max(head / MAX_HEAD_FRACTION, by_landmarks)

    def inward(side: float) -> npt.NDArray[np.float64]:
        """The nearest centre whose window lies inside the photo (middle if it cannot)."""
        half = side / 2.0
        lo, hi = np.array([half, half]), np.array([width - half, height - half])
        return np.where(lo <= hi, np.clip(centre, lo, hi), np.array([width, height]) / 2.0)

    def acceptable(c: npt.NDArray[np.float64], side: float) -> bool:
        shift = float(np.hypot(*(c - centre)))
        return shift <= MAX_SHIFT * side + 1e-9 and reach(c) <= LANDMARK_RADIUS * side + 1e-9

    # Largest window first: the face at its intended size if at all possible.
    for side in np.geomspace(biggest, smallest, num=12 if biggest > smallest else 1):
        c = inward(side)
        plan = CropPlan(x0=c[0] - side / 2.0, y0=c[1] - side / 2.0, side=float(side))
        if acceptable(c, side) and plan.fits_inside(width, height):
            return plan

    # Padding is unavoidable. The smallest window needs the least of it; move it inwards as
    # far as the centring and circle limits allow, trying shorter moves until one is allowed.
    side = smallest
    move = inward(side) - centre
    limit = MAX_SHIFT * side / max(float(np.hypot(*move)), 1e-9)
    for t in np.linspace(min(1.0, limit), 0.0, num=9):
        c = centre + move * t
        if acceptable(c, side):
            break
    else:
        c = centre
    return CropPlan(x0=float(c[0] - side / 2.0), y0=float(c[1] - side / 2.0), side=float(side))


def frame_square(rgb: npt.NDArray[np.uint8], face: Face, size: int = DEFAULT_SIZE) -> FramedPhoto:
    """Cut the round-safe square around ``face`` out of ``rgb`` and resize it to ``size``."""
    if size < 16:
        raise ValueError(f"frame size {size} is too small")
    height, width = rgb.shape[:2]
    plan = plan_crop(face.landmarks, width, height)
    side = max(1, round(plan.side))
    x0, y0 = round(plan.x0), round(plan.y0)

    crop, pads = _crop_padded(rgb, x0, y0, side)
    scale = size / side
    if scale < 1.0:
        image = _u8(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA))
    else:
        image = _u8(cv2.resize(crop, (size, size), interpolation=cv2.INTER_LANCZOS4))
        if scale > SHARPEN_ABOVE_SCALE:
            image = _unsharp(image, scale)
    if any(pads):
        image = _extend_background(image, tuple(p * scale for p in pads))

    # Pixel centres map as (x + 0.5) * scale - 0.5, exactly as cv2.resize samples them.
    offset = np.array([x0, y0], dtype=np.float64)
    landmarks = ((np.asarray(face.landmarks, np.float64) - offset + 0.5) * scale - 0.5).astype(
        np.float32
    )
    landmarks.setflags(write=False)
    return FramedPhoto(image=np.ascontiguousarray(image), landmarks=landmarks, scale=scale)


def _crop_padded(
    rgb: npt.NDArray[np.uint8], x0: int, y0: int, side: int
) -> tuple[npt.NDArray[np.uint8], tuple[int, int, int, int]]:
    """The window ``side`` px square at ``(x0, y0)``; parts outside the photo repeat its edge.

    The repeated edge only keeps the resize's filter honest at the photo's border (it is what
    the filter assumes there anyway); :func:`_extend_background` replaces it. Returns the crop
    and how many pixels were invented on each side (top, bottom, left, right).
    """
    height, width = rgb.shape[:2]
    sx0, sy0 = min(max(x0, 0), width - 1), min(max(y0, 0), height - 1)
    sx1, sy1 = max(min(x0 + side, width), sx0 + 1), max(min(y0 + side, height), sy0 + 1)
    top, left = sy0 - y0, sx0 - x0
    bottom, right = side - top - (sy1 - sy0), side - left - (sx1 - sx0)
    pads = (max(top, 0), max(bottom, 0), max(left, 0), max(right, 0))
    inside = rgb[sy0:sy1, sx0:sx1]
    if not any(pads):
        return np.ascontiguousarray(inside), pads
    return _u8(cv2.copyMakeBorder(inside, *pads, borderType=cv2.BORDER_REPLICATE)), pads


def _unsharp(image: npt.NDArray[np.uint8], scale: float) -> npt.NDArray[np.uint8]:
    """Mild unsharp mask; the radius follows the enlargement, capped to avoid halos."""
    sigma = float(np.clip(0.5 * scale, 0.8, 2.0))
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    return _u8(cv2.addWeighted(image, 1.5, blurred, -0.5, 0))


_FILL_FACTOR: Final = 4  # the fill is invented at a quarter of the size: fast, and soft anyway
_RAMP: Final = 0.012  # of the side: the blend from the photo's edge into the invented fill
# Blur of the fill (sigma, of the side) reached at each depth into the band (of the side).
_BLUR_SIGMAS: Final = (0.015, 0.04, 0.10)
_BLUR_DEPTHS: Final = (0.03, 0.08, 0.20)


def _extend_background(
    image: npt.NDArray[np.uint8], pads: tuple[float, ...]
) -> npt.NDArray[np.uint8]:
    """Invent the bands (``pads``: top, bottom, left, right, in pixels) as soft background.

    Inpainting carries the colours at the photo's edge outward without copying any of its
    shapes (a mirror would put a second ear, a doubled shoulder or a floating blob of hair in
    the circle); the fill is then blurred more the deeper it lies, like background falling
    out of focus, so the streaks inpainting draws dissolve into colour. The real photo's
    pixels stay untouched; the band starts from the photo's edge colour and blends into the
    fill over a short ramp, so there is no seam.
    """
    size = image.shape[0]
    small_side = max(8, size // _FILL_FACTOR)
    small = _u8(cv2.resize(image, (small_side, small_side), interpolation=cv2.INTER_AREA))
    small_depth = _band_depth(small_side, tuple(p * small_side / size for p in pads))
    # Small pixels straddling the edge average photo and repeated edge: both the edge's colour.
    holes = (small_depth >= 0.5).astype(np.uint8)
    filled = _u8(cv2.inpaint(small, holes, 3, cv2.INPAINT_TELEA))

    # Blur only within the bands: averaging in the photo beside them would drag its shapes
    # (an eye, a collar) into the fill.
    inside = holes.astype(np.float32)
    levels = [filled.astype(np.float32)]
    for sigma in _BLUR_SIGMAS:
        weight = cv2.GaussianBlur(inside, (0, 0), sigma * small_side)[:, :, None]
        total = cv2.GaussianBlur(levels[0] * inside[:, :, None], (0, 0), sigma * small_side)
        # Far from any hole (all of a band thinner than a small pixel) the weights vanish; a
        # faint share of the unblurred fill keeps the result defined there.
        levels.append((total + 1e-3 * levels[0]) / (weight + 1e-3))
    # Each depth's place on the blur levels, fractional between two of them.
    stops = [0.0, *(d * small_side for d in _BLUR_DEPTHS)]
    level = np.interp(small_depth, stops, np.arange(len(levels))).astype(np.float32)[:, :, None]
    blended = levels[0]
    for i, blurred in enumerate(levels[1:]):
        blended = blended + (blurred - blended) * np.clip(level - i, 0.0, 1.0)
    fill = _u8(np.clip(blended + 0.5, 0, 255))
    fill = _u8(cv2.resize(fill, (size, size), interpolation=cv2.INTER_LINEAR))

    near = np.clip(_band_depth(size, pads) / max(2.0, _RAMP * size), 0.0, 1.0)
    # Where ``near`` is 0 (the whole photo) this returns the photo's own pixels exactly.
    return _u8(cv2.blendLinear(image, fill, 1.0 - near, near))


def _band_depth(size: int, pads: tuple[float, ...]) -> npt.NDArray[np.float32]:
    """Per pixel, how far its centre lies inside the invented bands (negative in the photo)."""
    top, bottom, left, right = pads
    coords = np.arange(size, dtype=np.float32) + 0.5
    rows = np.maximum(top - coords, coords - (size - bottom))
    cols = np.maximum(left - coords, coords - (size - right))
    return np.maximum(rows[:, None], cols[None, :])


def _u8(array: object) -> npt.NDArray[np.uint8]:
    """Pin OpenCV's loosely typed results (and float math) to uint8 for the type checker."""
    return np.asarray(array).astype(np.uint8, copy=False)
