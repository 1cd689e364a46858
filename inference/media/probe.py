"""Inspecting rendered video notes: what Telegram will see, read back from the file itself.

Used by tests and checks, not on the hot path: :func:`probe` reports the properties Telegram's
rules are about (square H.264/AAC, duration, fast start), :func:`read_frames` and
:func:`read_audio` give the decoded content for analysis.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np
import numpy.typing as npt

from inference.media.audio import frames_to_mono


@dataclass(frozen=True)
class NoteInfo:
    width: int
    height: int
    fps: float
    frames: int
    duration: float  # container duration, seconds
    video_codec: str
    pix_fmt: str
    audio_codec: str | None
    audio_sample_rate: int | None
    size_bytes: int
    faststart: bool  # moov before mdat: playback can start while downloading
    metadata: dict[str, str] = field(default_factory=dict)
    video_duration: float = 0.0
    audio_duration: float | None = None
    audio_channels: int | None = None


def probe(path: Path | str) -> NoteInfo:
    """Describe the MP4 at ``path``; raises ``av.FFmpegError`` if it is not a media file."""
    path = Path(path)
    with av.open(str(path), mode="r") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        fps = float(video.average_rate) if video.average_rate else 0.0
        frames = video.frames or _count_frames(container, video)
        return NoteInfo(
            width=video.codec_context.width,
            height=video.codec_context.height,
            fps=fps,
            frames=frames,
            duration=(container.duration or 0) / av.time_base,
            video_codec=video.codec_context.name,
            pix_fmt=video.codec_context.pix_fmt or "",
            audio_codec=audio.codec_context.name if audio else None,
            audio_sample_rate=audio.codec_context.sample_rate if audio else None,
            size_bytes=path.stat().st_size,
            faststart=_moov_before_mdat(path),
            metadata=dict(container.metadata),
            video_duration=_stream_seconds(video) or (frames / fps if fps else 0.0),
            audio_duration=_stream_seconds(audio) if audio else None,
            audio_channels=audio.codec_context.channels if audio else None,
        )


def read_frames(path: Path | str) -> Iterator[npt.NDArray[np.uint8]]:
    """Decode the video track as RGB uint8 frames of shape (height, width, 3)."""
    with av.open(str(path), mode="r") as container:
        for frame in container.decode(video=0):
            yield np.asarray(frame.to_ndarray(format="rgb24"), dtype=np.uint8)


def read_audio(path: Path | str) -> tuple[npt.NDArray[np.float32], int]:
    """Decode the first audio track to float32 mono; returns (samples, sample_rate)."""
    with av.open(str(path), mode="r") as container:
        if not container.streams.audio:
            raise ValueError("no audio stream")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        resampler = av.AudioResampler(format="fltp", rate=rate)  # only the sample format
        frames = [out for frame in container.decode(stream) for out in resampler.resample(frame)]
        frames += resampler.resample(None)
    return frames_to_mono(frames), rate


def top_level_boxes(path: Path | str) -> list[str]:
    """Types of the top-level MP4 boxes, in file order (e.g. ftyp, moov, mdat)."""
    with open(path, "rb") as f:
        return list(_walk_boxes(f))


def _walk_boxes(f: BinaryIO) -> Iterator[str]:
    """Yield box types by hopping over box sizes; stops at the end or a malformed header."""
    end = f.seek(0, 2)
    offset = 0
    while offset + 8 <= end:
        f.seek(offset)
        size, kind = struct.unpack(">I4s", f.read(8))
        if size == 1:  # 64-bit "largesize" follows the type
            (size,) = struct.unpack(">Q", f.read(8))
        elif size == 0:  # box runs to the end of the file
            size = end - offset
        if size < 8:
            return
        yield kind.decode("latin-1")
        offset += size


def _moov_before_mdat(path: Path) -> bool:
    boxes = top_level_boxes(path)
    if "moov" not in boxes:
        return False
    return "mdat" not in boxes or boxes.index("moov") < boxes.index("mdat")


def _stream_seconds(stream: av.VideoStream | av.AudioStream) -> float | None:
    if stream.duration is None or stream.time_base is None:
        return None
    return float(stream.duration * stream.time_base)


def _count_frames(container: av.container.InputContainer, video: av.VideoStream) -> int:
    """Fallback when the header has no frame count: count packets (no decoding needed)."""
    count = sum(1 for packet in container.demux(video) if packet.size)
    return count
