"""The mouth benchmark's arithmetic on synthetic numbers with known answers (no rendering)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.mouth import (
    CLOSED_GAP,
    FrameTrack,
    best_lag_correlation,
    crop_square,
    extremes,
    frame_rms,
    lip_metrics,
    markdown,
    mouth_square,
    mouth_stats,
    speech_frames,
    strip,
)


def _landmarks(gap: float, width: float) -> np.ndarray:
    """68 points: outer eye corners 100 px apart, inner lips ``gap`` px apart."""
    lm = np.zeros((68, 2))
    lm[48:68] = (150, 200)  # the mouth, centred at (150, 200)
    lm[36], lm[45] = (100, 100), (200, 100)
    lm[48], lm[54] = (150 - width / 2, 200), (150 + width / 2, 200)
    lm[[61, 62, 63], 1] = 200 - gap / 2
    lm[[67, 66, 65], 1] = 200 + gap / 2
    return lm


def test_lip_metrics_are_in_eye_corner_distances() -> None:
    gap, width = lip_metrics(_landmarks(gap=12.0, width=60.0))
    assert gap == pytest.approx(0.12)
    assert width == pytest.approx(0.6)


def test_mouth_square_is_centred_and_scaled_by_mouth_width() -> None:
    cx, cy, side = mouth_square(_landmarks(gap=10.0, width=50.0))
    assert (cx, cy) == pytest.approx((150, 200))
    assert side == pytest.approx(2.2 * 50)


def test_crop_square_puts_the_centre_in_the_middle() -> None:
    image = np.zeros((300, 300, 3), np.uint8)
    image[195:205, 145:155] = 255  # a white dot at (150, 200)
    crop = crop_square(image, (150.0, 200.0, 100.0), 160)
    assert crop.shape == (160, 160, 3)
    ys, xs = np.nonzero(crop[..., 0] > 128)
    assert ys.mean() == pytest.approx(80, abs=1)
    assert xs.mean() == pytest.approx(80, abs=1)


def test_frame_rms_of_a_constant_signal() -> None:
    samples = np.full(16000, 0.5, np.float32)
    rms = frame_rms(samples, 16000, 25.0, 25)
    assert rms == pytest.approx(np.full(25, 0.5))


def test_speech_frames_are_loud_relative_to_the_clip() -> None:
    rms = np.array([0.0, 0.01, 0.5, 1.0, 1.0, 0.1])
    assert speech_frames(rms).tolist() == [False, False, True, True, True, False]


def test_stats_of_a_known_gap_series() -> None:
    fps = 25.0
    # 20 speech frames (loud): 4 closed (gap 0.01), 16 open at 0.1; then 5 silent frames.
    gap = np.array([0.01] * 4 + [0.1] * 16 + [0.0] * 5)
    width = np.linspace(0.5, 0.7, 25)
    rms = np.array([1.0] * 20 + [0.0] * 5)
    stats = mouth_stats(gap, width, rms, fps)
    assert stats["speech_seconds"] == pytest.approx(20 / fps)
    assert stats["face_found"] == 1.0
    assert stats["gap_median"] == pytest.approx(0.1)
    assert stats["closed_share"] == pytest.approx(4 / 20)
    assert stats["gap_std"] == pytest.approx(np.std([0.01] * 4 + [0.1] * 16))
    speech_widths = width[:20]
    spread = np.percentile(speech_widths, 95) - np.percentile(speech_widths, 5)
    assert stats["width_spread"] == pytest.approx(spread)
    assert CLOSED_GAP == 0.03


def test_stats_skip_frames_without_a_face() -> None:
    gap = np.array([np.nan] * 5 + [0.2] * 15)
    stats = mouth_stats(gap, np.full(20, 0.6), np.ones(20), 25.0)
    assert stats["face_found"] == pytest.approx(0.75)
    assert stats["gap_median"] == pytest.approx(0.2)
    assert stats["closed_share"] == 0.0


def test_best_lag_correlation_finds_a_shifted_copy() -> None:
    rng = np.random.default_rng(0)
    rms = rng.random(100)
    gap = np.roll(rms, 2)  # the mouth follows the sound two frames late
    assert best_lag_correlation(gap, rms) == pytest.approx(1.0, abs=0.02)
    assert best_lag_correlation(gap, rms, max_lag=0) < 0.5


def test_extremes_pick_spaced_widest_and_most_closed_speech_frames() -> None:
    gap = np.array([0.9, 0.8, 0.1, 0.5, 0.7, 0.0, 0.6, 0.05, 0.3, 1.0])
    mask = np.ones(10, bool)
    mask[9] = False  # the widest frame is not speech
    widest, closed = extremes(gap, mask, 2, spacing=2)
    assert widest == [0, 4]  # 1 is adjacent to 0
    assert closed == [5, 7]


def test_strip_has_two_rows_of_six_tiles_even_when_short() -> None:
    crops = [np.zeros((160, 160, 3), np.uint8)] * 3
    track = FrameTrack(np.array([0.1, 0.2, 0.0]), np.full(3, 0.6), list(crops))
    image = strip(track, [1, 0], [2])
    assert image.shape == (320, 960, 3)


def test_markdown_has_the_comparison_row_and_the_threshold() -> None:
    report: dict[str, object] = {
        "machine": "test-machine, 2 cores, Python 3.11",
        "engines": {"tts": "espeak", "animator": "warp"},
        "run_seconds": 1.0,
        "text": "Привет.",
        "text_seconds": 1.0,
        "skipped": ["biden.jpg"],
        "portraits": [
            {
                "name": "astronaut",
                "speech_seconds": 6.9,
                "face_found": 1.0,
                "gap_median": 0.143,
                "gap_std": 0.032,
                "closed_share": 0.25,
                "width_p5": 0.66,
                "width_p95": 0.76,
                "width_spread": 0.1,
                "r": None,
                "render_seconds": 2.4,
            },
            {"name": "painting", "error": "face_not_found"},
        ],
    }
    text = markdown(report)
    assert "| real speakers (face-mesh, for comparison) |" in text
    assert "0.087–0.122" in text and "11–14 %" in text
    assert "| astronaut | 6.9 s | 1.000 | 0.143 | 0.032 | 25 % | 0.100 (0.66–0.76) | — |" in text
    assert "refused: face_not_found" in text
    assert "below 0.03" in text
    assert "test-machine" in text and "biden.jpg" in text
