"""The inside of an open mouth: a dark cavity, the upper teeth, a hint of the lower ones.

Drawn into the gap between the lips after the warp. Colours follow the photo's lighting so the
interior does not glow on a dark photo or look like a hole on a bright one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]

_CAVITY_DEEP = np.array([22, 7, 9], np.float32)
_CAVITY_EDGE = np.array([70, 26, 30], np.float32)
_TONGUE = np.array([150, 62, 66], np.float32)
_TEETH = np.array([232, 226, 212], np.float32)
_SUBPIXEL = 3  # fillPoly works in 1/8 px


@dataclass(frozen=True)
class MouthStyle:
    mouth_width: float
    brightness: float  # the photo's lip-area luminance against a well-lit reference
    paint_teeth: bool  # the photo shows none, so the animator supplies the upper row


def style_for(image: Image, lips: FloatArray, mouth_width: float, closed: bool) -> MouthStyle:
    x0, y0 = np.floor(lips.min(axis=0)).astype(int)
    x1, y1 = np.ceil(lips.max(axis=0)).astype(int)
    patch = image[max(y0, 0) : max(y1, 1), max(x0, 0) : max(x1, 1)]
    luminance = float(cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).mean()) if patch.size else 140.0
    return MouthStyle(mouth_width, float(np.clip(luminance / 140.0, 0.45, 1.15)), closed)


def paint_mouth(canvas: Image, top: FloatArray, bottom: FloatArray, style: MouthStyle) -> None:
    """Fill the gap between ``top`` and ``bottom`` (same length, corner to corner) in place."""
    gaps = np.linalg.norm(bottom - top, axis=1)
    if gaps.max() < 0.6:
        return
    outline = np.concatenate([top, bottom[::-1]])
    x0, y0 = np.floor(outline.min(axis=0)).astype(int) - 3
    x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + 4
    h, w = canvas.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return
    origin = np.array([x0, y0], np.float32)
    shape = (y1 - y0, x1 - x0)
    alpha = _polygon_mask(shape, outline - origin)
    sigma = max(0.5, style.mouth_width / 160)
    alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), sigma), np.float32)

    colour = _cavity(shape, outline - origin)
    if style.paint_teeth:
        # A barely parted mouth shows shadow, not teeth: the band grows in with the gap.
        emerging = np.clip((gaps - 0.03 * style.mouth_width) / (0.06 * style.mouth_width), 0, 1)
        height = np.minimum(gaps * 0.4, 0.075 * style.mouth_width) * emerging
        upper = _band(shape, top - origin, bottom - origin, height)
        colour = _over(colour, _TEETH * _corner_shade(shape, top - origin), upper)
    tongue_height = np.clip(gaps - 0.08 * style.mouth_width, 0, None) * 0.35
    if tongue_height.max() > 0.5:
        tongue = _band(shape, bottom - origin, top - origin, tongue_height, taper_power=1.5)
        colour = _over(colour, _TONGUE, cv2.GaussianBlur(tongue, (0, 0), 1.5) * 0.55)
    colour *= style.brightness
    patch = canvas[y0:y1, x0:x1].astype(np.float32)
    blended = patch + (colour - patch) * alpha[..., None]
    canvas[y0:y1, x0:x1] = np.clip(blended, 0, 255).astype(np.uint8)


def _polygon_mask(shape: tuple[int, int], outline: FloatArray) -> FloatArray:
    mask = np.zeros(shape, np.uint8)
    points = np.round(outline * (1 << _SUBPIXEL)).astype(np.int32)
    cv2.fillPoly(mask, [points], 255, lineType=cv2.LINE_AA, shift=_SUBPIXEL)
    return mask.astype(np.float32) / 255.0


def _cavity(shape: tuple[int, int], outline: FloatArray) -> FloatArray:
    """Darkest at the back of the mouth, warmer toward the lips."""
    centre = outline.mean(axis=0)
    half = np.maximum((outline.max(axis=0) - outline.min(axis=0)) / 2, 1.0)
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    distance = np.sqrt(((xs - centre[0]) / half[0]) ** 2 + ((ys - centre[1]) / half[1]) ** 2)
    depth = np.clip(1.0 - distance, 0.0, 1.0)[..., None]
    return _CAVITY_EDGE + (_CAVITY_DEEP - _CAVITY_EDGE) * depth


def _band(
    shape: tuple[int, int],
    edge: FloatArray,
    toward: FloatArray,
    height: FloatArray,
    taper_power: float = 0.6,
) -> FloatArray:
    """A band along ``edge``, ``height`` px toward the opposite lip, thin at the corners."""
    t = np.linspace(0.0, 1.0, len(edge), dtype=np.float32)
    taper = np.clip(np.sin(np.pi * t), 0.0, 1.0) ** taper_power
    direction = toward - edge
    length = np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-3)
    inner = edge + direction / length * (height * taper)[:, None]
    return _polygon_mask(shape, np.concatenate([edge, inner[::-1]]))


def _corner_shade(shape: tuple[int, int], top: FloatArray) -> FloatArray:
    """Teeth darken toward the corners, where they turn away from the light."""
    xs = np.arange(shape[1], dtype=np.float32)
    left, right = float(top[:, 0].min()), float(top[:, 0].max())
    centre, half = (left + right) / 2, max((right - left) / 2, 1.0)
    shade = 1.0 - 0.35 * np.clip(np.abs(xs - centre) / half, 0, 1) ** 2
    return np.broadcast_to(shade[None, :, None], (*shape, 1)).astype(np.float32)


def _over(base: FloatArray, colour: FloatArray, alpha: FloatArray) -> FloatArray:
    return base + (colour - base) * alpha[..., None]
