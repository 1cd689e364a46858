"""Test images for the face-preparation tests.

Two sources:

* scikit-image's bundled public-domain pictures, present everywhere: ``astronaut`` (one face)
  and ``chelsea`` (a cat, no human face), plus variants derived from them here;
* the face_recognition fixtures beside the repo, found through one setting,
  ``GOVORUN_FIXTURES_DIR`` (default ``<repo>/../shared/fixtures``). They may not be copied
  into the repo; tests that need them skip with a clear reason where they are absent.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image
from skimage import data as skdata

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_ENV = "GOVORUN_FIXTURES_DIR"

# Where dlib finds the astronaut's face in the original 512×512 picture (x0, y0, x1, y1).
ASTRONAUT_FACE_BOX = (179.0, 83.0, 267.0, 171.0)


def fixtures_dir() -> Path:
    """The shared fixtures folder: ``$GOVORUN_FIXTURES_DIR`` or ``<repo>/../shared/fixtures``."""
    configured = os.environ.get(FIXTURES_ENV)
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "fixtures"


def require_fixture(name: str) -> Path:
    """Path of ``faces/<name>`` in the fixtures folder, or skip the calling test."""
    path = fixtures_dir() / "faces" / name
    if not path.is_file():
        pytest.skip(f"face fixture {name!r} not found at {path}; set {FIXTURES_ENV}")
    return path


def fixture_bytes(name: str) -> bytes:
    return require_fixture(name).read_bytes()


RGB = npt.NDArray[np.uint8]


@cache
def _astronaut() -> RGB:
    return np.asarray(skdata.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call]


def astronaut() -> RGB:
    """512×512 RGB, one frontal face (a fresh copy: tests may modify it)."""
    return _astronaut().copy()


def chelsea() -> RGB:
    """300×451 RGB cat: no human face."""
    return np.array(skdata.chelsea(), dtype=np.uint8)  # type: ignore[no-untyped-call]


def resized(rgb: RGB, width: int, height: int) -> RGB:
    """``rgb`` at another size: INTER_AREA to shrink, bicubic to enlarge."""
    shrink = width * height < rgb.shape[0] * rgb.shape[1]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(rgb, (width, height), interpolation=interpolation), np.uint8)


def two_astronauts() -> RGB:
    """The astronaut beside her mirror image: two faces of the same size."""
    image = astronaut()
    return np.ascontiguousarray(np.concatenate([image, image[:, ::-1]], axis=1))


def encode(rgb: RGB | Image.Image, fmt: str, **save_args: Any) -> bytes:
    """Encode an array or PIL image with Pillow, e.g. ``encode(img, "JPEG", quality=95)``."""
    image = rgb if isinstance(rgb, Image.Image) else Image.fromarray(rgb)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save_args)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_bomb(width: int, height: int, *, real_rows: int = 0) -> bytes:
    """A 1-bit greyscale PNG whose header claims ``width`` × ``height`` pixels.

    With ``real_rows`` the first rows are actually compressed (zeros deflate ~1000:1), the
    rest is left out: a decoder that trusted the header would allocate the full image first.
    """
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(real_rows)) + compressor.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    """A PNG cut right after the header of its first IDAT chunk: not one byte of pixel data.

    Decoding it fails ("truncated"), so a loader that calls it too large has answered from the
    header alone.
    """
    data = png_bomb(width, height)
    return data[: data.index(b"IDAT") + 4]


def frames(count: int, size: int = 96) -> list[Image.Image]:
    """``count`` visibly different RGB frames for animated formats."""
    return [
        Image.fromarray(np.full((size, size, 3), 40 + 60 * i, dtype=np.uint8))
        for i in range(count)
    ]


def animated(fmt: str, count: int = 2, **save_args: Any) -> bytes:
    """An animation of ``count`` frames in ``fmt`` ("GIF", "WEBP" or "PNG" for APNG)."""
    first, *rest = frames(count)
    return encode(first, fmt, save_all=True, append_images=rest, duration=100, **save_args)


def with_exif_orientation(rgb: RGB, orientation: int) -> bytes:
    """A JPEG that *displays* as ``rgb`` once its EXIF ``orientation`` (6 or 8) is applied.

    Phones store the sensor's sideways pixels and set the tag; this mimics that.
    """
    stored = {
        6: Image.Transpose.ROTATE_90,  # 6 means "rotate 90° clockwise to display"
        8: Image.Transpose.ROTATE_270,  # 8 means "rotate 90° counter-clockwise to display"
    }[orientation]
    image = Image.fromarray(rgb).transpose(stored)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", quality=95, exif=exif.tobytes())
