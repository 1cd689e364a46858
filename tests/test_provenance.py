"""Provenance marks: the visible badge and the invisible job-id watermark, end to end.

The watermark tests build a note the way the pipeline does: the photo is marked once, every
frame is that photo with its centre perturbed (a stand-in for the animated head: small shifts,
rotation, brightness, an opening mouth) and the badge on top, encoded by ``NoteEncoder``. Then
the note is read back as is, after harsh re-encodes and after a downscale.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
import pytest

from inference.demo import astronaut
from inference.media import NoteEncoder, read_frames
from inference.provenance import VisibleMark, embed, extract, verify_file

Image = npt.NDArray[np.uint8]

JOB = "note-0123456789abcdef0123"
OTHER_JOB = "note-fedcba98765432100f0e"
FPS = 25
SECONDS = 6


def portrait(size: int) -> Image:
    """The astronaut, face centred with margin, like the framing step would give."""
    image = astronaut()[:400, 40:440]  # 400×400 around the head and shoulders
    return np.ascontiguousarray(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA))


def psnr(a: Image, b: Image) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * math.log10(255**2 / mse)


def animated(base: Image, count: int, seed: int = 0) -> Iterator[Image]:
    """Frames of ``base`` with the head region moving as the warp animator moves it.

    A little more than the real thing: the warp animator sways the head by about ±1 px and
    a fraction of a degree at 640; this sways it by ±1.5 px and ±0.8° (scaled with the size),
    changes its brightness and opens a dark mouth over it.
    """
    size = base.shape[0]
    scale = size / 640
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    # Soft elliptical head region over the middle of the frame; the rest stays still.
    head = np.clip((1 - ((xx - 0.5) / 0.3) ** 2 - ((yy - 0.45) / 0.38) ** 2) * 4, 0, 1)
    weight = head[..., None].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi, 3)
    for i in range(count):
        t = i / FPS
        angle = 0.8 * math.sin(1.3 * t + phase[0])
        shift = (1.5 * scale * math.sin(0.9 * t + phase[1]), scale * math.sin(1.7 * t + phase[2]))
        matrix = cv2.getRotationMatrix2D((size / 2, size * 0.45), angle, 1.0)
        matrix[:, 2] += shift
        moved = cv2.warpAffine(base, matrix, (size, size), borderMode=cv2.BORDER_REFLECT_101)
        moved = np.clip(moved * (1 + 0.02 * math.sin(2.1 * t)), 0, 255)
        frame = (moved * weight + base * (1 - weight)).astype(np.uint8)
        opening = abs(math.sin(7 * t)) * 0.035 * size
        if opening > 1:
            centre = (size // 2 + round(shift[0]), round(0.6 * size + shift[1]))
            axes = (round(0.06 * size), round(opening))
            cv2.ellipse(frame, centre, axes, 0, 0, 360, (40, 20, 25), -1, cv2.LINE_AA)
        yield frame


def write_note(path: Path, base: Image, *, badge: bool = True, seconds: int = SECONDS) -> Path:
    size = base.shape[0]
    mark = VisibleMark(size)
    silence = np.zeros(16000 * seconds, np.float32)
    with NoteEncoder(path, size=size, fps=FPS, audio=silence, sample_rate=16000) as encoder:
        for frame in animated(base, seconds * FPS):
            encoder.write(mark.apply(frame) if badge else frame)
    return path


def reencode(
    src: Path, dst: Path, *, size: int | None = None, options: dict[str, int] | None = None
) -> Path:
    """Re-encode the video track with libx264, as a re-upload or a messenger would.

    ``options`` are x264's (``crf``), except ``bit_rate``, which sets the codec's target.
    """
    options = dict(options or {})
    with av.open(str(src)) as source, av.open(str(dst), "w") as target:
        width = size or source.streams.video[0].codec_context.width
        stream = target.add_stream("libx264", rate=FPS)
        stream.width = stream.height = width
        stream.pix_fmt = "yuv420p"
        if "bit_rate" in options:
            stream.codec_context.bit_rate = options.pop("bit_rate")
        stream.options = {key: str(value) for key, value in options.items()}
        for index, frame in enumerate(source.decode(video=0)):
            if size is not None:
                frame = frame.reformat(width=size, height=size)
            frame.pts = index
            frame.time_base = Fraction(1, FPS)
            target.mux(stream.encode(frame))
        target.mux(stream.encode(None))
    return dst


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("provenance")
    base = portrait(640)
    return {
        "marked": write_note(root / "marked.mp4", embed(base, JOB)),
        "plain": write_note(root / "plain.mp4", base),
    }


# -- the invisible watermark ---------------------------------------------------------------


@pytest.mark.parametrize("size", [640, 480, 240])
def test_mark_is_invisible_by_psnr(size: int) -> None:
    base = portrait(size)
    marked = embed(base, JOB)
    assert marked.shape == base.shape and marked.dtype == np.uint8
    assert marked is not base and not np.shares_memory(marked, base)
    assert psnr(base, marked) >= 40.0
    # Only luminance moves: all three channels change by the same amount (bar clipping).
    diff = marked.astype(np.int16) - base.astype(np.int16)
    unclipped = (base > 5).all(axis=2) & (base < 250).all(axis=2)
    assert (diff[..., 0] == diff[..., 1])[unclipped].all()


def test_flat_areas_get_at_most_a_level() -> None:
    """No visible pattern on smooth backgrounds: ±1 level is below what a viewer can see."""
    base = portrait(640)
    base[:200, :] = (150, 160, 170)  # a flat band across the top, like a studio backdrop
    marked = embed(base, JOB)
    # Texture masks what is near it, so the pattern may grow within ~30 px of the band's
    # edge; away from it the change is a faint ±1 dither.
    diff = marked[:160].astype(np.int16) - base[:160]
    assert np.abs(diff).max() <= 1
    assert np.abs(diff).mean() < 0.65


@pytest.mark.parametrize("size", [640, 240])
@pytest.mark.parametrize("job_id", [JOB, OTHER_JOB, "note-00000000000000000000"])
def test_still_roundtrip(size: int, job_id: str) -> None:
    assert extract([embed(portrait(size), job_id)]) == job_id


@pytest.mark.slow
def test_survives_our_encoding(notes: dict[str, Path]) -> None:
    assert verify_file(notes["marked"]) == JOB


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [{"crf": 38}, {"bit_rate": 250_000}, {"bit_rate": 100_000}],
    ids=["crf38", "250k", "100k"],
)
def test_survives_low_bitrate_reencode(
    notes: dict[str, Path], tmp_path: Path, options: dict[str, int]
) -> None:
    # Our CRF 26 note of this picture runs at ~170 kbit/s; CRF 38 gives ~60 kbit/s.
    copy = reencode(notes["marked"], tmp_path / "copy.mp4", options=options)
    assert verify_file(copy) == JOB


@pytest.mark.slow
def test_survives_downscale_to_480(notes: dict[str, Path], tmp_path: Path) -> None:
    copy = reencode(notes["marked"], tmp_path / "small.mp4", size=480, options={"crf": 28})
    assert next(read_frames(copy)).shape == (480, 480, 3)
    assert verify_file(copy) == JOB


@pytest.mark.slow
def test_unmarked_note_reads_none(notes: dict[str, Path]) -> None:
    assert verify_file(notes["plain"]) is None


@pytest.mark.slow
def test_small_note_with_another_id(tmp_path: Path) -> None:
    """A 240 px note carries its own id through our encoder: no fixed answer, no cross-talk."""
    note = write_note(tmp_path / "small.mp4", embed(portrait(240), OTHER_JOB), seconds=4)
    assert verify_file(note) == OTHER_JOB


def unmarked_pictures() -> Iterator[Image]:
    from skimage import data

    yield portrait(640)
    yield np.ascontiguousarray(data.chelsea()[:300, :300])  # type: ignore[no-untyped-call]
    yield np.ascontiguousarray(data.coffee()[:400, :400])  # type: ignore[no-untyped-call]
    yield np.full((640, 640, 3), 128, np.uint8)
    yield np.zeros((240, 240, 3), np.uint8)
    noise = np.random.default_rng(1).integers(0, 256, (640, 640, 3), dtype=np.uint8)
    yield noise
    # Someone else's mark is not ours either: our pattern, shifted by half a chip.
    yield np.roll(embed(portrait(640), JOB), 3, axis=1)


def test_unmarked_pictures_read_none() -> None:
    for picture in unmarked_pictures():
        assert extract([picture]) is None
        assert extract([picture, picture[::-1]]) is None


def test_no_frames_read_none() -> None:
    assert extract([]) is None


@pytest.mark.parametrize(
    "job_id", ["note-0123", "note-0123456789ABCDEF0123", "job-0123456789abcdef0123", ""]
)
def test_embed_refuses_foreign_ids(job_id: str) -> None:
    with pytest.raises(ValueError, match="job id"):
        embed(portrait(240), job_id)


def test_embed_refuses_non_square() -> None:
    with pytest.raises(ValueError, match="square"):
        embed(np.zeros((240, 320, 3), np.uint8), JOB)


# -- the visible badge ---------------------------------------------------------------------


@pytest.mark.parametrize("label", ["ИИ", "AI"])
def test_badge_lies_inside_the_round_note(label: str) -> None:
    for size in range(240, 641, 8):
        x0, y0, x1, y1 = VisibleMark(size, label).box
        radius = size / 2
        corners = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
        farthest = max(math.hypot(x - radius, y - radius) for x, y in corners)
        assert farthest <= radius * 0.92, (size, label)
        # Lower right, off the face (the framing keeps the face in the middle half).
        assert x0 > radius and y0 > radius
        assert x1 > 0.72 * size


@pytest.mark.parametrize("size", [240, 640])
@pytest.mark.parametrize("label", ["ИИ", "AI"])
def test_badge_is_visible_and_only_there(size: int, label: str) -> None:
    base = portrait(size)
    mark = VisibleMark(size, label)
    frame = base.copy()
    assert mark.apply(frame) is frame  # in place
    x0, y0, x1, y1 = mark.box
    changed = np.abs(frame.astype(np.int16) - base).max(axis=2) > 0
    assert not changed[:y0].any() and not changed[y1:].any()
    assert not changed[:, :x0].any() and not changed[:, x1:].any()
    patch = frame[y0:y1, x0:x1].astype(np.int16)
    # A dark pill with bright letters: both clearly present, at any background.
    assert changed[y0:y1, x0:x1].mean() > 0.6
    assert (patch.min(axis=2) > 200).sum() > 0.08 * patch.shape[0] * patch.shape[1]
    assert (patch.max(axis=2) < 110).sum() > 0.2 * patch.shape[0] * patch.shape[1]


def test_badge_reads_on_white_and_black() -> None:
    mark = VisibleMark(320)
    x0, y0, x1, y1 = mark.box
    for value in (0, 255):
        frame = mark.apply(np.full((320, 320, 3), value, np.uint8))
        patch = frame[y0:y1, x0:x1].astype(np.int16)
        assert patch.max() - patch.min() > 120


def test_badge_letters_differ() -> None:
    ii = VisibleMark(640, "ИИ")
    ai = VisibleMark(640, "AI")
    a, b = (m.apply(np.zeros((640, 640, 3), np.uint8)) for m in (ii, ai))
    assert np.abs(a.astype(np.int16) - b).max() > 100


def test_badge_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(ValueError, match="draw"):
        VisibleMark(640, "ИИ!")
    with pytest.raises(ValueError, match="frame"):
        VisibleMark(640).apply(np.zeros((480, 480, 3), np.uint8))
    with pytest.raises(ValueError, match="too small"):
        VisibleMark(96)
