"""The visible "ИИ" / "AI" badge every note carries: a small pill in the lower right.

Telegram shows a video note as the circle inscribed in its square, so the badge sits on a ray
40° below the horizontal at 0.36 of the side from the centre: inside the circle with margin,
clear of the face (framing puts it in the middle half), and where a viewer's eye expects a
corner badge. It scales with the note so it reads the same at 240 px as at 640 px.

The badge is rendered once per note size: pill and letter strokes drawn at 4× and shrunk with
area averaging, which antialiases the edges without a font. (``cv2.putText`` has no Cyrillic and
Pillow's default bitmap font may lack it, and a system font is one more thing to ship.) Per
frame, :meth:`VisibleMark.apply` only blends that small patch in place: one OpenCV call over a
few thousand pixels, ~20 µs at 640.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]

LABELS: Final = ("ИИ", "AI")

_SUPERSAMPLE = 4
_ANGLE_DEG = 40.0  # below the horizontal, on the right
_RADIUS = 0.36  # of the side, from the centre to the badge's centre
_HEIGHT = 0.07  # pill height, of the side
_MIN_HEIGHT_PX = 18  # below this the letters stop being legible
_LETTER = 0.56  # cap height, of the pill height
_STROKE = 0.17  # stroke width, of the cap height
_GAP = 0.28  # between letters, of the cap height
_PAD = 0.55  # between the letters and the pill's ends, of the pill height
_PILL_RGB = (18, 18, 22)
_PILL_ALPHA = 0.6  # the picture shows through, the letters still stand out
_TEXT_RGB = (250, 250, 250)
_TEXT_ALPHA = 0.95
_OUTLINE = 0.08  # an outline's width, of the pill height

# Glyphs as strokes in a box of the glyph's width × 1 (y down), with their widths. Cyrillic
# "А" shares the Latin A's shape.
_Stroke = tuple[tuple[float, float], tuple[float, float]]
_GLYPHS: Final[dict[str, tuple[float, tuple[_Stroke, ...]]]] = {
    # Two verticals and the diagonal rising from the bottom left.
    "И": (0.72, (((0.0, 0.0), (0.0, 1.0)), ((0.72, 0.0), (0.72, 1.0)), ((0.0, 1.0), (0.72, 0.0)))),
    # Two legs and the bar.
    "A": (
        0.78,
        (((0.0, 1.0), (0.39, 0.0)), ((0.39, 0.0), (0.78, 1.0)), ((0.17, 0.63), (0.61, 0.63))),
    ),
    # With serifs, so it is not taken for a lowercase l.
    "I": (
        0.42,
        (((0.21, 0.0), (0.21, 1.0)), ((0.0, 0.0), (0.42, 0.0)), ((0.0, 1.0), (0.42, 1.0))),
    ),
}
_GLYPHS["А"] = _GLYPHS["A"]


@dataclass(frozen=True)
class BadgeStyle:
    """How the badge is painted: over a photo by default; a drawn look paints it its own way
    (``inference.animate.looks``), so the badge belongs to the picture it marks."""

    pill: tuple[int, int, int] = _PILL_RGB
    pill_alpha: float = _PILL_ALPHA
    text: tuple[int, int, int] = _TEXT_RGB
    outline: tuple[int, int, int] | None = None  # a line around the pill, as a drawing has


class VisibleMark:
    """The badge for ``size``×``size`` notes; build once per note, ``apply`` to every frame."""

    def __init__(self, size: int, label: str = "ИИ", style: BadgeStyle | None = None) -> None:
        unknown = sorted(set(label) - set(_GLYPHS))
        if not label or unknown:
            raise ValueError(f"the badge can draw only {sorted(_GLYPHS)}; got {label!r}")
        style = style or BadgeStyle()
        self.size = size
        self.label = label
        alpha_pill, alpha_text, alpha_ring = _render(
            label, max(_MIN_HEIGHT_PX, round(_HEIGHT * size))
        )
        height, width = alpha_pill.shape
        angle = math.radians(_ANGLE_DEG)
        cx = size / 2 + _RADIUS * size * math.cos(angle)
        cy = size / 2 + _RADIUS * size * math.sin(angle)
        self.x0 = round(cx - width / 2)
        self.y0 = round(cy - height / 2)
        corner = math.hypot(self.x0 + width - size / 2, self.y0 + height - size / 2)
        if corner > 0.48 * size:  # only notes far below Telegram's 240 px minimum
            raise ValueError(f"a {size}×{size} note is too small for a legible badge")
        # Letters over the outline over the pill over the frame, folded into one colour and
        # one weight per pixel, so apply() is a single cv2.blendLinear over the patch.
        layers = [(alpha_pill * style.pill_alpha, style.pill)]
        if style.outline is not None:
            layers.append((alpha_ring, style.outline))
        layers.append((alpha_text * _TEXT_ALPHA, style.text))
        cover = np.zeros_like(alpha_pill)
        paint = np.zeros((*alpha_pill.shape, 3))
        for alpha, rgb in layers:
            paint = alpha[..., None] * np.array(rgb) + paint * (1.0 - alpha[..., None])
            cover = alpha + cover * (1.0 - alpha)
        colour = paint / np.maximum(cover, 1e-6)[..., None]
        self._colour = np.clip(np.round(colour), 0, 255).astype(np.uint8)
        self._cover = cover.astype(np.float32)
        self._keep = (1.0 - cover).astype(np.float32)
        self._window = (slice(self.y0, self.y0 + height), slice(self.x0, self.x0 + width))

    @property
    def box(self) -> tuple[int, int, int, int]:
        """The badge's pixels: ``(x0, y0, x1, y1)``, end-exclusive."""
        height, width = self._keep.shape
        return self.x0, self.y0, self.x0 + width, self.y0 + height

    def apply(self, frame: Image) -> Image:
        """Blend the badge into ``frame`` (RGB uint8, size×size) in place; returns it."""
        if frame.shape != (self.size, self.size, 3) or frame.dtype != np.uint8:
            raise ValueError(f"expected a {self.size}×{self.size} RGB uint8 frame")
        patch = frame[self._window]
        patch[...] = cv2.blendLinear(patch, self._colour, self._keep, self._cover)
        return frame


def _render(
    label: str, height: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Coverage (0..1) of the pill, the letters and the pill's outline, ``height`` px tall,
    antialiased."""
    cap = _LETTER * height
    widths = [_GLYPHS[ch][0] * cap for ch in label]
    text_width = sum(widths) + _GAP * cap * (len(label) - 1)
    width = math.ceil(text_width + 2 * _PAD * height)
    width += (width - height) % 2  # symmetric padding around the letters
    s = _SUPERSAMPLE
    big_h, big_w = height * s, width * s

    pill = np.zeros((big_h, big_w), np.uint8)
    radius = big_h // 2
    cv2.rectangle(pill, (radius, 0), (big_w - 1 - radius, big_h - 1), 255, cv2.FILLED)
    cv2.circle(pill, (radius, radius), radius, 255, cv2.FILLED)
    cv2.circle(pill, (big_w - 1 - radius, radius), radius, 255, cv2.FILLED)

    text = np.zeros((big_h, big_w), np.uint8)
    thickness = max(1, round(_STROKE * cap * s))
    # Strokes are drawn centred on their lines: inset the glyph box by half a stroke so the
    # outer edges land on the box, and the letters look the size the layout says.
    inset = thickness / 2
    box_h = cap * s - 2 * inset
    x = (big_w - text_width * s) / 2 + inset
    top = (big_h - cap * s) / 2 + inset
    for ch, glyph_width in zip(label, widths, strict=True):
        scale_x = (glyph_width * s - 2 * inset) / _GLYPHS[ch][0]
        for (ax, ay), (bx, by) in _GLYPHS[ch][1]:
            a = (round(x + ax * scale_x), round(top + ay * box_h))
            b = (round(x + bx * scale_x), round(top + by * box_h))
            cv2.line(text, a, b, 255, thickness, cv2.LINE_8)
        x += (glyph_width + _GAP * cap) * s

    ring = max(1, round(_OUTLINE * big_h))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1))
    # Outside the picture counts as outside the pill: the pill touches the top and bottom.
    inner = cv2.erode(pill, disc, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    shrink = (width, height)
    pill_cover = _shrink(pill, shrink)
    return (
        pill_cover,
        np.minimum(_shrink(text, shrink), pill_cover),
        _shrink(np.asarray(cv2.subtract(pill, inner), np.uint8), shrink),
    )


def _shrink(mask: Image, size: tuple[int, int]) -> npt.NDArray[np.float32]:
    """Area-average a 0/255 supersampled mask down to coverage in 0..1: the antialiasing."""
    small = cv2.resize(mask, size, interpolation=cv2.INTER_AREA)
    return np.asarray(small, np.float32) * np.float32(1 / 255)
