"""Measurements on rendered notes, made with the same dlib models the pipeline uses.

These are the checks the render pipeline is held to (issue #2): the face is found, the mouth
moves with the sound (and not with the sound reversed), identity is kept, the background stays.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from inference.face import CONFIDENT_SCORE, FaceAnalyzer
from inference.media import read_audio, read_frames

FloatArray = npt.NDArray[np.float64]
_DETECT_SIDE = 320


@dataclass(frozen=True)
class NoteMeasure:
    frames: list[npt.NDArray[np.uint8]]
    found: npt.NDArray[np.bool_]  # a face was detected in the frame
    opening: FloatArray  # inner-lip gap over the eye distance, NaN where no face
    loudness: FloatArray  # audio RMS per video frame
    fps: float


def measure(path: Path, analyzer: FaceAnalyzer, fps: float) -> NoteMeasure:
    frames = list(read_frames(path))
    found, opening = [], []
    for frame in frames:
        scale = _DETECT_SIDE / frame.shape[1]
        small = np.asarray(
            cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8
        )
        # Only confident detections: dlib also scores weak "faces" in clothing and props.
        boxes = analyzer.detect_all(small, min_score=CONFIDENT_SCORE)
        found.append(len(boxes) == 1)
        if not boxes:
            opening.append(np.nan)
            continue
        box = [v / scale for v in boxes[0]]
        lm = analyzer.landmarks_in(frame, box).astype(np.float64)
        gap = np.linalg.norm(lm[[61, 62, 63]] - lm[[67, 66, 65]], axis=1).mean()
        eyes = np.linalg.norm(lm[42:48].mean(0) - lm[36:42].mean(0))
        opening.append(gap / eyes)
    samples, rate = read_audio(path)
    return NoteMeasure(
        frames,
        np.array(found),
        np.array(opening),
        frame_loudness(samples, rate, fps, len(frames)),
        fps,
    )


def frame_loudness(
    samples: npt.NDArray[np.float32], rate: int, fps: float, count: int
) -> FloatArray:
    hop = rate / fps
    values = []
    for index in range(count):
        chunk = samples[int(index * hop) : int((index + 1) * hop)]
        values.append(
            float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2))) if chunk.size else 0.0
        )
    return np.array(values)


def best_lag_correlation(opening: FloatArray, loudness: FloatArray, max_lag: int) -> float:
    """Highest Pearson r over lags of at most ``max_lag`` frames either way."""
    best = -1.0
    for lag in range(-max_lag, max_lag + 1):
        a = opening[max(0, lag) : len(opening) + min(0, lag)]
        b = loudness[max(0, -lag) : len(loudness) + min(0, -lag)]
        valid = ~np.isnan(a)
        if valid.sum() > 10:
            best = max(best, float(np.corrcoef(a[valid], b[valid])[0, 1]))
    return best


def voice_message(samples: npt.NDArray[np.float32], rate: int) -> bytes:
    """An OGG/Opus file like the ones Telegram sends for voice messages."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48000, layout="mono")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = rate
        for resampled in resampler.resample(frame):
            container.mux(stream.encode(resampled))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def median_pitch(samples: npt.NDArray[np.float32], rate: int) -> float:
    """Median autocorrelation pitch (Hz) over the voiced 40 ms windows of mono ``samples``.

    Voiced: RMS at least a tenth of the loudest window's, so the level of the recording (a
    synthesized voice, or a note's audio after encoding) does not matter.
    """
    size = int(0.04 * rate)
    lags = np.arange(int(rate / 400), int(rate / 70))
    windows = [samples[i : i + size] for i in range(0, len(samples) - size, size)]
    levels = [float(np.sqrt(np.mean(w.astype(np.float64) ** 2))) for w in windows]
    loudest = max(levels, default=0.0)
    estimates = []
    for window, level in zip(windows, levels, strict=True):
        if loudest == 0.0 or level < loudest / 10:
            continue
        corr = np.correlate(window, window, mode="full")[size - 1 :]
        estimates.append(rate / lags[np.argmax(corr[lags])])
    return float(np.median(estimates)) if estimates else 0.0
