"""load_image: every odd or hostile upload becomes plain RGB or a typed refusal."""

from __future__ import annotations

import io
import resource

import numpy as np
import pytest
from PIL import Image, features

from inference.errors import ErrorCode, RenderError
from inference.face import BACKGROUND_RGB, load_image
from testkit.face_assets import (
    RGB,
    animated,
    astronaut,
    encode,
    fixture_bytes,
    png_bomb,
    png_header_only,
    with_exif_orientation,
)


def refusal(data: bytes, **kwargs: int) -> RenderError:
    with pytest.raises(RenderError) as caught:
        load_image(data, **kwargs)
    return caught.value


def mean_abs_diff(a: RGB, b: RGB) -> float:
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


# --- ordinary photos -------------------------------------------------------------------------


def test_png_round_trips_exactly() -> None:
    original = astronaut()
    rgb = load_image(encode(original, "PNG"))
    assert rgb.dtype == np.uint8 and rgb.shape == (512, 512, 3)
    assert rgb.flags.c_contiguous and rgb.flags.writeable
    np.testing.assert_array_equal(rgb, original)


@pytest.mark.parametrize("fmt", ["JPEG", "WEBP", "BMP", "TIFF"])
def test_common_formats_decode(fmt: str) -> None:
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    original = astronaut()
    rgb = load_image(encode(original, fmt))
    assert rgb.shape == original.shape
    assert mean_abs_diff(rgb, original) < 6


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation_is_applied(orientation: int) -> None:
    original = astronaut()[:, :400]  # not square, so a missed rotation changes the shape
    data = with_exif_orientation(original, orientation)
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.size == (original.shape[0], original.shape[1])  # stored sideways
    rgb = load_image(data)
    assert rgb.shape == original.shape
    assert mean_abs_diff(rgb, original) < 6


# --- colour modes ----------------------------------------------------------------------------


def test_rgba_is_flattened_onto_a_light_background() -> None:
    original = astronaut()
    alpha = np.full(original.shape[:2], 255, dtype=np.uint8)
    alpha[:, :200] = 0  # left part fully transparent
    alpha[:, 200:300] = 128  # a half-transparent strip
    rgb = load_image(encode(np.dstack([original, alpha]), "PNG"))
    assert rgb.shape == original.shape
    assert (rgb[:, :200] == BACKGROUND_RGB).all()
    assert min(BACKGROUND_RGB) > 200  # light, not black
    np.testing.assert_array_equal(rgb[:, 300:], original[:, 300:])
    expected = (
        original[:, 200:300] * (128 / 255) + np.array(BACKGROUND_RGB) * (127 / 255)
    ).round()
    assert np.abs(rgb[:, 200:300] - expected).max() <= 1


def test_grey_with_alpha_and_palette_transparency() -> None:
    grey = Image.fromarray(astronaut()).convert("L")
    la = grey.copy()
    la.putalpha(Image.new("L", grey.size, 0))
    assert (load_image(encode(la, "PNG")) == BACKGROUND_RGB).all()

    palette = Image.fromarray(astronaut()).convert("P", palette=Image.Palette.ADAPTIVE)
    transparent_index = palette.getpixel((0, 0))
    rgb = load_image(encode(palette, "GIF", transparency=transparent_index))
    assert tuple(rgb[0, 0]) == BACKGROUND_RGB


def test_cmyk_jpeg_keeps_its_colours() -> None:
    original = astronaut()
    cmyk = Image.fromarray(original).convert("CMYK")
    rgb = load_image(encode(cmyk, "JPEG", quality=95))
    assert rgb.shape == original.shape
    assert mean_abs_diff(rgb, original) < 8  # not inverted, not washed out


@pytest.mark.parametrize("mode", ["L", "1"])
def test_greyscale_becomes_three_equal_channels(mode: str) -> None:
    grey = Image.fromarray(astronaut()).convert(mode)
    rgb = load_image(encode(grey, "PNG"))
    assert rgb.shape == (512, 512, 3)
    assert (rgb[:, :, 0] == rgb[:, :, 1]).all() and (rgb[:, :, 1] == rgb[:, :, 2]).all()
    np.testing.assert_array_equal(rgb[:, :, 0], np.asarray(grey.convert("L")))


def test_16_bit_greyscale_is_scaled_not_clipped() -> None:
    grey8 = np.asarray(Image.fromarray(astronaut()).convert("L"))
    grey16 = grey8.astype(np.uint16) * 257
    image16 = Image.fromarray(grey16)
    assert image16.mode.startswith("I;16")
    rgb = load_image(encode(image16, "PNG"))
    # Pillow's own convert("L") would clip nearly everything to 255.
    assert np.abs(rgb[:, :, 0].astype(int) - grey8).max() <= 1


def test_rgba_fixture_photo() -> None:
    rgb = load_image(fixture_bytes("32bit.png"))
    assert rgb.shape == (1200, 626, 3) and rgb.dtype == np.uint8


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"\x00" * 1000, id="zeros"),
        pytest.param(b"definitely not an image, just words", id="text"),
        pytest.param(np.random.default_rng(1).bytes(5000), id="random"),
        pytest.param(b"\x89PNG\r\n\x1a\n", id="png-signature-only"),
        pytest.param(b"\xff\xd8\xff\xe0", id="jpeg-signature-only"),
    ],
)
def test_garbage_is_unreadable(data: bytes) -> None:
    error = refusal(data)
    assert error.code is ErrorCode.IMAGE_UNREADABLE
    assert error.params == {}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_unreadable(fmt: str) -> None:
    data = encode(astronaut(), fmt)
    assert refusal(data[: len(data) // 2]).code is ErrorCode.IMAGE_UNREADABLE


def test_corrupted_body_is_unreadable() -> None:
    data = bytearray(encode(astronaut(), "PNG"))
    data[200:260] = b"\xff" * 60  # inside the compressed pixel data: CRC and zlib both break
    assert refusal(bytes(data)).code is ErrorCode.IMAGE_UNREADABLE


def test_unsupported_format_is_unreadable() -> None:
    # Decodable by Pillow, but not a format a photo arrives in.
    assert refusal(encode(astronaut(), "PPM")).code is ErrorCode.IMAGE_UNREADABLE


def test_png_bomb_is_refused_from_the_header() -> None:
    # 20000×20000 = 400 MP: the file is ~25 kB, decoding would allocate ~400 MB.
    data = png_bomb(20_000, 20_000, real_rows=2000)
    assert len(data) < 100_000
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    error = refusal(data)
    rss_growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    assert error.code is ErrorCode.IMAGE_TOO_LARGE
    assert error.params == {"max_pixels": 40_000_000}
    assert rss_growth_mb < 50
    # With no pixel data at all, decoding would fail as unreadable: "too large" proves the
    # answer came from the header, before any decoding. (49 MP: over our limit, under the
    # size at which Pillow's own guard refuses the file as it opens it.)
    assert refusal(png_header_only(7_000, 7_000)).code is ErrorCode.IMAGE_TOO_LARGE
    assert refusal(png_header_only(600, 600)).code is ErrorCode.IMAGE_UNREADABLE


def test_bomb_beyond_pillows_own_limit_is_too_large() -> None:
    # 10 gigapixels: Pillow itself raises DecompressionBombError inside Image.open.
    assert refusal(png_bomb(100_000, 100_000)).code is ErrorCode.IMAGE_TOO_LARGE


def test_max_pixels_is_configurable() -> None:
    error = refusal(encode(astronaut(), "PNG"), max_pixels=512 * 511)
    assert error.code is ErrorCode.IMAGE_TOO_LARGE
    assert error.params == {"max_pixels": 512 * 511}
    assert load_image(encode(astronaut(), "PNG"), max_pixels=512 * 512).shape == (512, 512, 3)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animation_is_refused(fmt: str) -> None:
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    assert refusal(animated(fmt)).code is ErrorCode.IMAGE_ANIMATED


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_single_frame_of_an_animatable_format_is_fine(fmt: str) -> None:
    if fmt == "WEBP" and not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    rgb = load_image(animated(fmt, count=1))
    assert rgb.shape == (96, 96, 3)


def test_tiny_image_is_face_too_small() -> None:
    tiny = np.asarray(Image.fromarray(astronaut()).resize((48, 48)))
    error = refusal(encode(tiny, "PNG"))
    assert error.code is ErrorCode.FACE_TOO_SMALL
    assert error.params == {"min_px": 64}
    assert load_image(encode(np.zeros((64, 64, 3), np.uint8), "PNG")).shape == (64, 64, 3)


def test_refusals_never_quote_content() -> None:
    data = b"secret user text " * 10
    error = refusal(data)
    assert "secret" not in str(error)
    assert all(isinstance(v, int | float) for v in error.params.values())
