"""The inside of an open mouth: teeth in two rows along the arch, gums, tongue, a dark throat.

Drawn once per photo as three layers in the photo's coordinates, around the line where the
lips meet at rest (``FaceRig.meeting``):

* ``upper``: gums and the upper teeth, fixed to the skull. A photo that shows its own teeth
  lends them to this layer, so they stay the photo's;
* ``lower``: the lower teeth and the tongue behind them, fixed to the jaw (they move down as
  the mouth opens, and rise out of sight behind the upper row as it closes);
* ``cavity``: the dark back of the mouth.

Per frame the layers are moved with the skull and the jaw, stacked, shaded by the lips'
shadow and blended into the gap between the warped lips with an anti-aliased edge, so only
the opening changes, never the lips' own pixels. Colours, sharpness and grain follow the photo:
dim photos get dim teeth, soft paintings soft ones. In a stylized look (``looks.py``) the
opening is drawn through the look too, with a margin of the face around it for context, so
the teeth are inked, pencilled or painted like the rest.

Teeth sizes are in millimetres of an average adult mouth (50 mm corner to corner), projected
onto the picture plane: teeth toward the corners turn away, so they look narrower and darker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from inference.animate.rig import FaceRig

FloatArray = npt.NDArray[np.floating[Any]]
Image = npt.NDArray[np.uint8]

_MOUTH_MM = 50.0
# Projected boundaries (mm from the midline) and heights of the visible teeth, front to back.
_UPPER_EDGES = np.array([0.0, 8.3, 14.2, 19.0, 22.3, 24.6, 27.5, 30.5], np.float32)
_UPPER_HEIGHTS = np.array([10.5, 9.0, 10.0, 8.0, 7.5, 7.0, 6.5], np.float32)
_LOWER_EDGES = np.array([0.0, 5.2, 10.6, 15.5, 19.2, 22.0, 25.0, 28.0], np.float32)
_LOWER_HEIGHTS = np.array([9.0, 9.5, 10.5, 8.0, 8.0, 7.0, 7.0], np.float32)
_UPPER_EDGE_MM = 1.8  # upper incisal edge below the meeting line: hidden by closed lips
_LOWER_EDGE_MM = 0.4  # lower incisal edge at rest: just behind the upper row
_NEUTRAL_TEETH = np.array([236, 229, 214], np.float32)
_SUBPIXEL = 3  # fillPoly works in 1/8 px
_CONTEXT = 0.15  # of the mouth width: the face around the opening a look sees it in
Restyle = Callable[[Image, tuple[int, int]], Image]  # ``looks.Restyle``


@dataclass(frozen=True)
class MouthInterior:
    """One photo's mouth layers (window-sized, premultiplied RGBA) and where they sit."""

    x0: int
    y0: int
    upper: FloatArray  # (h, w, 4) gums and upper teeth, skull-fixed
    lower: FloatArray  # (h, w, 4) tongue and lower teeth, jaw-fixed
    cavity: FloatArray  # (h, w, 3)
    corner_shade: FloatArray  # (h, w) the opening darkens toward the corners
    skull: FloatArray  # (3, 2) the rig's skull points, window coordinates
    down: FloatArray  # (2,) the face's downward axis
    mouth_width: float
    restyle: Restyle | None = None  # the photo's look, for the drawn opening


def build_interior(image: Image, rig: FaceRig, restyle: Restyle | None = None) -> MouthInterior:
    """The mouth's layers, coloured after the photo ``image``; ``restyle`` is the look the
    frames are drawn in, which each frame's opening then goes through."""
    mw = rig.mouth_width
    ax, ay = _axes(rig)
    meeting = rig.meeting
    x0 = int(np.floor(meeting[:, 0].min() - 0.12 * mw))
    x1 = int(np.ceil(meeting[:, 0].max() + 0.12 * mw))
    y0 = int(np.floor(meeting[:, 1].min() - 0.45 * mw))
    y1 = int(np.ceil(meeting[:, 1].max() + rig.jaw_drop + 0.45 * mw))
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    origin = np.array([x0, y0], np.float32)
    centre = meeting[len(meeting) // 2]
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    u = (xs - centre[0]) * ax[0] + (ys - centre[1]) * ax[1]
    v = (xs - centre[0]) * ay[0] + (ys - centre[1]) * ay[1]
    mu = (meeting - centre) @ ax
    mv = (meeting - centre) @ ay
    order = np.argsort(mu)
    rest = np.interp(u, mu[order], mv[order]).astype(np.float32)  # meeting line under each px
    half = mw / 2
    mm = mw / _MOUTH_MM
    spread = np.clip(np.abs(u) / half, 0.0, 1.5)

    palette = _palette(image, rig)
    upper_edge = rest + _UPPER_EDGE_MM * mm - 1.5 * mm * spread**2
    if rig.shows_teeth:
        # The photo's own upper row ends about where its lower lip is.
        upper_edge = rest + 0.4 * rig.photo_gap - 1.5 * mm * spread**2
    upper = _upper_layer(u, v, upper_edge, mm, palette)
    # The lower incisors sit behind the upper ones by a normal overbite, wherever the upper
    # row ends, so as the jaw drops they appear under a dark gap, not as a longer tooth.
    overbite = (_UPPER_EDGE_MM - _LOWER_EDGE_MM) * mm
    lower_edge = upper_edge - overbite + 2.7 * mm * spread**2
    lower = _lower_layer(u, v, lower_edge, mm, palette)
    if rig.shows_teeth:
        upper = _with_photo_teeth(upper, image, rig, origin, v, upper_edge)

    depth = np.clip(spread, 0.0, 1.0)[..., None]
    cavity = palette.throat + (palette.cavity_edge - palette.throat) * depth**1.5
    softness, grain = _texture(image, rig)
    upper, lower = (
        _finish(layer, softness, grain, seed) for seed, layer in enumerate((upper, lower))
    )
    return MouthInterior(
        x0=x0,
        y0=y0,
        upper=upper,
        lower=lower,
        cavity=cavity.astype(np.float32),
        corner_shade=(1.0 - 0.55 * np.clip((spread - 0.55) / 0.45, 0.0, 1.0) ** 1.5).astype(
            np.float32
        ),
        skull=(rig.skull.points - origin).astype(np.float32),
        down=ay,
        mouth_width=mw,
        restyle=restyle,
    )


def paint_mouth(
    canvas: Image,
    top: FloatArray,
    bottom: FloatArray,
    skull: FloatArray,
    jaw: float,
    interior: MouthInterior,
) -> None:
    """Fill the gap between ``top`` and ``bottom`` (inner lips, corner to corner) in place.

    ``skull`` is where the rig's three skull points are in this frame, ``jaw`` how far (px)
    the jaw has dropped.
    """
    # Lips closer than a pixel, or overlapping (closing with a margin), meet: nothing shows
    # between them, not even a hairline, so the outline ends where the lips part.
    gap = np.clip((bottom - top) @ interior.down - 1.0, 0.0, None)
    parted = np.flatnonzero(gap > 0.25)
    if len(parted) == 0:
        return
    ends = slice(max(parted[0] - 1, 0), parted[-1] + 2)
    middle = (top + bottom)[ends] / 2
    half = (gap[ends] / 2)[:, None] * interior.down
    top, bottom = middle - half, middle + half
    origin = np.array([interior.x0, interior.y0], np.float32)
    h, w = interior.cavity.shape[:2]
    outline = np.concatenate([top, bottom[::-1]]) - origin
    bx0, by0 = np.maximum(np.floor(outline.min(axis=0)).astype(int) - 1, 0)
    bx1, by1 = np.minimum(np.ceil(outline.max(axis=0)).astype(int) + 2, (w, h))
    if bx1 <= bx0 or by1 <= by0:
        return
    box = (slice(by0, by1), slice(bx0, bx1))
    alpha = _polygon_mask((h, w), outline)[box]

    skull_move = np.asarray(
        cv2.getAffineTransform(interior.skull, (skull - origin).astype(np.float32)), np.float64
    )
    jaw_move = skull_move.copy()
    jaw_move[:, 2] += interior.down * jaw
    upper = _moved(interior.upper, skull_move)[box]
    lower = _moved(interior.lower, jaw_move)[box]
    colour = interior.cavity[box] * (1.0 - lower[..., 3:]) + lower[..., :3]
    colour = colour * (1.0 - upper[..., 3:]) + upper[..., :3]

    # The upper lip shades the top of the opening: a barely parted mouth looks dark inside.
    xs = np.arange(bx0, bx1, dtype=np.float32)
    lip = top - origin
    lip_y = np.interp(xs, lip[:, 0], lip[:, 1]).astype(np.float32)
    below_lip = np.arange(by0, by1, dtype=np.float32)[:, None] - lip_y[None, :]
    reach = 0.05 * interior.mouth_width
    shade = 1.0 - 0.4 * np.exp(-np.maximum(below_lip, 0.0) / reach)
    colour *= (shade * interior.corner_shade[box])[..., None]

    x0, y0 = interior.x0 + bx0, interior.y0 + by0
    window = (slice(y0, y0 + (by1 - by0)), slice(x0, x0 + (bx1 - bx0)))
    patch = canvas[window].astype(np.float32)
    blended = patch + (colour - patch) * alpha[..., None]
    drawn = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    if interior.restyle is not None:
        drawn = _restyled(canvas, window, drawn, interior)
        drawn = (patch + (drawn - patch) * alpha[..., None] + 0.5).astype(np.uint8)
    canvas[window] = drawn


def _restyled(
    canvas: Image, window: tuple[slice, slice], drawn: Image, interior: MouthInterior
) -> Image:
    """``drawn`` (the opening painted over ``canvas[window]``) through the photo's look, seen
    with a margin of the face around it, as the look saw the whole photo."""
    assert interior.restyle is not None
    margin = int(np.ceil(_CONTEXT * interior.mouth_width))
    rows, cols = window
    y0, x0 = max(rows.start - margin, 0), max(cols.start - margin, 0)
    y1, x1 = min(rows.stop + margin, canvas.shape[0]), min(cols.stop + margin, canvas.shape[1])
    around = canvas[y0:y1, x0:x1].copy()
    inner = (slice(rows.start - y0, rows.stop - y0), slice(cols.start - x0, cols.stop - x0))
    around[inner] = drawn
    return interior.restyle(around, (x0, y0))[inner]


@dataclass(frozen=True)
class _Palette:
    teeth: FloatArray
    gum: FloatArray
    tongue: FloatArray
    throat: FloatArray
    cavity_edge: FloatArray


def _palette(image: Image, rig: FaceRig) -> _Palette:
    """Colours of the mouth's inside, lit like the photo's lips and skin."""
    mw = rig.mouth_width
    lips = np.concatenate([rig.top.points[slice(*rig.lip_span)], rig.meeting])
    x0, y0 = np.floor(lips.min(axis=0) - np.array([0, 0.15 * mw])).astype(int)
    x1, y1 = np.ceil(lips.max(axis=0) + np.array([0, 0.15 * mw])).astype(int)
    patch = image[max(y0, 0) : max(y1, 1), max(x0, 0) : max(x1, 1)].reshape(-1, 3)
    patch = patch.astype(np.float32) if patch.size else np.full((1, 3), 140, np.float32)
    lip = np.median(patch, axis=0).astype(np.float32)
    luminance = float(np.percentile(patch @ np.array([0.299, 0.587, 0.114]), 90))
    # Teeth are a little brighter than the brightest lit skin around the mouth, tinted by the
    # light that falls on it (a warm photo gets warm teeth).
    tint = (lip / max(float(lip.mean()), 1.0)) ** 0.25
    brightness = float(np.clip(luminance * 1.2 / 228.0, 0.25, 1.0))
    teeth = _NEUTRAL_TEETH * tint * brightness
    photo_teeth = _photo_teeth_colour(image, rig)
    if photo_teeth is not None:
        teeth = photo_teeth
    gum = lip * np.array([1.02, 0.78, 0.8], np.float32) * 0.85
    return _Palette(
        teeth=np.clip(teeth, 0, 255).astype(np.float32),
        gum=gum.astype(np.float32),
        tongue=(lip * np.array([0.95, 0.62, 0.62], np.float32) * 0.8).astype(np.float32),
        throat=(lip * 0.1).astype(np.float32),
        cavity_edge=(lip * np.array([0.4, 0.2, 0.2], np.float32)).astype(np.float32),
    )


def _photo_teeth_colour(image: Image, rig: FaceRig) -> FloatArray | None:
    """The median colour of the bright part of an open mouth in the photo, if it shows one."""
    if not rig.shows_teeth:
        return None
    span = slice(*rig.lip_span)
    outline = np.concatenate([rig.top.points[span], rig.bottom.points[span][::-1]])
    mask = _polygon_mask(image.shape[:2], outline) > 0.9
    pixels = image[mask].astype(np.float32)
    if len(pixels) < 12:
        return None
    luma = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    bright = pixels[luma >= np.percentile(luma, 70)]
    return np.median(bright, axis=0).astype(np.float32)


def _upper_layer(
    u: FloatArray, v: FloatArray, edge: FloatArray, mm: float, palette: _Palette
) -> FloatArray:
    teeth, tooth_alpha = _row(u, v, edge, mm, _UPPER_EDGES, _UPPER_HEIGHTS, palette.teeth, -1)
    # Gums above the teeth (seen when the upper lip lifts); between teeth they reach down in
    # small arches, which the teeth drawn over them leave as points.
    gum_shade = np.clip(1.0 - (edge - v - 10.0 * mm) / (8.0 * mm), 0.55, 1.0)[..., None]
    gum = _feather(edge - v)
    colour = palette.gum * gum_shade * (gum * (1 - tooth_alpha))[..., None] + teeth
    alpha = tooth_alpha + gum * (1 - tooth_alpha)
    return np.dstack([colour, alpha]).astype(np.float32)


def _lower_layer(
    u: FloatArray, v: FloatArray, edge: FloatArray, mm: float, palette: _Palette
) -> FloatArray:
    teeth, tooth_alpha = _row(
        u, v, edge, mm, _LOWER_EDGES, _LOWER_HEIGHTS, palette.teeth * 0.82, 1
    )
    # The tongue lies behind the lower front teeth; seen from the front its top shows just
    # well above their edge (its back rises behind them), and higher toward the corners.
    half = 25.0 * mm
    surface = edge - 5.0 * mm + 4.0 * mm * np.clip(np.abs(u) / half, 0, 1.5) ** 2
    tongue_alpha = _feather(v - surface)
    towards_front = np.clip((v - surface) / (6.0 * mm), 0.0, 1.0)[..., None]
    tongue = palette.tongue * (0.55 + 0.45 * towards_front)
    colour = tongue * tongue_alpha[..., None] * (1 - tooth_alpha[..., None]) + teeth
    alpha = tooth_alpha + tongue_alpha * (1 - tooth_alpha)
    return np.dstack([colour, alpha]).astype(np.float32)


def _row(
    u: FloatArray,
    v: FloatArray,
    edge: FloatArray,
    mm: float,
    edges_mm: FloatArray,
    heights_mm: FloatArray,
    colour: FloatArray,
    direction: int,
) -> tuple[FloatArray, FloatArray]:
    """One row of teeth: premultiplied colour and coverage.

    ``edge`` is the incisal edge under each pixel; the row grows from it toward the gums,
    up (``direction`` -1) or down (+1).
    """
    bounds = edges_mm * mm
    distance = np.abs(u)
    index = np.clip(np.searchsorted(bounds, distance) - 1, 0, len(heights_mm) - 1)
    width = bounds[index + 1] - bounds[index]
    across = np.clip((distance - bounds[index]) / width, 0.0, 1.0) * 2 - 1  # -1..1 in a tooth
    # Rounded corners leave small notches between the incisal edges.
    notch = 1.0 * mm * np.abs(across) ** 5
    into = (v - edge) * direction - notch  # px from the incisal edge toward the gum
    height = heights_mm[index] * mm
    coverage = _feather(into) * _feather(height - into)
    coverage *= (distance < bounds[-1]).astype(np.float32)

    depth = index / (len(heights_mm) - 1)
    shade = (1.0 - 0.55 * depth) * (1.0 - 0.22 * across**2)
    # Enamel is thinner and greyer at the edge, warmer near the gum.
    shade *= 0.86 + 0.14 * np.clip(into / (2.5 * mm), 0.0, 1.0)
    gap_width = max(0.4, 0.22 * mm)
    nearest = np.minimum(distance - bounds[index], bounds[index + 1] - distance)
    shade *= 1.0 - (0.45 - 0.2 * depth) * np.exp(-((nearest / gap_width) ** 2))
    premultiplied = colour * (shade * coverage)[..., None]
    return premultiplied.astype(np.float32), coverage.astype(np.float32)


def _with_photo_teeth(
    layer: FloatArray,
    image: Image,
    rig: FaceRig,
    origin: FloatArray,
    v: FloatArray,
    edge: FloatArray,
) -> FloatArray:
    """Lay the photo's own teeth (inside its open lips, above ``edge``) over the drawn ones."""
    h, w = layer.shape[:2]
    span = slice(*rig.lip_span)
    outline = np.concatenate([rig.top.points[span], rig.bottom.points[span][::-1]]) - origin
    inside = cv2.erode(_polygon_mask((h, w), outline), np.ones((3, 3), np.uint8))
    alpha = np.asarray(inside, np.float32) * _feather(edge - v)
    x0, y0 = int(origin[0]), int(origin[1])
    photo = image[y0 : y0 + h, x0 : x0 + w].astype(np.float32)
    colour = layer[..., :3] * (1 - alpha[..., None]) + photo * alpha[..., None]
    return np.dstack([colour, alpha + layer[..., 3] * (1 - alpha)]).astype(np.float32)


def _texture(image: Image, rig: FaceRig) -> tuple[float, float]:
    """How soft (blur sigma, px) and how grainy (noise std) the skin around the mouth is."""
    mw = rig.mouth_width
    centre = rig.meeting.mean(axis=0)
    x0, y0 = np.floor(centre - mw).astype(int)
    x1, y1 = np.ceil(centre + mw).astype(int)
    patch = image[max(y0, 0) : max(y1, 1), max(x0, 0) : max(x1, 1)]
    if patch.size == 0:
        return 0.7, 0.0
    grey = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean())
    fine = grey - cv2.GaussianBlur(grey, (0, 0), 1.0)
    grain = float(np.clip(np.median(np.abs(fine)) * 1.2, 0.0, 6.0))
    # Little fine detail means a soft photo or a painting: the drawn teeth go as soft.
    softness = float(np.clip(2.4 - detail / 2.5, 0.5, 2.2))
    return softness, grain


def _finish(layer: FloatArray, softness: float, grain: float, seed: int) -> FloatArray:
    layer = np.asarray(cv2.GaussianBlur(layer, (0, 0), softness), np.float32)
    if grain > 0.2:
        noise = np.random.default_rng(seed).normal(0.0, grain, layer.shape[:2]).astype(np.float32)
        layer[..., :3] += noise[..., None] * layer[..., 3:]
    return layer


def _moved(layer: FloatArray, affine: npt.NDArray[Any]) -> FloatArray:
    h, w = layer.shape[:2]
    return np.asarray(
        cv2.warpAffine(
            layer, affine, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        ),
        np.float32,
    )


def _feather(distance: FloatArray) -> FloatArray:
    """Coverage of a pixel ``distance`` px inside an edge: anti-aliased over one pixel."""
    return np.clip(distance + 0.5, 0.0, 1.0).astype(np.float32)


def _polygon_mask(shape: tuple[int, int], outline: FloatArray) -> FloatArray:
    mask = np.zeros(shape, np.uint8)
    points = np.round(outline * (1 << _SUBPIXEL)).astype(np.int32)
    cv2.fillPoly(mask, [points], 255, lineType=cv2.LINE_AA, shift=_SUBPIXEL)
    return mask.astype(np.float32) / 255.0


def _axes(rig: FaceRig) -> tuple[FloatArray, FloatArray]:
    across = rig.meeting[-1] - rig.meeting[0]
    ax = (across / max(float(np.linalg.norm(across)), 1e-6)).astype(np.float32)
    return ax, np.array([-ax[1], ax[0]], np.float32)
