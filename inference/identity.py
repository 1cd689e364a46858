"""Face identity for responsible use: one descriptor per photo, or per verification video.

A video note is a live recording, which a stolen photo is not; several frames are described
and averaged, so one bad frame does not decide.
"""

from __future__ import annotations

import io

import av
import numpy as np

from inference.errors import ErrorCode, RenderError
from inference.face import FaceAnalyzer, load_image

_VIDEO_FRAMES = 6
_MIN_FRAMES_WITH_FACE = 3


def is_video(data: bytes) -> bool:
    return data[4:8] == b"ftyp"  # ISO media (MP4), as Telegram's video notes are


def describe_face(analyzer: FaceAnalyzer, data: bytes, *, max_pixels: int) -> list[float]:
    """The 128-d descriptor of the one face in a photo or a short video; typed refusals."""
    if not is_video(data):
        image = load_image(data, max_pixels=max_pixels)
        return [float(v) for v in analyzer.embedding(image, analyzer.find_face(image))]
    descriptors = []
    for frame in _sample_frames(data, _VIDEO_FRAMES):
        try:
            descriptors.append(analyzer.embedding(frame, analyzer.find_face(frame)))
        except RenderError:
            continue  # a blurred or turned-away frame; the others decide
    if len(descriptors) < _MIN_FRAMES_WITH_FACE:
        raise RenderError(ErrorCode.NO_FACE)
    return [float(v) for v in np.mean(descriptors, axis=0)]


def _sample_frames(data: bytes, count: int) -> list[np.ndarray]:
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    except (av.FFmpegError, IndexError, ValueError):
        raise RenderError(ErrorCode.IMAGE_UNREADABLE) from None
    if not frames:
        raise RenderError(ErrorCode.IMAGE_UNREADABLE)
    picks = np.linspace(0, len(frames) - 1, min(count, len(frames))).astype(int)
    return [frames[i] for i in picks]
