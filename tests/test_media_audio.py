"""Decoding user audio: every container people send, and every way it can be unusable."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt
import pytest

from inference.errors import ErrorCode, RenderError
from inference.media import audio as audio_mod
from inference.media.audio import is_silent, load_audio, resample


def tone(seconds: float, rate: int, *, amp: float = 0.3, freq: float = 220.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encode(
    samples: npt.NDArray[np.float32],
    rate: int,
    *,
    fmt: str,
    codec: str,
    layout: str = "mono",
) -> bytes:
    """Encode ``samples`` in memory the way a client would (e.g. OGG/Opus for voice)."""
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        assert isinstance(stream, av.AudioStream)
        stream.layout = layout
        planes = np.stack([samples] * (2 if layout == "stereo" else 1))
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes), "fltp", layout)
        frame.sample_rate = rate
        frame.pts = 0
        frame.time_base = Fraction(1, rate)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buf.getvalue()


def wav(samples: npt.NDArray[np.float32], rate: int) -> bytes:
    return encode(samples, rate, fmt="wav", codec="pcm_s16le")


def error_code(data: bytes, **kwargs: float) -> ErrorCode:
    with pytest.raises(RenderError) as info:
        load_audio(data, **kwargs)  # type: ignore[arg-type]
    return info.value.code


@pytest.mark.parametrize(
    ("fmt", "codec", "rate", "layout"),
    [
        ("ogg", "libopus", 48000, "mono"),  # a Telegram voice message
        ("wav", "pcm_s16le", 16000, "mono"),
        ("mp3", "libmp3lame", 44100, "stereo"),
        ("ipod", "aac", 44100, "mono"),  # .m4a
    ],
)
def test_decodes_common_containers(fmt: str, codec: str, rate: int, layout: str) -> None:
    data = encode(tone(3.0, rate), rate, fmt=fmt, codec=codec, layout=layout)
    samples = load_audio(data)
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert abs(samples.size / 48000 - 3.0) <= 0.05
    rms = float(np.sqrt(np.mean(samples**2)))
    assert rms == pytest.approx(0.3 / np.sqrt(2), rel=0.1)  # downmixed, not summed
    assert np.abs(samples).max() <= 1.0


def test_decodes_at_requested_rate() -> None:
    samples = load_audio(wav(tone(2.0, 44100), 44100), sample_rate=16000)
    assert samples.size == pytest.approx(32000, abs=16)


@pytest.mark.parametrize(
    "data",
    [b"", np.random.default_rng(7).integers(0, 256, 20_000, dtype=np.uint8).tobytes()],
    ids=["empty", "random"],
)
def test_garbage_is_unreadable(data: bytes) -> None:
    assert error_code(data) == ErrorCode.AUDIO_UNREADABLE


def test_video_without_audio_is_unreadable() -> None:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert error_code(buf.getvalue()) == ErrorCode.AUDIO_UNREADABLE


def test_too_long_is_refused_with_the_limit_only() -> None:
    with pytest.raises(RenderError) as info:
        load_audio(wav(tone(70.0, 8000), 8000))
    assert info.value.code == ErrorCode.AUDIO_TOO_LONG
    assert info.value.params == {"max_seconds": 60.0}


def test_too_long_is_refused_while_decoding_when_headers_say_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audio_mod, "_declared_seconds", lambda *_: None)
    assert error_code(wav(tone(12.0, 8000), 8000), max_seconds=10.0) == ErrorCode.AUDIO_TOO_LONG


def test_exactly_the_limit_is_accepted() -> None:
    samples = load_audio(wav(tone(10.0, 16000), 16000), max_seconds=10.0)
    assert samples.size == 480_000


def test_too_short() -> None:
    assert error_code(wav(tone(0.1, 16000), 16000)) == ErrorCode.AUDIO_TOO_SHORT


@pytest.mark.parametrize(
    "make",
    [
        lambda: np.zeros(32000, np.float32),
        # A cheap microphone: DC offset and hiss far below speech level.
        lambda: (0.02 + np.random.default_rng(1).normal(0, 1e-3, 32000)).astype(np.float32),
        # One click in an otherwise empty recording.
        lambda: np.where(np.arange(32000) == 16000, 0.9, 0.0).astype(np.float32),
    ],
    ids=["zeros", "dc-and-hiss", "click"],
)
def test_silent(make: object) -> None:
    samples = make()  # type: ignore[operator]
    assert error_code(wav(samples, 16000)) == ErrorCode.AUDIO_SILENT


def test_short_quiet_speech_in_a_long_recording_is_not_silent() -> None:
    samples = np.zeros(16000 * 20, np.float32)
    samples[16000 : 16000 + 4800] = tone(0.3, 16000, amp=0.02)  # -37 dBFS peak, 0.3 s
    assert not is_silent(samples, 16000)
    assert load_audio(wav(samples, 16000), sample_rate=16000).size == samples.size


@pytest.mark.parametrize(("src", "dst"), [(16000, 48000), (44100, 48000), (48000, 22050)])
def test_resample_keeps_length_and_pitch(src: int, dst: int) -> None:
    out = resample(tone(1.0, src, freq=440.0), src, dst)
    assert out.dtype == np.float32
    assert out.size == dst
    expected = tone(1.0, dst, freq=440.0)
    middle = slice(dst // 4, 3 * dst // 4)  # skip the filter's edges
    assert np.abs(out[middle] - expected[middle]).max() < 0.01


def test_resample_same_rate_is_a_copy() -> None:
    samples = tone(0.5, 16000)
    out = resample(samples, 16000, 16000)
    assert out is not samples
    np.testing.assert_array_equal(out, samples)
