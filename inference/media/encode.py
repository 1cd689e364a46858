"""Writing Telegram video notes: square H.264 + AAC in a fast-start MP4.

Telegram plays a video note only if it is a square MP4 (H.264 yuv420p, AAC), at most 60 s,
with the ``moov`` atom before ``mdat`` so it can start before the download ends. The encoder
takes RGB frames one by one while the caller is still generating them: colour conversion is
done on the caller's thread (OpenCV releases the GIL and it is cheap at 640), x264 encoding
and muxing run on a background thread behind a small bounded queue, so frame generation and
encoding overlap instead of alternating. (OpenCV's RGB→I420 plus wrapping the planes costs
~0.3 ms a frame here, PyAV's swscale ``reformat`` ~1.4 ms.)

The output appears atomically: everything is written to ``.{name}.part`` beside the target
and renamed on success; on any failure the partial file is removed.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Final

import av
import cv2
import numpy as np
import numpy.typing as npt
from av.video.reformatter import ColorPrimaries, ColorRange, ColorTrc

from inference.media.audio import fit_length, resample

AUDIO_RATE: Final = 48000
MIN_SIZE: Final = 240
MAX_SIZE: Final = 640
MAX_FPS: Final = 60

_AUDIO_BITRATE = 64_000  # mono speech: transparent enough, ~0.5 MB per minute
_KEYINT_SECONDS = 4  # mostly static picture: I-frames dominate the size, so keep them rare
# A few frames of slack between the caller and the encoder thread: enough to smooth out
# jitter, small enough that memory stays bounded (640×640 I420 is 600 KB a frame).
_QUEUE_FRAMES = 8
# AVCOL_SPC_SMPTE170M: PyAV's Colorspace enum holds swscale's numbering, not AVColorSpace's.
_AVCOL_SPC_SMPTE170M = 6

_STOP: Final = object()


class NoteEncoder:
    """Context manager writing one video note to ``path``.

    ``audio`` (float32 mono in ``[-1, 1]`` at ``sample_rate``) is laid under the frames and
    trimmed or zero-padded to the video's duration, so both tracks end together.
    """

    def __init__(
        self,
        path: Path,
        *,
        size: int,
        fps: int,
        audio: npt.NDArray[np.floating],
        sample_rate: int,
        metadata: dict[str, str] | None = None,
        crf: int = 26,
        preset: str = "veryfast",
        max_seconds: float = 60.0,
        seal: Callable[[Path], None] | None = None,
    ) -> None:
        _check_params(size, fps, sample_rate, crf, max_seconds)
        self._path = Path(path)
        self._tmp = self._path.with_name(f".{self._path.name}.part")
        self._size = size
        self._fps = fps
        self._crf = crf
        self._preset = preset
        self._metadata = dict(metadata or {})
        self._seal = seal  # last touch on the finished file, before it takes its name (signing)
        self._max_frames = math.floor(max_seconds * fps + 1e-9)
        samples = np.clip(np.asarray(audio, dtype=np.float32).reshape(-1), -1.0, 1.0)
        self._audio = resample(samples, sample_rate, AUDIO_RATE)

        self._container: av.container.OutputContainer | None = None
        self._video: av.VideoStream | None = None
        self._sound: av.AudioStream | None = None
        self._thread: threading.Thread | None = None
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_FRAMES)
        self._error: BaseException | None = None  # set by the worker, raised to the caller
        self._cancelled = False
        self._frames_in = 0  # accepted by write()
        self._frames_out = 0  # encoded by the worker
        self._audio_fed = 0  # samples handed to the AAC encoder

    @property
    def frames(self) -> int:
        """Frames accepted so far."""
        return self._frames_in

    def __enter__(self) -> NoteEncoder:
        try:
            self._open()
        except BaseException:
            self._discard()
            raise
        self._thread = threading.Thread(target=self._run, name="note-encoder", daemon=True)
        self._thread.start()
        return self

    def write(self, frame: npt.NDArray[np.uint8]) -> None:
        """Queue one RGB uint8 frame of shape (size, size, 3); blocks if the encoder lags."""
        if self._thread is None:
            raise RuntimeError("NoteEncoder must be used as a context manager")
        self._raise_worker_error()
        if frame.shape != (self._size, self._size, 3) or frame.dtype != np.uint8:
            raise ValueError(f"expected uint8 frame of {self._size}×{self._size}×3")
        if self._frames_in >= self._max_frames:
            raise ValueError(f"video note is limited to {self._max_frames} frames")
        # cvtColor allocates a new buffer, so the caller may reuse ``frame`` right away.
        # Its BT.601 limited-range output matches what swscale (and the VUI we set) means.
        yuv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2YUV_I420)
        self._queue.put(yuv)
        self._frames_in += 1

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._cancelled = True
        self._stop_worker()
        if exc_type is not None:
            self._discard()
            return
        try:
            self._raise_worker_error()
            if self._frames_out == 0:
                raise ValueError("no frames were written")
            self._finish()
            if self._seal is not None:
                self._seal(self._tmp)
            os.replace(self._tmp, self._path)
        except BaseException:
            self._discard()
            raise

    # -- setup and teardown (caller's thread) -------------------------------------------

    def _open(self) -> None:
        container = av.open(
            str(self._tmp), mode="w", format="mp4", options={"movflags": "+faststart"}
        )
        self._container = container
        for key, value in self._metadata.items():
            container.metadata[key] = value
        self._video = self._add_video(container)
        self._sound = self._add_audio(container)
        # Opens the codecs and writes the header now, so bad settings fail here, on the
        # caller's thread, rather than at the first frame inside the worker.
        container.start_encoding()

    def _add_video(self, container: av.container.OutputContainer) -> av.VideoStream:
        options = {
            "crf": str(self._crf),
            "preset": self._preset,
            "g": str(_KEYINT_SECONDS * self._fps),
        }
        stream = container.add_stream("libx264", rate=self._fps, options=options)
        stream.width = stream.height = self._size
        stream.pix_fmt = "yuv420p"
        ctx = stream.codec_context
        ctx.thread_count = 0  # x264 picks its own frame threads for the cores there are
        # Tag the colour space explicitly: untagged video is guessed as BT.709 by some
        # players, which shifts skin tones of our BT.601 frames.
        ctx.color_range = ColorRange.MPEG
        ctx.color_primaries = ColorPrimaries.SMPTE170M
        ctx.color_trc = ColorTrc.SMPTE170M
        ctx.colorspace = _AVCOL_SPC_SMPTE170M
        return stream

    def _add_audio(self, container: av.container.OutputContainer) -> av.AudioStream:
        stream = container.add_stream("aac", rate=AUDIO_RATE)
        stream.layout = "mono"
        stream.codec_context.bit_rate = _AUDIO_BITRATE
        return stream

    def _stop_worker(self) -> None:
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    def _finish(self) -> None:
        """Flush both encoders and write the trailer (the faststart pass happens here)."""
        assert self._container is not None and self._video is not None
        assert self._sound is not None
        self._container.mux(self._video.encode(None))
        self._feed_audio(self._audio_target(self._frames_out))
        self._container.mux(self._sound.encode(None))
        self._container.close()

    def _discard(self) -> None:
        """Drop everything written so far; never leaves a partial file behind."""
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
        self._tmp.unlink(missing_ok=True)

    def _raise_worker_error(self) -> None:
        if self._error is not None:
            raise self._error

    # -- worker thread ------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            # After a failure keep draining, so a write() blocked on a full queue wakes up.
            if self._error is not None or self._cancelled:
                continue
            try:
                self._encode(item)  # type: ignore[arg-type]
            except BaseException as exc:
                self._error = exc

    def _encode(self, yuv: npt.NDArray[np.uint8]) -> None:
        assert self._container is not None and self._video is not None
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = self._frames_out
        frame.time_base = Fraction(1, self._fps)
        self._container.mux(self._video.encode(frame))
        self._frames_out += 1
        # Audio follows the video frame by frame, so the muxer interleaves the two tracks
        # and a player can start before the whole file is there.
        self._feed_audio(self._audio_target(self._frames_out))

    def _audio_target(self, frames: int) -> int:
        """Audio samples that span ``frames`` video frames."""
        return round(frames * AUDIO_RATE / self._fps)

    def _feed_audio(self, until: int) -> None:
        """Encode audio up to sample ``until``, padding with silence past the input's end."""
        assert self._container is not None and self._sound is not None
        if until <= self._audio_fed:
            return
        chunk = fit_length(self._audio[self._audio_fed : until], until - self._audio_fed)
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._audio_fed
        frame.time_base = Fraction(1, AUDIO_RATE)
        self._container.mux(self._sound.encode(frame))
        self._audio_fed = until


def _check_params(size: int, fps: int, sample_rate: int, crf: int, max_seconds: float) -> None:
    if not MIN_SIZE <= size <= MAX_SIZE or size % 2:
        raise ValueError(f"size must be even and within {MIN_SIZE}..{MAX_SIZE}")
    if not 1 <= fps <= MAX_FPS:
        raise ValueError(f"fps must be within 1..{MAX_FPS}")
    if sample_rate <= 0:
        raise ValueError("sample_rate must be positive")
    if not 0 <= crf <= 51:
        raise ValueError("crf must be within 0..51")
    if not 0 < max_seconds <= 60:
        raise ValueError("max_seconds must be within (0, 60]: Telegram's limit for notes")
