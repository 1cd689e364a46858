"""Liveliness: how much the whole face moves (head, brows, blinks), measured from landmarks.

``python -m bench.liveliness`` renders notes through the real pipeline, finds dlib's 68
landmarks on every frame and measures, independently of the animator's internals:

* head pose per frame (``cv2.solvePnP`` against a generic 3D face): yaw, pitch and roll std,
  and nods (pitch) and shakes (yaw) per minute, counted as swings of at least 3°;
* brow height over the eye line, in outer eye-corner distances (IOD): std and raises per minute;
* blinks from the eye aspect ratio: rate, depth (share of the opening lost), timing (CV);
* upper- over lower-face motion, after the head's rigid motion is taken out.

Notes: a neutral ~20 s text on three face fixtures, and "да", "нет" and question texts, at
every mimic level the renderer offers. Writes ``bench/liveliness.json`` and
``bench/liveliness.md``; ``--status "..."`` puts a note on the animator's state above the
tables. Face photos come from ``$GOVORUN_FIXTURES_DIR`` (the astronaut stands in when it is
unset). About 4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime
import inspect
import json
import os
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from bench.mouth import engines_line, for_json, machine, number
from bench.report import write_report
from inference.demo import astronaut, png
from inference.errors import RenderError
from inference.face import CONFIDENT_SCORE, FaceAnalyzer
from inference.media import read_frames
from inference.pipeline import Renderer
from inference.settings import RenderSettings

HERE = Path(__file__).resolve().parent
FIXTURES_ENV = "GOVORUN_FIXTURES_DIR"
PORTRAITS = ("obama.jpg", "obama2.jpg", "biden.jpg")
TEXTS = {
    # Everyday speech with no "да", "нет", "не" or question: whatever moves here is idle life.
    "neutral": (
        "Сегодня утром я вышел из дома пораньше и прогулялся до парка. По дороге зашёл в "
        "булочную и купил свежий хлеб с изюмом. В парке было тихо, на скамейках сидели пожилые "
        "люди, а дети кормили уток у пруда. Потом я встретил старого друга, и мы долго говорили "
        "о работе, о книгах и о планах на лето. Вечером мы собираемся в кино, а в выходные "
        "поедем за город к родителям."
    ),
    "yes": "Да, конечно. Да, верно, я согласен. Угу, да.",
    "no": "Нет. Нет, ни за что. Нет, не-а, никогда.",
    "question": "Вы уже были в Петербурге? Правда? А когда вы поедете туда снова?",
}
SEED = 1
DETECT_SIDE = 320  # detect on a copy this wide (as bench/mouth.py), landmarks at full size

SMOOTH_S = 0.05  # Gaussian sigma before counting swings: takes dlib's jitter, keeps 2 Hz nods
SWING_DEG = 3.0  # a nod or shake: a swing of at least this between turning points
BROW_RAISE_IOD = 0.02  # a brow raise: this far above the brows' resting height ...
BROW_RELEASE_IOD = 0.01  # ... and over once back under this (hysteresis against jitter)
BROW_BASELINE_S = 3.0  # the resting height: a low percentile over this window
BROW_REST_PERCENT = 10.0
# A blink: the eye aspect ratio below (1 - BLINK_DROP) × its median; dlib sees a rendered
# blink only 25-40 % deep, and its jitter stays within 12 %.
BLINK_DROP = 0.2
BLINK_MAX_S = 0.5  # real blinks last 0.1-0.4 s; longer dips are squints
BLINK_MERGE = 2  # dips this many frames apart or less are one blink

# A generic 3D face: the 68-point mean face of OpenFace (the model many dlib head-pose scripts
# use), in camera axes: x to the image's right, y down, z away from the camera (the nose tip
# is nearest). Units are about millimetres; only the shape matters.
FACE_MODEL_3D = np.array(
    [
        [-73.393523, -29.801432, 47.667532],
        [-72.775014, -10.949766, 45.909403],
        [-70.533638, 7.929818, 44.842580],
        [-66.850058, 26.074280, 43.141114],
        [-59.790187, 42.564390, 38.635298],
        [-48.368973, 56.481080, 30.750622],
        [-34.121101, 67.246992, 18.456453],
        [-17.875411, 75.056892, 3.609035],
        [0.098749, 77.061286, -0.881698],
        [17.477031, 74.758448, 5.181201],
        [32.648966, 66.929021, 19.176563],
        [46.372358, 56.311389, 30.770570],
        [57.343480, 42.419126, 37.628629],
        [64.388482, 25.455880, 40.886309],
        [68.212038, 6.990805, 42.281449],
        [70.486405, -11.666193, 44.142567],
        [71.375822, -30.365191, 47.140426],
        [-61.119406, -49.361602, 14.254422],
        [-51.287588, -58.769795, 7.268147],
        [-37.804800, -61.996155, 0.442051],
        [-24.022754, -61.033399, -6.606501],
        [-11.635713, -56.686759, -11.967398],
        [12.056636, -57.391033, -12.051204],
        [25.106256, -61.902186, -7.315098],
        [38.338588, -62.777713, -1.022953],
        [51.191007, -59.302347, 5.349435],
        [60.053851, -50.190255, 11.615746],
        [0.653940, -42.193790, -13.380835],
        [0.804809, -30.993721, -21.150853],
        [0.992204, -19.944596, -29.284036],
        [1.226783, -8.414541, -36.948060],
        [-14.772472, 2.598255, -20.132003],
        [-7.180239, 4.751589, -23.536684],
        [0.555920, 6.562900, -25.944448],
        [8.272499, 4.661005, -23.695741],
        [15.214351, 2.643046, -20.858157],
        [-46.047290, -37.471411, 7.037989],
        [-37.674688, -42.730510, 3.021217],
        [-27.883856, -42.711517, 1.353629],
        [-19.648268, -36.754742, -0.111088],
        [-28.272965, -35.134493, -0.147273],
        [-38.082418, -34.919043, 1.476612],
        [19.265868, -37.032306, -0.665746],
        [27.894191, -43.342445, 0.247660],
        [37.437529, -43.110822, 1.696435],
        [45.170805, -38.086515, 4.894163],
        [38.196454, -35.532024, 0.282961],
        [28.764989, -35.484289, -1.172675],
        [-28.916267, 28.612716, -2.240310],
        [-17.533194, 22.172187, -15.934335],
        [-6.684590, 19.029051, -22.611355],
        [0.381001, 20.721118, -23.748437],
        [8.375443, 19.035460, -22.721995],
        [18.876618, 22.394109, -15.610679],
        [28.794412, 28.079924, -3.217393],
        [19.057574, 36.298248, -14.987997],
        [8.956375, 39.634575, -22.554245],
        [0.381549, 40.395647, -23.591626],
        [-7.428895, 39.836405, -22.406106],
        [-18.160634, 36.677899, -15.121907],
        [-24.377490, 28.677771, -4.785684],
        [-6.897633, 25.475976, -20.893742],
        [0.340663, 26.014269, -22.220479],
        [8.444722, 25.326198, -21.025520],
        [24.474473, 28.323008, -5.712776],
        [8.449166, 30.596216, -20.671489],
        [0.205322, 31.408738, -21.903670],
        [-7.198266, 30.844876, -20.328022],
    ]
)
# The pose is fitted on points that stay put on a real head: the nose and the eye corners.
# The usual 6-point set (chin, mouth corners) would read every opened jaw as a nod, and brows
# would read raises as pitch; the outline slides round the cheek as the head turns.
POSE_POINTS = (27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)
ALIGN_POINTS = (27, 28, 29, 30, 36, 39, 42, 45)  # nose bridge and eye corners
BROWS = tuple(range(17, 27))
UPPER_FACE = (*BROWS, *range(36, 48))  # brows and eyes
LOWER_FACE = (*range(0, 17), *range(48, 68))  # jaw line and mouth
EYES = ((36, 37, 38, 39, 40, 41), (42, 43, 44, 45, 46, 47))  # p1..p6 of each eye
REAL_SPEAKERS = {  # real talking-head videos, for comparison
    "yaw_std": "4.6–10.5°",
    "pitch_std": "3.9–5.8°",
    "roll_std": "3.0°",
    "swings_per_min": "120–135",
    "brow_std": "0.018",
    "brow_raises_per_min": "22–37",
    "blink_depth": "0.68–0.88",
    "blink_cv": "0.28–0.62",
    "upper_lower": "0.31–0.50",
}

FloatArray = npt.NDArray[np.float64]
Track68 = npt.NDArray[np.float64]  # (frames, 68, 2) pixel coordinates in dlib's order
RGB = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Blink:
    start: int  # first frame under the threshold
    end: int  # last frame under it
    depth: float  # share of the median opening lost at the blink's lowest frame


# --- head pose -------------------------------------------------------------------------------


def camera_matrix(image_size: tuple[int, int]) -> FloatArray:
    """A pinhole camera for a (width, height) image: focal length = width, centred."""
    width, height = image_size
    return np.array([[width, 0.0, width / 2], [0.0, width, height / 2], [0.0, 0.0, 1.0]])


def euler_angles(rotation: FloatArray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees of a model-to-camera rotation R = Ry · Rx · Rz.

    Signs follow the animation track: yaw + moves the nose to the image's right, pitch +
    moves it down (a nod), roll + turns the face clockwise on screen.
    """
    r = np.asarray(rotation, np.float64)
    about_y = np.arctan2(r[0, 2], r[2, 2])
    about_x = np.arcsin(np.clip(-r[1, 2], -1.0, 1.0))
    about_z = np.arctan2(r[1, 0], r[1, 1])
    # Turning about +y carries the nose (nearest the camera) to the image's left.
    return float(-np.degrees(about_y)), float(np.degrees(about_x)), float(np.degrees(about_z))


def _frontal_guess(frame: FloatArray, camera: FloatArray) -> tuple[FloatArray, FloatArray]:
    """A frontal pose at the distance the eye corners' spread implies; keeps PnP off mirrors."""
    model = FACE_MODEL_3D[list(POSE_POINTS)]
    model_iod = float(np.linalg.norm(FACE_MODEL_3D[45] - FACE_MODEL_3D[36]))
    image_iod = float(np.linalg.norm(frame[45] - frame[36]))
    focal, centre = camera[0, 0], camera[:2, 2]
    depth = focal * model_iod / max(image_iod, 1e-6)
    seen = frame[list(POSE_POINTS)].mean(axis=0)
    shift = (seen - centre) * depth / focal - model.mean(axis=0)[:2]
    translation = np.array([shift[0], shift[1], depth - model.mean(axis=0)[2]])
    return np.zeros(3), translation


def head_pose(landmarks: Track68, image_size: tuple[int, int]) -> FloatArray:
    """(frames, 3): yaw, pitch and roll in degrees per frame, fitted on POSE_POINTS."""
    camera = camera_matrix(image_size)
    model = FACE_MODEL_3D[list(POSE_POINTS)]
    angles = np.zeros((len(landmarks), 3))
    for index, frame in enumerate(np.asarray(landmarks, np.float64)):
        points = np.ascontiguousarray(frame[list(POSE_POINTS)])
        guess, shift = _frontal_guess(frame, camera)
        _, rvec, _ = cv2.solvePnP(
            model, points, camera, None, guess, shift, True, cv2.SOLVEPNP_ITERATIVE
        )
        rotation, _ = cv2.Rodrigues(rvec)
        angles[index] = euler_angles(np.asarray(rotation, np.float64))
    return angles


def relative_to_median(angles: FloatArray) -> FloatArray:
    """Angles (degrees) minus their median, wrapped into [-180, 180)."""
    values = np.asarray(angles, np.float64)
    return (values - np.median(values, axis=0) + 180.0) % 360.0 - 180.0


def pose_std(angles: FloatArray) -> tuple[float, float, float]:
    """Std of yaw, pitch and roll (degrees); taken about the median so angles never wrap."""
    spread = np.std(relative_to_median(angles), axis=0)
    return float(spread[0]), float(spread[1]), float(spread[2])


def smooth(values: FloatArray, fps: float, sigma_s: float = SMOOTH_S) -> FloatArray:
    """Gaussian smoothing along time (edges mirrored, so the ends are not pulled to zero)."""
    sigma = sigma_s * fps
    values = np.asarray(values, np.float64)
    if sigma <= 0 or len(values) < 2:
        return values.copy()
    radius = max(1, int(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    padded = np.pad(values, radius, mode="reflect" if len(values) > radius else "edge")
    return np.convolve(padded, kernel / kernel.sum(), mode="valid")


def count_swings(signal: FloatArray, threshold: float) -> int:
    """Monotone moves of at least ``threshold`` between successive turning points.

    A turn only counts once the signal has come back ``threshold`` from its extreme, so
    wiggles smaller than that neither count nor split a larger swing in two.
    """
    values = np.asarray(signal, np.float64)
    if len(values) == 0:
        return 0
    direction, pivot, extreme = 0, float(values[0]), float(values[0])
    low = high = float(values[0])
    swings = 0
    for value in map(float, values[1:]):
        if direction == 0:
            low, high = min(low, value), max(high, value)
            if value - low >= threshold:
                direction, pivot, extreme = 1, low, value
            elif high - value >= threshold:
                direction, pivot, extreme = -1, high, value
        elif direction * (value - extreme) > 0:
            extreme = value
        elif abs(extreme - value) >= threshold:
            swings += 1  # pivot → extreme is complete, and at least threshold by construction
            direction, pivot, extreme = -direction, extreme, value
    if direction != 0 and abs(extreme - pivot) >= threshold:
        swings += 1  # the swing under way when the note ends
    return swings


def nods_and_shakes(angles: FloatArray, fps: float) -> tuple[int, int]:
    """(nods, shakes): swings of at least SWING_DEG of the smoothed pitch and yaw."""
    relative = relative_to_median(angles)
    nods = count_swings(smooth(relative[:, 1], fps), SWING_DEG)
    shakes = count_swings(smooth(relative[:, 0], fps), SWING_DEG)
    return nods, shakes


# --- brows -----------------------------------------------------------------------------------


def eye_distance(landmarks: Track68) -> FloatArray:
    """Outer eye-corner distance (36–45) per frame: the unit of every length here."""
    lm = np.asarray(landmarks, np.float64)
    return np.linalg.norm(lm[:, 45] - lm[:, 36], axis=1)


def brow_heights(landmarks: Track68) -> FloatArray:
    """Mean height of the brow points (17–26) over the eye line (36–45), in IOD, per frame."""
    lm = np.asarray(landmarks, np.float64)
    axis = lm[:, 45] - lm[:, 36]
    iod = np.linalg.norm(axis, axis=1)
    # The eye line's normal pointing up the face (image y grows downwards).
    up = np.stack([axis[:, 1], -axis[:, 0]], axis=1) / iod[:, None]
    offsets = lm[:, list(BROWS)] - lm[:, None, 36]
    return np.einsum("fpk,fk->fp", offsets, up).mean(axis=1) / iod


def rolling_percentile(values: FloatArray, window: int, percent: float) -> FloatArray:
    """Centred running percentile over ``window`` frames (edges repeat the end values)."""
    values = np.asarray(values, np.float64)
    half = max(window // 2, 0)
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.percentile(windows, percent, axis=1)


def brow_raises(heights: FloatArray, fps: float) -> int:
    """Raises: the smoothed brow height BROW_RAISE_IOD over its resting level, counted once.

    The resting level is a low running percentile, not a median: brows held up through a
    whole question would pull a median up with them and hide the raise.
    """
    window = round(BROW_BASELINE_S * fps)
    lifted = smooth(heights, fps) - rolling_percentile(heights, window, BROW_REST_PERCENT)
    raises, up = 0, False
    for value in lifted:
        if not up and value >= BROW_RAISE_IOD:
            raises, up = raises + 1, True
        elif up and value < BROW_RELEASE_IOD:
            up = False
    return raises


# --- blinks ----------------------------------------------------------------------------------


def eye_aspect_ratio(landmarks: Track68) -> FloatArray:
    """Eye aspect ratio (|p2-p6| + |p3-p5|) / 2|p1-p4|, both eyes averaged, per frame."""
    lm = np.asarray(landmarks, np.float64)
    ratios = []
    for p1, p2, p3, p4, p5, p6 in EYES:
        height = np.linalg.norm(lm[:, p2] - lm[:, p6], axis=1)
        height += np.linalg.norm(lm[:, p3] - lm[:, p5], axis=1)
        ratios.append(height / (2 * np.linalg.norm(lm[:, p1] - lm[:, p4], axis=1)))
    return np.mean(ratios, axis=0)


def find_blinks(ear: FloatArray, fps: float) -> list[Blink]:
    """Dips of the eye aspect ratio under (1 - BLINK_DROP) × its median, BLINK_MAX_S at most.

    Longer dips are squints or closed eyes, not blinks.
    """
    ear = np.asarray(ear, np.float64)
    if len(ear) == 0:
        return []
    opening = float(np.median(ear))
    closed = np.flatnonzero(ear < (1 - BLINK_DROP) * opening)
    runs: list[list[int]] = []
    for frame in map(int, closed):
        if runs and frame - runs[-1][1] <= BLINK_MERGE:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame])
    longest = BLINK_MAX_S * fps
    return [
        Blink(start, end, 1.0 - float(ear[start : end + 1].min()) / opening)
        for start, end in runs
        if end - start + 1 <= longest
    ]


def bridge(values: FloatArray, skip: npt.NDArray[np.bool_]) -> FloatArray:
    """``values`` (frames, ...) with the ``skip`` frames replaced by linear interpolation."""
    values = np.asarray(values, np.float64)
    keep = ~np.asarray(skip, bool)
    if keep.all() or not keep.any():
        return values.copy()
    frames = np.arange(len(values))
    flat = values.reshape(len(values), -1).copy()
    for column in range(flat.shape[1]):
        flat[~keep, column] = np.interp(frames[~keep], frames[keep], flat[keep, column])
    return flat.reshape(values.shape)


def blink_frames(blinks: Sequence[Blink], frames: int, margin: int = 1) -> npt.NDArray[np.bool_]:
    """Frames within ``margin`` of a blink."""
    mask = np.zeros(frames, bool)
    for blink in blinks:
        mask[max(blink.start - margin, 0) : blink.end + margin + 1] = True
    return mask


def interval_cv(starts: Sequence[int]) -> float | None:
    """Std over mean of the intervals between blink starts; None with fewer than 3 blinks."""
    if len(starts) < 3:
        return None
    intervals = np.diff(np.asarray(starts, np.float64))
    return float(np.std(intervals) / np.mean(intervals))


# --- upper- vs lower-face motion -------------------------------------------------------------


def similarity(source: FloatArray, target: FloatArray) -> FloatArray:
    """2×3 least-squares similarity (scale, rotation, shift) taking ``source`` onto ``target``."""
    src, dst = np.asarray(source, np.float64), np.asarray(target, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - src_mean, dst - dst_mean
    u, singular, vt = np.linalg.svd(b.T @ a)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])  # never a mirror
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(singular) @ sign) / max((a**2).sum(), 1e-12))
    matrix = scale * rotation
    return np.hstack([matrix, (dst_mean - matrix @ src_mean)[:, None]])


def align_to_first(landmarks: Track68) -> Track68:
    """Every frame moved onto the first by a similarity fitted on ALIGN_POINTS."""
    lm = np.asarray(landmarks, np.float64)
    anchor = lm[0, list(ALIGN_POINTS)]
    aligned = np.empty_like(lm)
    for index, frame in enumerate(lm):
        matrix = similarity(frame[list(ALIGN_POINTS)], anchor)
        aligned[index] = frame @ matrix[:, :2].T + matrix[:, 2]
    return aligned


def region_motion(landmarks: Track68) -> tuple[float, float]:
    """(upper, lower): mean frame-to-frame point displacement, in IOD, head motion removed."""
    aligned = align_to_first(landmarks)
    if len(aligned) < 2:
        return 0.0, 0.0
    steps = np.linalg.norm(np.diff(aligned, axis=0), axis=2) / eye_distance(aligned[:1])[0]
    return float(steps[:, list(UPPER_FACE)].mean()), float(steps[:, list(LOWER_FACE)].mean())


# --- one note --------------------------------------------------------------------------------


def fill_gaps(landmarks: Track68) -> Track68:
    """Frames without a face (NaN) filled by linear interpolation between their neighbours."""
    lm = np.asarray(landmarks, np.float64)
    return bridge(lm, np.asarray(np.isnan(lm).any(axis=(1, 2)), bool))


def liveliness(landmarks: Track68, fps: float, image_size: tuple[int, int]) -> dict[str, float]:
    """All the numbers of one note from its landmarks (NaN rows: no face; NaN: not measured)."""
    lm = np.asarray(landmarks, np.float64)
    found = ~np.isnan(lm).any(axis=(1, 2))
    minutes = len(lm) / fps / 60
    stats: dict[str, float] = {
        "frames": float(len(lm)),
        "seconds": len(lm) / fps,
        "face_found": float(found.mean()) if len(lm) else np.nan,
    }
    if found.sum() < 2:
        return stats
    lm = fill_gaps(lm)
    blinks = find_blinks(eye_aspect_ratio(lm), fps)
    # Closing lids drag dlib's eye corners down by a pixel or so, which reads as a 2° nod.
    angles = bridge(head_pose(lm, image_size), blink_frames(blinks, len(lm)))
    yaw, pitch, roll = pose_std(angles)
    nods, shakes = nods_and_shakes(angles, fps)
    heights = brow_heights(lm)
    raises = brow_raises(heights, fps)
    upper, lower = region_motion(lm)
    cv = interval_cv([blink.start for blink in blinks])
    stats |= {
        "yaw_std": yaw,
        "pitch_std": pitch,
        "roll_std": roll,
        "nods": float(nods),
        "shakes": float(shakes),
        "nods_per_min": nods / minutes,
        "shakes_per_min": shakes / minutes,
        "swings_per_min": (nods + shakes) / minutes,
        "brow_std": float(np.std(heights)),
        "brow_raises": float(raises),
        "brow_raises_per_min": raises / minutes,
        "blinks": float(len(blinks)),
        "blinks_per_min": len(blinks) / minutes,
        "blink_depth": float(np.mean([b.depth for b in blinks])) if blinks else np.nan,
        "blink_cv": np.nan if cv is None else cv,
        "upper_motion": upper,
        "lower_motion": lower,
        "upper_lower": upper / lower if lower > 0 else np.nan,
    }
    return stats


def track_landmarks(
    frames: Iterable[RGB], analyzer: FaceAnalyzer
) -> tuple[Track68, tuple[int, int]]:
    """Landmarks of every frame (NaN where no confident face) and the frames' (width, height)."""
    points: list[npt.NDArray[np.float64]] = []
    size = (0, 0)
    for frame in frames:
        size = (frame.shape[1], frame.shape[0])
        scale = DETECT_SIDE / frame.shape[1]
        small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        # Only confident detections: dlib also scores weak "faces" in clothing and props.
        boxes = analyzer.detect_all(np.asarray(small, np.uint8), min_score=CONFIDENT_SCORE)
        if boxes:
            box = [v / scale for v in boxes[0]]
            points.append(np.asarray(analyzer.landmarks_in(frame, box), np.float64))
        else:
            points.append(np.full((68, 2), np.nan))
    return np.array(points, np.float64).reshape(-1, 68, 2), size


def measure_note(path: Path, analyzer: FaceAnalyzer, fps: float) -> dict[str, float]:
    """The liveliness of one rendered note, read back from its file."""
    landmarks, size = track_landmarks(read_frames(path), analyzer)
    return liveliness(landmarks, fps, size)


# --- the run ---------------------------------------------------------------------------------


def fixtures_dir() -> Path | None:
    """The face fixtures folder named by ``$GOVORUN_FIXTURES_DIR``, if it is set."""
    configured = os.environ.get(FIXTURES_ENV)
    return Path(configured) if configured else None


def portraits() -> tuple[dict[str, bytes], list[str]]:
    """(photos by name, names not found): the fixtures, or the astronaut when none is there."""
    folder = fixtures_dir()
    photos: dict[str, bytes] = {}
    skipped: list[str] = []
    for name in PORTRAITS:
        # The variable may name the fixtures folder or its faces/ folder itself.
        candidates = [folder / name, folder / "faces" / name] if folder else []
        found = next((path for path in candidates if path.is_file()), None)
        if found:
            photos[Path(name).stem] = found.read_bytes()
        else:
            skipped.append(name)
            print(f"skipped {name}: not found (set {FIXTURES_ENV} to the fixtures folder)")
    if not photos:
        photos["astronaut"] = png(astronaut())
    return photos, skipped


def mimic_levels(renderer: Renderer) -> list[str | None]:
    """The renderer's mimic levels, or [None] where ``render`` takes no ``mimic``."""
    if "mimic" not in inspect.signature(renderer.render).parameters:
        return [None]
    from inference.animate.track import MIMIC_LEVELS

    return list(MIMIC_LEVELS)


def render_and_measure(
    renderer: Renderer, photo: bytes, text: str, mimic: str | None, folder: Path
) -> dict[str, float]:
    out = folder / "note.mp4"
    started = time.perf_counter()
    extra = {"mimic": mimic} if mimic else {}
    renderer.render(photo, out, text=text, seed=SEED, **extra)  # type: ignore[arg-type]
    rendered = time.perf_counter() - started
    stats = measure_note(out, renderer.analyzer, renderer.fps)
    out.unlink()
    return stats | {"render_seconds": rendered}


def _notes(report: dict[str, object]) -> list[dict[str, object]]:
    notes = report["notes"]
    assert isinstance(notes, list)
    return notes


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _neutral_cells(note: dict[str, object]) -> list[str]:
    def n(key: str, spec: str) -> str:
        return number(note.get(key), spec)

    return [
        f"{n('yaw_std', '.1f')}° / {n('pitch_std', '.1f')}° / {n('roll_std', '.1f')}°",
        f"{n('swings_per_min', '.0f')} ({n('nods_per_min', '.0f')}, {n('shakes_per_min', '.0f')})",
        n("brow_std", ".4f"),
        n("brow_raises_per_min", ".0f"),
        n("blinks_per_min", ".0f"),
        n("blink_depth", ".2f"),
        n("blink_cv", ".2f"),
        f"{n('upper_lower', '.2f')} ({n('upper_motion', '.4f')} / {n('lower_motion', '.4f')})",
        n("face_found", ".2f"),
    ]


def _gesture_cells(note: dict[str, object]) -> list[str]:
    def n(key: str, spec: str) -> str:
        return number(note.get(key), spec)

    return [
        n("seconds", ".1f"),
        n("nods", ".0f"),
        n("shakes", ".0f"),
        f"{n('pitch_std', '.1f')}° / {n('yaw_std', '.1f')}°",
        n("brow_raises", ".0f"),
        n("brow_std", ".4f"),
    ]


def _neutral_table(notes: list[dict[str, object]]) -> list[str]:
    real = REAL_SPEAKERS
    lines = [
        "| portrait | mimic | yaw / pitch / roll std | nods + shakes /min (nods, shakes) "
        "| brow std | brow raises /min | blinks /min | blink depth | blink CV "
        "| upper / lower (IOD per frame) | face found |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| real speakers | — | {real['yaw_std']} / {real['pitch_std']} / {real['roll_std']} "
        f"| {real['swings_per_min']} | {real['brow_std']} | {real['brow_raises_per_min']} | — "
        f"| {real['blink_depth']} | {real['blink_cv']} | {real['upper_lower']} | — |",
    ]
    for note in notes:
        if note["text"] != "neutral":
            continue
        if "error" in note:
            lines.append(f"| {note['portrait']} | {note['mimic']} | refused: {note['error']} |")
            continue
        lines.append(_row([str(note["portrait"]), str(note["mimic"]), *_neutral_cells(note)]))
    return lines


def _gesture_table(notes: list[dict[str, object]]) -> list[str]:
    lines = [
        "| text | portrait | mimic | seconds | nods | shakes | pitch / yaw std "
        "| brow raises | brow std |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for note in notes:
        if note["text"] == "neutral":
            continue
        if "error" in note:
            lines.append(f"| {note['text']} | {note['portrait']} | {note['mimic']} | refused |")
            continue
        head = [str(note["text"]), str(note["portrait"]), str(note["mimic"])]
        lines.append(_row([*head, *_gesture_cells(note)]))
    return lines


def markdown(report: dict[str, object]) -> str:
    texts = report["texts"]
    assert isinstance(texts, dict)
    lines = [
        "# Liveliness of the whole face",
        "",
        f"Run {report['date']}. Machine: {report['machine']}; {engines_line(report['engines'])}; "
        f"whole run {report['run_seconds']} s.",
        "",
        *([str(report["status"]), ""] if report.get("status") else []),
        "Measured on every rendered frame with dlib's 68 landmarks (detection on a 320 px copy), "
        "independently of the animator. Head pose: `cv2.solvePnP` of the nose (27–35) and eye "
        "corners (36, 39, 42, 45) against OpenFace's generic 3D mean face, focal length = frame "
        "width; std of each angle about its median. Nods and shakes: swings of pitch and yaw of "
        f"at least {SWING_DEG:.0f}° between turning points, after a {SMOOTH_S * 1000:.0f} ms "
        "Gaussian. Brows: mean height of points 17–26 over the eye line, in outer eye-corner "
        f"distances (IOD, 36–45); a raise is {BROW_RAISE_IOD} IOD above the resting height, "
        f"the {BROW_REST_PERCENT:.0f}th percentile over a {BROW_BASELINE_S:.0f} s window. "
        "Blinks: the eye aspect ratio under "
        f"{1 - BLINK_DROP:.0%} of its median; depth = share of the median opening lost at the "
        "lowest frame; CV = std/mean of the intervals between blink starts (— under 3 blinks). "
        "Upper / lower: mean frame-to-frame motion of brow and eye points over jaw and mouth "
        "points, each frame first aligned to the first by a similarity on the nose bridge and "
        "eye corners. A generic model's nose depth sets the gain of yaw and pitch: a face "
        "with a 30 % flatter nose reads about 25 % less.",
        "",
        f"Neutral text: «{texts['neutral']}»",
        "",
        *_neutral_table(_notes(report)),
        "",
        f"Gestures: yes «{texts['yes']}», no «{texts['no']}», question «{texts['question']}».",
        "",
        *_gesture_table(_notes(report)),
    ]
    skipped = report.get("skipped")
    if isinstance(skipped, list) and skipped:
        lines += ["", f"Skipped (not found): {', '.join(skipped)}."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Whole-face liveliness (bench/liveliness.md).")
    parser.add_argument("--output-dir", type=Path, default=HERE, help="default: bench/")
    parser.add_argument("--status", help="a note on the animator's state, put above the tables")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    analyzer = FaceAnalyzer()
    renderer = Renderer(RenderSettings(), analyzer=analyzer)
    photos, skipped = portraits()
    notes: list[dict[str, object]] = []
    cases = [("neutral", name) for name in photos]
    cases += [(kind, name) for kind in ("yes", "no", "question") for name in photos]
    with tempfile.TemporaryDirectory() as folder:
        for kind, name in cases:
            for mimic in mimic_levels(renderer):
                head: dict[str, object] = {"text": kind, "portrait": name, "mimic": mimic}
                try:
                    stats = render_and_measure(
                        renderer, photos[name], TEXTS[kind], mimic, Path(folder)
                    )
                except RenderError as error:
                    print(f"{kind} {name} {mimic}: refused ({error})")
                    notes.append(head | {"error": str(error)})
                    continue
                notes.append(head | for_json(stats))
                print(json.dumps(notes[-1], ensure_ascii=False))
    report: dict[str, object] = {
        "date": datetime.date.today().isoformat(),
        "machine": machine(),
        "engines": renderer.engines,
        "fps": renderer.fps,
        "status": args.status,
        "texts": TEXTS,
        "seed": SEED,
        "real_speakers": REAL_SPEAKERS,
        "notes": notes,
        "skipped": skipped,
        "run_seconds": round(time.perf_counter() - started, 1),
    }
    write_report(args.output_dir, "liveliness", report, markdown(report))


if __name__ == "__main__":
    main()
