"""Decode an untrusted uploaded image into a plain RGB array, or refuse it with a typed error.

Everything the bot receives as a "photo" passes through :func:`load_image` first, so this is
where hostile or odd input is stopped: decompression bombs, animations, truncated files,
alpha channels, CMYK, 16-bit greyscale and camera EXIF rotation.

Refusal rules (all raise :class:`~inference.errors.RenderError`):

* empty, undecodable, truncated or unsupported-format bytes → ``IMAGE_UNREADABLE``;
* header claims more than ``max_pixels`` pixels → ``IMAGE_TOO_LARGE`` (``max_pixels``),
  decided from the header alone, before any pixel is decoded;
* more than one frame (animated GIF, WebP, APNG) → ``IMAGE_ANIMATED``;
* shorter side below ``min_side`` (64 px) → ``FACE_TOO_SMALL`` (``min_px``). Such an image
  decodes fine, but it cannot hold a face we could animate; "the face is too small, send a
  larger photo" is the answer that helps the user, "unreadable" would mislead them.
"""

from __future__ import annotations

import io
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageCms, ImageOps

from inference.errors import ErrorCode, RenderError

DEFAULT_MAX_PIXELS: Final = 40_000_000
MIN_SIDE: Final = 64

# Pillow picks a decoder by sniffing the bytes. Only the formats a phone or a messenger
# produces are allowed: fewer parsers for hostile input, and never a plugin like EPS that
# would hand the file to Ghostscript. "JPEG" also opens MPO, the multi-picture JPEG some
# phones write (Pillow has no separate opener for it).
ALLOWED_FORMATS: Final = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")

# Formats whose extra frames are an animation. MPO frames are depth maps or stereo
# views and multi-page TIFFs are documents: for those the first frame is the photo.
_ANIMATABLE_FORMATS: Final = frozenset({"GIF", "PNG", "WEBP"})

# Transparent areas become a light neutral grey: black would read as a dark void around
# the head (and a false "hair" edge), pure white would glare inside a round video note.
BACKGROUND_RGB: Final = (236, 236, 236)

_ALPHA_MODES: Final = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})

RGBImage = npt.NDArray[np.uint8]


def load_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, min_side: int = MIN_SIDE
) -> RGBImage:
    """Decode ``data`` into an upright ``H×W×3`` uint8 RGB array.

    EXIF orientation is applied, transparency is flattened onto :data:`BACKGROUND_RGB`,
    CMYK / greyscale / 16-bit images are converted to 8-bit RGB.
    """
    if not data:
        raise RenderError(ErrorCode.IMAGE_UNREADABLE)
    try:
        # Lazy: reads the header only. Pillow's own global bomb guard (MAX_IMAGE_PIXELS)
        # stays as a backstop; it is process-wide, so we do not change it and instead apply
        # our per-call limit below, which is stricter at the default settings.
        image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError:
        raise RenderError(ErrorCode.IMAGE_TOO_LARGE, max_pixels=max_pixels) from None
    except Exception:
        # Decoders of untrusted bytes fail in many ways (OSError, SyntaxError, ValueError,
        # struct.error...); to the user all of them mean the same thing.
        raise RenderError(ErrorCode.IMAGE_UNREADABLE) from None

    with image:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise RenderError(ErrorCode.IMAGE_UNREADABLE)
        if width * height > max_pixels:
            raise RenderError(ErrorCode.IMAGE_TOO_LARGE, max_pixels=max_pixels)
        if min(width, height) < min_side:
            raise RenderError(ErrorCode.FACE_TOO_SMALL, min_px=min_side)
        if _is_animated(image):
            raise RenderError(ErrorCode.IMAGE_ANIMATED)
        try:
            image.load()
            rgb = _to_rgb_array(_upright(image))
        except RenderError:
            raise
        except Exception:
            # Truncated data surfaces here, at decode time ("image file is truncated").
            raise RenderError(ErrorCode.IMAGE_UNREADABLE) from None
    return rgb


def _is_animated(image: Image.Image) -> bool:
    if image.format not in _ANIMATABLE_FORMATS:
        return False
    try:
        # Pillow answers from the header (APNG acTL, WebP ANIM) or by skipping to the second
        # GIF frame without decoding pixels.
        return bool(getattr(image, "is_animated", False))
    except Exception:
        raise RenderError(ErrorCode.IMAGE_UNREADABLE) from None


def _upright(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag: phones store portraits sideways and set the tag."""
    try:
        rotated = ImageOps.exif_transpose(image)
    except Exception:
        # A malformed EXIF block must not cost the user the photo: show it as stored.
        return image
    return image if rotated is None else rotated


def _to_rgb_array(image: Image.Image) -> RGBImage:
    mode = image.mode
    if mode in _ALPHA_MODES or "transparency" in image.info:
        return _flatten_alpha(image.convert("RGBA"))
    if mode.startswith("I;16") or mode in ("I", "F"):
        grey = _high_depth_to_uint8(image)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if mode == "CMYK":
        image = _cmyk_to_rgb(image)
    elif mode != "RGB":
        # "1", "L", "P", "YCbCr", "LAB", "HSV": Pillow's own conversions are exact here.
        image = image.convert("RGB")
    return np.array(image, dtype=np.uint8)


def _flatten_alpha(rgba: Image.Image) -> RGBImage:
    pixels = np.asarray(rgba, dtype=np.float32)
    alpha = pixels[:, :, 3:4] / 255.0
    background = np.asarray(BACKGROUND_RGB, dtype=np.float32)
    out = pixels[:, :, :3] * alpha + background * (1.0 - alpha)
    return np.ascontiguousarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def _high_depth_to_uint8(image: Image.Image) -> npt.NDArray[np.uint8]:
    """Scale 16/32-bit or float greyscale to 8 bits.

    Pillow's ``convert("L")`` clips such values at 255 instead of scaling them, which turns
    a 16-bit photo almost white.
    """
    values = np.asarray(image).astype(np.float64)
    if image.mode.startswith("I;16"):
        scaled = values / 257.0
    elif image.mode == "I" and values.min() >= 0 and values.max() <= 65535:
        # 16-bit PNGs open as "I" in some Pillow versions: same 0..65535 range.
        scaled = values / 257.0 if values.max() > 255 else values
    else:
        # Float or out-of-range integer data carries no fixed white point: stretch it.
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        scaled = (values - low) * (255.0 / (high - low)) if high > low else values * 0.0
    return np.clip(np.nan_to_num(scaled) + 0.5, 0, 255).astype(np.uint8)


def _cmyk_to_rgb(image: Image.Image) -> Image.Image:
    """CMYK print files: use the embedded ICC profile when there is one (accurate colours),
    else Pillow's naive conversion, which is right for the un-profiled case."""
    profile = image.info.get("icc_profile")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except Exception:
            pass  # a broken profile is no reason to refuse the photo
    return image.convert("RGB")
