"""Video notes as Telegram wants them, written atomically, checked by reading them back."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from inference.media import encode as encode_mod
from inference.media.encode import NoteEncoder
from inference.media.probe import probe, read_audio, read_frames, top_level_boxes

FPS = 25
RATE = 24000  # not 48 kHz on purpose: the encoder must resample


def tone(seconds: float, rate: int = RATE, amp: float = 0.3) -> npt.NDArray[np.float32]:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def frames(count: int, size: int) -> list[npt.NDArray[np.uint8]]:
    """A still picture with a small moving block, like a talking face on a photo."""
    base = np.zeros((size, size, 3), np.uint8)
    base[..., 0] = np.linspace(40, 200, size, dtype=np.uint8)[None, :]
    base[..., 1] = np.linspace(60, 180, size, dtype=np.uint8)[:, None]
    base[..., 2] = 120
    out = []
    for i in range(count):
        frame = base.copy()
        y = size // 2 + (i % 10) * size // 80
        frame[y : y + size // 10, size // 3 : 2 * size // 3] = (200, 40, 60)
        out.append(frame)
    return out


def render(
    path: Path,
    *,
    size: int = 240,
    count: int = 2 * FPS,
    audio: npt.NDArray[np.float32] | None = None,
    **kwargs: object,
) -> None:
    with NoteEncoder(
        path,
        size=size,
        fps=FPS,
        audio=tone(count / FPS) if audio is None else audio,
        sample_rate=RATE,
        **kwargs,  # type: ignore[arg-type]
    ) as encoder:
        for frame in frames(count, size):
            encoder.write(frame)


@pytest.mark.parametrize("size", [640, 240])
def test_note_meets_telegram_rules(tmp_path: Path, size: int) -> None:
    path = tmp_path / "note.mp4"
    render(path, size=size, metadata={"title": "Говорун", "comment": "ИИ: сгенерировано"})

    info = probe(path)
    assert (info.width, info.height) == (size, size)
    assert (info.video_codec, info.pix_fmt) == ("h264", "yuv420p")
    assert (info.audio_codec, info.audio_sample_rate, info.audio_channels) == ("aac", 48000, 1)
    assert info.faststart
    assert top_level_boxes(path).index("moov") < top_level_boxes(path).index("mdat")
    assert info.frames == 2 * FPS
    assert info.fps == FPS
    assert info.video_duration == pytest.approx(2.0, abs=1 / FPS)
    assert info.audio_duration == pytest.approx(info.video_duration, abs=1 / FPS)
    assert info.duration <= 2.0 + 1 / FPS
    assert info.metadata["title"] == "Говорун"
    assert info.metadata["comment"] == "ИИ: сгенерировано"
    # Mostly static content: 2 s (one keyframe included) extrapolates far below 8 MB a minute.
    assert info.size_bytes * 30 < 8_000_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.mp4"]


def test_pictures_and_colours_survive(tmp_path: Path) -> None:
    path = tmp_path / "note.mp4"
    source = frames(FPS, 240)
    render(path, count=FPS)
    decoded = list(read_frames(path))
    assert len(decoded) == FPS
    assert decoded[0].shape == (240, 240, 3)
    # BT.601 conversion and the tags in the stream must agree, or colours shift visibly.
    for got, want in zip(decoded[::6], source[::6], strict=True):
        diff = np.abs(got.astype(int) - want.astype(int))
        assert diff.mean() < 3
        assert np.abs(got.mean(axis=(0, 1)) - want.mean(axis=(0, 1))).max() < 2


@pytest.mark.parametrize("audio_seconds", [0.8, 5.0])
def test_audio_is_fitted_to_the_video(tmp_path: Path, audio_seconds: float) -> None:
    path = tmp_path / "note.mp4"
    render(path, count=2 * FPS, audio=tone(audio_seconds))
    info = probe(path)
    assert info.audio_duration == pytest.approx(2.0, abs=1 / FPS)
    samples, rate = read_audio(path)
    assert rate == 48000
    assert samples.size / rate == pytest.approx(2.0, abs=1 / FPS)
    level = float(np.sqrt(np.mean(samples[: rate // 2] ** 2)))
    assert level == pytest.approx(0.3 / np.sqrt(2), rel=0.1)
    if audio_seconds < 2.0:  # padded with silence, not looped or stretched
        assert np.abs(samples[round(1.2 * rate) :]).max() < 0.01


def test_error_inside_with_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "note.mp4"
    with (
        pytest.raises(RuntimeError, match="boom"),
        NoteEncoder(path, size=240, fps=FPS, audio=tone(1.0), sample_rate=RATE) as encoder,
    ):
        for frame in frames(10, 240):
            encoder.write(frame)
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_a_previous_note_intact(tmp_path: Path) -> None:
    path = tmp_path / "note.mp4"
    render(path, count=FPS)
    before = path.read_bytes()
    with (
        pytest.raises(RuntimeError, match="boom"),
        NoteEncoder(path, size=240, fps=FPS, audio=tone(1.0), sample_rate=RATE) as encoder,
    ):
        for frame in frames(2 * FPS, 240):
            encoder.write(frame)
        raise RuntimeError("boom")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.mp4"]


def test_bad_codec_settings_fail_on_entry(tmp_path: Path) -> None:
    encoder = NoteEncoder(
        tmp_path / "note.mp4",
        size=240,
        fps=FPS,
        audio=tone(1.0),
        sample_rate=RATE,
        preset="no-such-preset",
    )
    with pytest.raises(av.FFmpegError), encoder:
        pytest.fail("the body must not run")
    assert list(tmp_path.iterdir()) == []


def test_encoder_thread_errors_reach_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: NoteEncoder, yuv: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(encode_mod.NoteEncoder, "_encode", broken)
    with pytest.raises(OSError, match="disk full"):
        render(tmp_path / "note.mp4", count=3 * FPS)
    assert list(tmp_path.iterdir()) == []


def test_frames_beyond_max_seconds_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "note.mp4"
    with NoteEncoder(
        path, size=240, fps=10, audio=tone(1.0), sample_rate=RATE, max_seconds=1.0
    ) as encoder:
        for frame in frames(10, 240):
            encoder.write(frame)
        with pytest.raises(ValueError, match="10 frames"):
            encoder.write(frames(1, 240)[0])
    assert probe(path).frames == 10


def test_wrong_frames_and_parameters_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "note.mp4"
    for size in (200, 241, 700):
        with pytest.raises(ValueError):
            NoteEncoder(path, size=size, fps=FPS, audio=tone(1.0), sample_rate=RATE)
    with (
        pytest.raises(ValueError),
        NoteEncoder(path, size=240, fps=FPS, audio=tone(1.0), sample_rate=RATE) as encoder,
    ):
        encoder.write(np.zeros((240, 240, 3), np.float32))
    with pytest.raises(ValueError, match="no frames"):
        render(path, count=0)
    assert list(tmp_path.iterdir()) == []
