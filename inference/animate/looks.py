"""Stylized looks: the framed photo drawn as a cartoon, a pencil sketch or an oil painting.

A note that looks like a photo is the most deceptive kind; a drawn one is honest at a glance.
Each look is fitted once to the framed photo (:func:`fit_look`): the whole picture is stylized
once, before animation, so the ``warp`` animator moves stylized pixels and a frame costs no more
than in the photo look. What a frame draws anew, the inside of an open mouth, goes through the
same look restricted to the mouth's box (:attr:`Look.restyle`), with what was fitted to the
photo (its tones, its paper, its canvas), so teeth and tongue are drawn in the same hand as the
face and a photoreal mouth never sits in a drawn face.

The looks, all plain OpenCV on the CPU (no weights, no network):

* ``cartoon``: the photo smoothed with repeated bilateral filtering, its lightness cut into a
  few flat tones (at the photo's own quantiles, so a dark or a pale photo keeps every tone),
  colours lifted a little, and ink outlines from an adaptive threshold, with specks removed;
* ``sketch``: pencil lines (a colour-dodge of the grey picture by its blurred negative) over
  graphite shading in diagonal hatching, lighter on the face, on warm paper; the shading
  follows the photo's tones equalized, so a dark face is shaded and not lost to white, and
  what is really dark (an open mouth, black hair) is filled in;
* ``painting``: an oil painting: a generalized Kuwahara filter (eight soft sectors, the
  smoothest one wins) makes brush-stroke patches that keep the edges, broad ones made at a
  quarter of the size, the face's at half (a painter works it finer, and its features stay
  readable), then a fine pass over all; the strokes' edges catch the light (impasto), the
  colours are richer and a canvas weave is pressed into the paint.

Parameters are tuned at 640 px and scale with the side, so a 240 px note looks the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from inference.face.framing import FramedPhoto
from inference.provenance import BadgeStyle

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]
Origin = tuple[int, int]
Restyle = Callable[[Image, Origin], Image]
"""Draws a part of a frame (RGB, at ``origin`` in the frame) in the look."""

LOOKS: Final = ("photo", "cartoon", "sketch", "painting")  # the user's choice; photo by default
STYLIZED: Final = LOOKS[1:]

_TUNED_SIDE = 640.0
_SEED = 13  # textures (hatching, paper, canvas) are the same for every note of a size
_IMPASTO = np.array([[-1, -1, 0], [-1, 0, 1], [0, 1, 1]], np.float32)  # light from the upper left


@dataclass(frozen=True, eq=False)
class Look:
    """A look fitted to one framed photo."""

    name: str
    image: Image
    """The framed photo in this look (the photo itself for ``photo``)."""
    restyle: Restyle | None
    """The look for pixels drawn later (None for ``photo``: they stay as drawn)."""
    badge: BadgeStyle


def fit_look(name: str, photo: FramedPhoto) -> Look:
    """Fit the look ``name`` (one of ``LOOKS``) to ``photo`` and stylize it once."""
    if name not in LOOKS:
        raise ValueError(f"look must be one of {LOOKS}, not {name!r}")
    if name == "photo":
        return Look(name, photo.image, None, BadgeStyle())
    style = _STYLES[name](photo)
    return Look(name, style(photo.image, (0, 0)), style, _BADGES[name])


# The "ИИ" badge drawn in each look's hand: an inked caption, a pencilled label, a paint dab.
_BADGES: Final = {
    "cartoon": BadgeStyle(
        pill=(255, 214, 64), pill_alpha=1.0, text=(20, 20, 20), outline=(15, 15, 15)
    ),
    "sketch": BadgeStyle(
        pill=(247, 244, 236), pill_alpha=0.85, text=(58, 58, 62), outline=(70, 70, 74)
    ),
    "painting": BadgeStyle(pill=(92, 36, 30), pill_alpha=0.85, text=(244, 230, 200)),
}


class _Cartoon:
    """Flat tones of the photo's own lightness, colours lifted, ink outlines."""

    _TONES = 5
    _CHROMA = 1.2

    def __init__(self, photo: FramedPhoto) -> None:
        self.scale = photo.image.shape[0] / _TUNED_SIDE
        lightness = cv2.cvtColor(self._smooth(photo.image), cv2.COLOR_RGB2LAB)[::4, ::4, 0]
        # Tone boundaries and values at the photo's quantiles: each tone gets its share of it.
        marks = np.percentile(lightness, np.linspace(0, 100, 2 * self._TONES + 1))
        self.bounds = marks[2:-1:2].astype(np.float32)
        self.tones = marks[1::2].astype(np.float32)

    def __call__(self, image: Image, origin: Origin) -> Image:
        lab = cv2.cvtColor(self._smooth(image), cv2.COLOR_RGB2LAB).astype(np.float32)
        lab[..., 0] = self.tones[np.searchsorted(self.bounds, lab[..., 0])]
        lab[..., 1:] = 128 + (lab[..., 1:] - 128) * self._CHROMA
        flat = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
        flat = cv2.medianBlur(flat, _odd(5 * self.scale))
        return (flat * self._ink(image)[..., None] + 0.5).astype(np.uint8)

    def _smooth(self, image: Image) -> Image:
        h, w = image.shape[:2]
        half = cv2.resize(image, (max(w // 2, 1), max(h // 2, 1)), interpolation=cv2.INTER_AREA)
        diameter = _odd(7 * self.scale)
        for _ in range(8):
            half = cv2.bilateralFilter(half, diameter, 24, 4 * self.scale)
        return np.asarray(cv2.resize(half, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)

    def _ink(self, image: Image) -> FloatArray:
        """1 on paper, 0 on the ink lines, antialiased."""
        grey = cv2.medianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), _odd(7 * self.scale))
        block = _odd(11 * self.scale)
        paper = cv2.adaptiveThreshold(
            grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 5
        )
        # Specks are texture (skin pores, fabric), not outlines.
        _, labels, stats, _ = cv2.connectedComponentsWithStats(255 - paper, connectivity=8)
        keep = stats[:, cv2.CC_STAT_AREA] >= max(40 * self.scale**2, 6)
        keep[0] = False
        paper = np.where(keep[labels], 0, 255).astype(np.uint8)
        return np.asarray(cv2.GaussianBlur(paper, (3, 3), 0), np.float32) * np.float32(1 / 255)


class _Sketch:
    """Pencil lines over hatched graphite shading, on paper."""

    _PAPER_RGB = np.array([0.98, 0.97, 0.94], np.float32)

    def __init__(self, photo: FramedPhoto) -> None:
        height, width = photo.image.shape[:2]
        self.scale = height / _TUNED_SIDE
        # The shading follows the photo's tones equalized: a dark face is shaded, not lost.
        tone = self._tone_source(photo.image).astype(np.uint8)
        cdf = np.cumsum(np.bincount(tone.ravel(), minlength=256)).astype(np.float32)
        self.tone_curve = (cdf - cdf[0]) / max(float(cdf[-1] - cdf[0]), 1.0)
        hatch, self.paper = _pencil_textures(height, width)
        # Lighter hatching on the face, as a portrait is drawn: its features carry it.
        self.hatch = hatch * (1 - 0.5 * _face_mask(photo, 8 * self.scale))

    def _tone_source(self, image: Image) -> FloatArray:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return np.asarray(cv2.GaussianBlur(grey, (0, 0), 3 * self.scale), np.float32)

    def __call__(self, image: Image, origin: Origin) -> Image:
        grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        grey = np.asarray(cv2.GaussianBlur(grey, (0, 0), 0.8 * self.scale), np.float32)
        negative = cv2.GaussianBlur(255 - grey, (0, 0), 6 * self.scale)
        lines = np.clip(grey / (256 - negative), 0, 1) ** 2.5  # the colour dodge
        source = self._tone_source(image)
        tone = self.tone_curve[np.clip(source, 0, 255).astype(np.uint8)]
        window = _window(origin, image.shape)
        hatch = np.clip(0.75 + 0.25 * self.hatch[window], 0, 1.5)
        shade = 1 - 0.45 * (1 - tone) ** 1.3 * hatch
        # What is really dark (an open mouth, black hair) is filled in, as a pencil would:
        # the dodge alone whitens every flat area, however dark.
        shade *= 0.3 + 0.7 * np.clip(grey / 64, 0, 1) ** 0.7
        grey_out = np.clip(lines * shade * self.paper[window], 0, 1)
        return (grey_out[..., None] * self._PAPER_RGB * 255 + 0.5).astype(np.uint8)


class _Painting:
    """Oil paint: brush-stroke patches that keep the edges, richer colours, canvas weave."""

    def __init__(self, photo: FramedPhoto) -> None:
        height, width = photo.image.shape[:2]
        self.scale = height / _TUNED_SIDE
        self.canvas = _canvas(height, width)
        self.face = _face_mask(photo, 8 * self.scale)

    def __call__(self, image: Image, origin: Origin) -> Image:
        window = _window(origin, image.shape)
        broad = _strokes(image, 4, max(round(3 * self.scale), 2))
        # The face gets a finer brush: painted, with its features still readable.
        fine = _strokes(image, 2, max(round(3 * self.scale), 2))
        face = self.face[window][..., None]
        strokes = (broad + (fine - broad) * face + 0.5).astype(np.uint8)
        paint = _kuwahara(strokes, max(round(3 * self.scale), 2)).astype(np.float32)
        # Impasto: the strokes' edges catch the light from the upper left.
        lightness = cv2.cvtColor(np.clip(paint, 0, 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
        lightness = cv2.GaussianBlur(lightness.astype(np.float32), (0, 0), self.scale)
        relief = cv2.filter2D(lightness, -1, _IMPASTO, borderType=cv2.BORDER_REFLECT)
        paint *= (1 + 0.2 * np.clip(relief / 40, -1, 1) + self.canvas[window])[..., None]
        hsv = cv2.cvtColor(np.clip(paint, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV)
        hsv[..., 1] = np.clip(hsv[..., 1].astype(np.float32) * 1.35, 0, 255).astype(np.uint8)
        return np.asarray(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), np.uint8)


def _strokes(image: Image, shrink: int, radius: int) -> FloatArray:
    """Kuwahara patches made at 1/``shrink`` of the size: brush strokes ``shrink`` times as
    broad as ``radius``, brought back to the full size."""
    h, w = image.shape[:2]
    small = cv2.resize(
        image, (max(w // shrink, 1), max(h // shrink, 1)), interpolation=cv2.INTER_AREA
    )
    patches = _kuwahara(np.asarray(small, np.uint8), radius)
    return np.asarray(cv2.resize(patches, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)


def _face_mask(photo: FramedPhoto, feather: float) -> FloatArray:
    """1 inside the jaw line and the brows, 0 outside, feathered by ``feather`` px."""
    face = np.zeros(photo.image.shape[:2], np.uint8)
    outline = np.round(np.asarray(photo.landmarks, np.float32)[:27]).astype(np.int32)
    cv2.fillConvexPoly(face, cv2.convexHull(outline), 255)
    return np.asarray(cv2.GaussianBlur(face.astype(np.float32) / 255, (0, 0), feather))


_STYLES: Final[dict[str, Callable[[FramedPhoto], Restyle]]] = {
    "cartoon": _Cartoon,
    "sketch": _Sketch,
    "painting": _Painting,
}


def _kuwahara(image: Image, radius: int, sectors: int = 8) -> Image:
    """The generalized Kuwahara filter: each pixel takes the mean of the neighbouring sectors,
    weighted by how little their colours vary (soft sectors), which flattens texture into
    patches and keeps edges."""
    f = image.astype(np.float32) * np.float32(1 / 255)
    squares = f * f
    total = np.zeros_like(f)
    weight = np.zeros(f.shape[:2], np.float32)
    spread_scale = np.float32((255 / 8) ** 2)  # spreads in units of 8 levels
    channels = np.ones((1, 3), np.float32)
    for kernel in _sector_kernels(radius, sectors):
        mean = cv2.filter2D(f, -1, kernel, borderType=cv2.BORDER_REFLECT)
        variance = cv2.filter2D(squares, -1, kernel, borderType=cv2.BORDER_REFLECT) - mean * mean
        spread = np.maximum(cv2.transform(variance, channels), 0) * spread_scale
        spread *= spread
        spread *= spread  # the spread to the 8th power: the smoothest sector all but wins
        w = 1.0 / (np.float32(1e-3) + spread)
        total += mean * w[..., None]
        weight += w
    return np.clip(total / weight[..., None] * 255 + 0.5, 0, 255).astype(np.uint8)


@cache
def _sector_kernels(radius: int, sectors: int) -> tuple[FloatArray, ...]:
    ys, xs = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float32)
    angle = np.arctan2(ys, xs)
    distance = np.hypot(xs, ys)
    falloff = np.exp(-(distance**2) / (2 * (radius / 2) ** 2)) * (distance <= radius)
    kernels = []
    for i in range(sectors):
        middle = -np.pi + (i + 0.5) * 2 * np.pi / sectors
        off = np.angle(np.exp(1j * (angle - middle)))
        kernel = (np.exp(-((off / (np.pi / sectors * 0.75)) ** 2)) * falloff).astype(np.float32)
        kernel[radius, radius] = falloff[radius, radius] / sectors  # the centre, shared
        kernels.append(kernel / kernel.sum())
    return tuple(kernels)


@cache
def _pencil_textures(height: int, width: int) -> tuple[FloatArray, FloatArray]:
    """Diagonal hatching strokes (zero mean, unit spread) and the paper's grain (near 1)."""
    rng = np.random.default_rng(_SEED)
    stroke = np.fliplr(np.eye(15, dtype=np.float32)) / 15
    hatch = cv2.filter2D(rng.random((height, width), np.float32), -1, stroke)
    hatch = (hatch - hatch.mean()) / max(float(hatch.std()), 1e-6)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 1.5)
    paper = 1 - 0.03 * grain / max(float(grain.std()), 1e-6)
    return hatch.astype(np.float32), paper.astype(np.float32)


@cache
def _canvas(height: int, width: int) -> FloatArray:
    """The canvas weave as a relative brightness change (about ±5 %): embossed noise."""
    rng = np.random.default_rng(_SEED)
    grain = 1.5 * height / _TUNED_SIDE
    weave = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), grain)
    emboss = np.array([[-1, 0, 0], [0, 0, 0], [0, 0, 1]], np.float32)
    relief = cv2.filter2D(weave, -1, emboss)
    return (0.05 * relief / max(float(relief.std()), 1e-6)).astype(np.float32)


def _window(origin: Origin, shape: tuple[int, ...]) -> tuple[slice, slice]:
    x0, y0 = origin
    return slice(y0, y0 + shape[0]), slice(x0, x0 + shape[1])


def _odd(size: float) -> int:
    """An odd kernel size near ``size``, at least 3."""
    return max(round(size) | 1, 3)
