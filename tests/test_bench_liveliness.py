"""The liveliness benchmark's measurements on synthetic faces with known motion.

Faces are the module's generic 3D face, turned by known angles and projected through a pinhole
camera, so no fixture is needed; the rotations are built here, not with the module's own
angle conventions, so a sign or axis mix-up there fails.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from bench.liveliness import (
    FACE_MODEL_3D,
    brow_heights,
    brow_raises,
    count_swings,
    eye_aspect_ratio,
    fill_gaps,
    find_blinks,
    head_pose,
    interval_cv,
    liveliness,
    markdown,
    measure_note,
    nods_and_shakes,
    pose_std,
    region_motion,
)
from inference.face import FaceAnalyzer
from inference.pipeline import Renderer
from inference.settings import RenderSettings

FPS = 25.0
SIZE = (640, 640)
SECONDS = 10.0
FRAMES = int(SECONDS * FPS)
UPPER_LIDS, LOWER_LIDS = [37, 38, 43, 44], [41, 40, 47, 46]


def _project(points: np.ndarray) -> np.ndarray:
    """A pinhole camera with focal length 640 centred on a 640×640 frame."""
    return points[:, :2] / points[:, 2:] * 640.0 + 320.0


def _rotation(axis: int, degrees: float) -> np.ndarray:
    vector = np.zeros(3)
    vector[axis] = np.radians(degrees)
    matrix, _ = cv2.Rodrigues(vector)
    return np.asarray(matrix)


def _face(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> np.ndarray:
    """68 image points of the generic face turned by the given angles (degrees).

    Axes as the camera's: x right, y down, z away. The nose is nearest the camera, so turning
    about +x carries it down (a nod) and turning about -y carries it right.
    """
    rotation = _rotation(1, -yaw) @ _rotation(0, pitch) @ _rotation(2, roll)
    pivot = np.array([0.0, 0.0, 80.0])  # the neck, behind the face
    turned = (FACE_MODEL_3D - pivot) @ rotation.T + pivot
    return _project(turned + np.array([0.0, 0.0, 450.0]))


def _sequence(axis: str, amplitude: float = 5.0, hertz: float = 2.0) -> np.ndarray:
    t = np.arange(FRAMES) / FPS
    angles = amplitude * np.sin(2 * np.pi * hertz * t)
    return np.array([_face(**{axis: float(a)}) for a in angles])


def _still(frames: int = FRAMES) -> np.ndarray:
    return np.repeat(_face()[None], frames, axis=0)


def test_the_synthetic_face_turns_the_way_the_track_names_its_angles() -> None:
    front = _face()
    assert _face(pitch=5)[30, 1] > front[30, 1]  # a nod carries the nose down
    assert _face(yaw=5)[30, 0] > front[30, 0]  # yaw + carries it right
    assert _face(roll=5)[45, 1] > front[45, 1]  # clockwise: the right eye corner goes down


@pytest.mark.parametrize(
    ("turn", "expected"),
    [({"yaw": 6.0}, (6, 0, 0)), ({"pitch": -4.0}, (0, -4, 0)), ({"roll": 3.0}, (0, 0, 3))],
)
def test_head_pose_recovers_single_turns(
    turn: dict[str, float], expected: tuple[float, float, float]
) -> None:
    angles = head_pose(np.stack([_face(), _face(**turn)]), SIZE)
    assert angles[0] == pytest.approx((0, 0, 0), abs=0.05)
    assert angles[1] == pytest.approx(expected, abs=0.05)


def test_a_pitch_sinusoid_reads_as_nods_not_shakes() -> None:
    angles = head_pose(_sequence("pitch"), SIZE)
    yaw, pitch, roll = pose_std(angles)
    assert pitch == pytest.approx(5 / np.sqrt(2), rel=0.03)
    assert yaw < 0.05
    assert roll < 0.05
    nods, shakes = nods_and_shakes(angles, FPS)
    assert nods == pytest.approx(2 * 2 * SECONDS, abs=2)
    assert shakes == 0


def test_a_yaw_sinusoid_reads_as_shakes_not_nods() -> None:
    angles = head_pose(_sequence("yaw"), SIZE)
    yaw, pitch, _ = pose_std(angles)
    assert yaw == pytest.approx(5 / np.sqrt(2), rel=0.03)
    assert pitch < 0.05
    nods, shakes = nods_and_shakes(angles, FPS)
    assert shakes == pytest.approx(2 * 2 * SECONDS, abs=2)
    assert nods == 0


def test_small_turns_are_no_nods() -> None:
    angles = head_pose(_sequence("pitch", amplitude=1.2), SIZE)
    assert nods_and_shakes(angles, FPS) == (0, 0)


def test_a_still_face_is_still_even_with_landmark_jitter() -> None:
    still = liveliness(_still(), FPS, SIZE)
    assert still["yaw_std"] < 1e-6
    assert still["pitch_std"] < 1e-6
    assert still["nods"] == still["shakes"] == still["brow_raises"] == still["blinks"] == 0
    assert still["upper_motion"] == still["lower_motion"] == pytest.approx(0, abs=1e-9)
    assert np.isnan(still["upper_lower"])
    # dlib wanders by about half a pixel from frame to frame; that must not count as life.
    jitter = _still() + np.random.default_rng(0).normal(0, 0.5, (FRAMES, 68, 2))
    noisy = liveliness(jitter, FPS, SIZE)
    assert noisy["nods"] == noisy["shakes"] == noisy["brow_raises"] == noisy["blinks"] == 0
    assert noisy["pitch_std"] < 2.0


def test_count_swings_between_turning_points() -> None:
    assert count_swings(np.array([0, 5, 0, 5, 0.0]), 3) == 4
    assert count_swings(np.array([0, 2, 0, 2, 0.0]), 3) == 0
    # A 1° wiggle on the way up neither counts nor splits the 5° swing.
    assert count_swings(np.array([0, 4, 3, 5, 0.0]), 3) == 2
    assert count_swings(np.array([]), 3) == 0


def _blinking(frames: list[int], closed: float, length: int = 3) -> np.ndarray:
    """A still face whose upper lids come ``closed`` of the way down for ``length`` frames."""
    landmarks = _still()
    for start in frames:
        for frame in range(start, start + length):
            upper, lower = landmarks[frame, UPPER_LIDS], landmarks[frame, LOWER_LIDS]
            landmarks[frame, UPPER_LIDS] = upper + closed * (lower - upper)
    return landmarks


def test_blinks_are_counted_with_their_depth_and_timing() -> None:
    starts = [20, 70, 95, 180, 210]
    landmarks = _blinking(starts, closed=0.8)
    stats = liveliness(landmarks, FPS, SIZE)
    assert stats["blinks"] == len(starts)
    assert stats["blink_depth"] == pytest.approx(0.8, abs=0.01)
    intervals = np.diff(starts)
    assert stats["blink_cv"] == pytest.approx(np.std(intervals) / np.mean(intervals))
    assert stats["blink_cv"] > 0
    # The lids alone do not turn the head.
    assert stats["nods"] == stats["shakes"] == 0


def test_shallow_dips_and_long_closures_are_no_blinks() -> None:
    ear = eye_aspect_ratio(_blinking([50], closed=0.1))
    assert find_blinks(ear, FPS) == []
    ear = eye_aspect_ratio(_blinking([50], closed=0.9, length=int(FPS)))  # a second: a squint
    assert find_blinks(ear, FPS) == []


def test_blink_timing_needs_three_blinks() -> None:
    assert interval_cv([10, 50]) is None
    assert interval_cv([10, 50, 90]) == 0.0


def test_brow_raises_are_counted_in_eye_distances() -> None:
    landmarks = _still()
    iod = float(np.linalg.norm(landmarks[0, 45] - landmarks[0, 36]))
    starts = [25, 90, 140, 200]
    for start in starts:
        landmarks[start : start + 12, 17:27, 1] -= 0.05 * iod  # up by 0.05 IOD for ~0.5 s
    heights = brow_heights(landmarks)
    assert heights.max() - heights.min() == pytest.approx(0.05, rel=1e-3)
    assert brow_raises(heights, FPS) == len(starts)
    assert liveliness(landmarks, FPS, SIZE)["brow_std"] > 0.01


def test_brows_held_up_through_a_short_question_are_one_raise() -> None:
    landmarks = _still(100)  # 4 s
    iod = float(np.linalg.norm(landmarks[0, 45] - landmarks[0, 36]))
    landmarks[15:, 17:27, 1] -= 0.04 * iod  # up after 0.6 s, and up to the end
    assert brow_raises(brow_heights(landmarks), FPS) == 1


def test_brow_height_ignores_roll_and_scale() -> None:
    front, rolled = brow_heights(np.stack([_face(), _face(roll=10)]))
    assert rolled == pytest.approx(front, rel=1e-3)


def test_region_motion_removes_the_head_and_compares_upper_with_lower() -> None:
    # Rolling, shifting and scaling the whole face is head motion, not face motion.
    moved = []
    for index in range(20):
        angle = np.radians(index)
        turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        moved.append((_face() - 320) @ turn.T * (1 + index / 100) + 320 + index)
    assert region_motion(np.array(moved)) == pytest.approx((0, 0), abs=1e-9)
    # A jaw that opens and closes: all lower, no upper.
    jaw = _still(20)
    jaw[1::2, 5:12, 1] += 8
    jaw[1::2, 56:59, 1] += 8
    upper, lower = region_motion(jaw)
    assert upper == pytest.approx(0, abs=1e-9)
    assert lower > 0
    # Brows and jaw moving the same distance: the ratio is the share of points moved.
    both = jaw.copy()
    both[1::2, 17:27, 1] -= 8
    upper, lower = region_motion(both)
    assert upper / lower == pytest.approx((10 / 22) / (10 / 37), rel=0.05)


def test_frames_without_a_face_are_interpolated() -> None:
    landmarks = _still(5)
    landmarks[1, 30] += 4
    landmarks[2] = np.nan
    filled = fill_gaps(landmarks)
    assert filled[2, 30] == pytest.approx(
        landmarks[1, 30] + (landmarks[3, 30] - landmarks[1, 30]) / 2
    )
    stats = liveliness(landmarks, FPS, SIZE)
    assert stats["face_found"] == pytest.approx(0.8)


def test_markdown_sets_notes_beside_real_speakers() -> None:
    note = liveliness(_sequence("pitch"), FPS, SIZE)
    report = {
        "date": "2026-01-01",
        "machine": "test",
        "engines": {"tts": "espeak", "animator": "warp"},
        "run_seconds": 1.0,
        "status": "A test.",
        "texts": {"neutral": "а", "yes": "да", "no": "нет", "question": "да?"},
        "notes": [
            {"text": "neutral", "portrait": "face", "mimic": "calm", **note},
            {"text": "yes", "portrait": "face", "mimic": "calm", **note},
            {"text": "no", "portrait": "face", "mimic": "calm", "error": "no face"},
        ],
        "skipped": ["biden.jpg"],
    }
    text = markdown(report)
    assert "| real speakers | — | 4.6–10.5° / 3.9–5.8° / 3.0° | 120–135 |" in text
    nods = f"{note['nods']:.0f}"
    swings = f"{note['swings_per_min']:.0f}"
    assert f"| face | calm | 0.0° / 3.5° / 0.0° | {swings} ({swings}, 0) |" in text
    assert f"| yes | face | calm | 10.0 | {nods} | 0 | 3.5° / 0.0° |" in text
    assert "A test." in text
    assert "refused" in text
    assert "Skipped (not found): biden.jpg." in text


@pytest.mark.slow
def test_a_real_note_is_measured(
    tmp_path: Path, astronaut_png: bytes, analyzer: FaceAnalyzer
) -> None:
    renderer = Renderer(RenderSettings(), analyzer=analyzer)
    out = tmp_path / "note.mp4"
    renderer.render(astronaut_png, out, text="Привет, как дела.")
    stats = measure_note(out, analyzer, renderer.fps)
    assert stats["face_found"] > 0.9
    assert stats["frames"] == pytest.approx(stats["seconds"] * renderer.fps)
    for key in ("yaw_std", "pitch_std", "roll_std", "brow_std", "upper_lower"):
        assert np.isfinite(stats[key]), key
