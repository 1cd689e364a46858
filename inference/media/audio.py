"""Decoding user audio (voice messages and uploaded files) into float32 mono samples.

Everything the bot receives goes through :func:`load_audio`: Telegram voice messages are
OGG/Opus, but people also send mp3, m4a and wav. Whatever the container, the result is one
normalized representation (float32 mono in ``[-1, 1]`` at a fixed rate), and every way the
input can be unusable maps to a typed :class:`~inference.errors.RenderError`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator

import av
import numpy as np
import numpy.typing as npt

from inference.errors import ErrorCode, RenderError

Samples = npt.NDArray[np.float32]

# Lossy codecs pad the end of a stream (Opus pre-skip, AAC frames of 1024 samples), so a
# 60.0 s recording can decode to a few ms more; that much is trimmed, not refused.
_LENGTH_SLACK_S = 0.05
# Loudness analysis: windows of 50 ms; a window counts as sound above -50 dBFS (after removing
# DC, which cheap microphones add). Less than 0.15 s of sound in total means "silent": one
# click (smeared over two windows at most) is not speech; a short "да" (~0.25 s) passes.
_WINDOW_S = 0.05
_SILENCE_DBFS = -50.0
_MIN_SOURCE_RATE = 4000
_MIN_SOUND_S = 0.15


def load_audio(
    data: bytes,
    *,
    sample_rate: int = 48000,
    max_seconds: float = 60.0,
    min_seconds: float = 0.5,
) -> Samples:
    """Decode ``data`` (any container FFmpeg reads) to float32 mono at ``sample_rate``.

    Raises ``RenderError`` with AUDIO_UNREADABLE, AUDIO_TOO_LONG, AUDIO_TOO_SHORT or
    AUDIO_SILENT. Parameters of the error are the limits only, never anything about the input.
    """
    if not data:
        raise RenderError(ErrorCode.AUDIO_UNREADABLE)
    max_samples = round(max_seconds * sample_rate)
    samples = _decode(data, sample_rate, max_seconds, max_samples)
    if samples.size == 0:
        # Random bytes sometimes pass FFmpeg's probing (e.g. as raw mp3) yet decode to nothing.
        raise RenderError(ErrorCode.AUDIO_UNREADABLE)
    samples = samples[:max_samples]
    if samples.size < min_seconds * sample_rate:
        raise RenderError(ErrorCode.AUDIO_TOO_SHORT, min_seconds=min_seconds)
    if is_silent(samples, sample_rate):
        raise RenderError(ErrorCode.AUDIO_SILENT)
    return samples


def resample(samples: npt.NDArray[np.floating], from_rate: int, to_rate: int) -> Samples:
    """Resample mono ``samples`` to ``to_rate``; the result has exactly the expected length.

    Uses FFmpeg's resampler (via PyAV), which is band-limited and fast; its output length can
    differ from ``n * to / from`` by a few samples of filter delay, so it is trimmed or padded
    to keep durations exact (the encoder matches audio to video by sample count).
    """
    mono = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
    if from_rate == to_rate or mono.size == 0:
        return mono.copy()
    target = round(mono.size * to_rate / from_rate)
    frame = av.AudioFrame.from_ndarray(mono.reshape(1, -1), format="flt", layout="mono")
    frame.sample_rate = from_rate
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
    out = [*resampler.resample(frame), *resampler.resample(None)]
    return fit_length(frames_to_mono(out), target)


def fit_length(samples: Samples, length: int) -> Samples:
    """Trim or zero-pad ``samples`` to exactly ``length``."""
    if samples.size >= length:
        return samples[:length]
    return np.concatenate([samples, np.zeros(length - samples.size, dtype=np.float32)])


def is_silent(samples: Samples, sample_rate: int) -> bool:
    """True when there is less than ~0.15 s of anything louder than -50 dBFS."""
    window = max(1, int(_WINDOW_S * sample_rate))
    count = samples.size // window
    if count == 0:
        windows = samples.reshape(1, -1)
    else:
        windows = samples[: count * window].reshape(count, window)
    level = windows.std(axis=1)  # std, not RMS: DC offset is not sound
    threshold = 10.0 ** (_SILENCE_DBFS / 20.0)
    loud_seconds = float(np.count_nonzero(level >= threshold)) * window / sample_rate
    return loud_seconds < min(_MIN_SOUND_S, samples.size / sample_rate / 2)


def _decode(data: bytes, sample_rate: int, max_seconds: float, max_samples: int) -> Samples:
    """Decode the first audio stream, refusing anything longer than ``max_seconds``."""
    limit = max_samples + int(_LENGTH_SLACK_S * sample_rate)
    chunks: list[Samples] = []
    decoded = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise RenderError(ErrorCode.AUDIO_UNREADABLE)
            stream = container.streams.audio[0]
            # Cheap early refusal: a 5-minute file is rejected from its header, undecoded.
            declared = _declared_seconds(container.duration, stream)
            if declared is not None and declared > max_seconds + _LENGTH_SLACK_S:
                raise RenderError(ErrorCode.AUDIO_TOO_LONG, max_seconds=max_seconds)
            # Keep the source's channels here and average them below: FFmpeg's own downmix
            # adds both channels at -3 dB, making a dual-mono recording 3 dB louder.
            # Packed output: PyAV misreports the planes of 8+-channel planar frames (and
            # reading them crashes the process); packed float is read safely by reshaping.
            resampler = av.AudioResampler(format="flt", rate=sample_rate)
            codec = stream.codec_context
            if codec is None or not codec.sample_rate or codec.sample_rate < _MIN_SOURCE_RATE:
                # A 1 Hz "recording" upsampled to 48 kHz would take gigabytes before any
                # length check could see it; no real voice message is recorded that way.
                raise RenderError(ErrorCode.AUDIO_UNREADABLE)
            # Headers can lie (or be absent), so the limit is enforced while decoding too.
            for chunk in _decoded_chunks(container, stream, resampler):
                chunks.append(chunk)
                decoded += chunk.size
                if decoded > limit:
                    raise RenderError(ErrorCode.AUDIO_TOO_LONG, max_seconds=max_seconds)
    except (av.FFmpegError, ValueError, OSError, EOFError):
        # Whatever FFmpeg chokes on is "unreadable"; details would only echo the user's file.
        raise RenderError(ErrorCode.AUDIO_UNREADABLE) from None
    if not chunks:
        return np.zeros(0, dtype=np.float32)
    # NaN or infinite samples (a broken float WAV) would poison every later stage.
    samples = np.nan_to_num(np.concatenate(chunks), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(samples, -1.0, 1.0)


def _decoded_chunks(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    resampler: av.AudioResampler,
) -> Iterator[Samples]:
    """Yield mono float32 chunks; undecodable packets are skipped, as players do."""
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.InvalidDataError:
            continue
        for frame in frames:
            if isinstance(frame, av.AudioFrame):
                yield frames_to_mono(resampler.resample(frame))
    yield frames_to_mono(resampler.resample(None))


def _declared_seconds(container_duration: int | None, stream: av.AudioStream) -> float | None:
    """The duration the headers claim, if any (container first, then the stream)."""
    if container_duration is not None and container_duration > 0:
        return container_duration / av.time_base
    if stream.duration is not None and stream.time_base is not None:
        seconds = float(stream.duration * stream.time_base)
        return seconds if math.isfinite(seconds) and seconds > 0 else None
    return None


def frames_to_mono(frames: list[av.AudioFrame]) -> Samples:
    """Concatenate float frames (planar, or packed) into one mono array.

    Channels are averaged, so identical channels keep their level and nothing can clip.
    """
    if not frames:
        return np.zeros(0, dtype=np.float32)
    parts = []
    for frame in frames:
        channels = len(frame.layout.channels)
        if frame.format.is_planar:
            parts.append(np.asarray(frame.to_ndarray(), dtype=np.float32).mean(axis=0))
        else:
            packed = np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1, channels)
            parts.append(packed.mean(axis=1))
    return np.concatenate(parts).astype(np.float32, copy=False)
