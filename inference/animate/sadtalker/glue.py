"""SadTalker's data preparation, as pure numpy functions that run (and are tested) without it.

SadTalker's own scripts do these steps through files (``.mat``, ``.png``, ``.wav``) and with
helpers that break on current numpy and Pillow; the engine needs them in memory, per batch, and
fed by the face landmarks Govorun has already found. Each function below names the upstream
function it reproduces (OpenTalker/SadTalker at the commit pinned in ``docker/Dockerfile.gpu``),
so a reader can hold them side by side.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from inference.animate.track import Channel, Track

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]

FPS: Final = 25  # the models were trained on 25 fps video: 80 mel steps/s = 3.2 per frame
AUDIO_RATE: Final = 16000
MEL_STEPS_PER_SECOND: Final = 80
SAMPLES_PER_FRAME: Final = AUDIO_RATE // FPS  # 640
MEL_WINDOW: Final = 16  # mel steps each video frame sees (syncnet_mel_step_size)
SEMANTIC_RADIUS: Final = 13  # frames of context on each side of a driving coefficient
RENDER_SIZE: Final = 256  # the face renderer's resolution (the 256 checkpoint)
RECON_SIZE: Final = 224  # the 3DMM reconstruction network's input
COEFFS: Final = 70  # 64 expression + 3 rotation + 3 translation
EXPRESSION: Final = slice(0, 64)
POSE: Final = slice(64, 70)
# The rotation is the 3DMM's (Deep3DFaceRecon's ``compute_rotation``): angles about x, y, z in
# radians, applied x first. Its camera looks down -z with y up and x to the image's right
# (landmarks are flipped to y-up before fitting), so +x tips the nose down, +y turns it to the
# image's right, and +z turns the head counter-clockwise on screen.
PITCH: Final = 64
YAW: Final = 65
ROLL: Final = 66
# How much more the face shows where the track smiles or moves its brows (``expression_scales``):
# kept modest, the lively preset's 1.3 grows to 1.56 at most, since the scale also widens the
# lips the audio made.
EXPRESSION_GAIN: Final = 0.2


@dataclass(frozen=True)
class Preset:
    """How much the head and face move (SadTalker's pose_style, expression_scale and still).

    ``still`` keeps the head pose of the photo (only the face moves); ``pose_style`` picks one of
    the 46 head-motion styles the pose model learnt.
    """

    pose_style: int
    expression_scale: float
    still: bool


PRESETS: Final = {
    # A round note is watched up close: a still head with natural expressions reads as calm.
    # The track's nods and shakes still move it: they come from the text, not from the model.
    "calm": Preset(pose_style=0, expression_scale=1.0, still=True),
    "lively": Preset(pose_style=12, expression_scale=1.3, still=False),
}


def preset_for(mimic: str) -> Preset:
    """The preset for the user's mimic level (``MIMIC_LEVELS``), the same choice ``warp`` reads."""
    try:
        return PRESETS[mimic]
    except KeyError:
        raise ValueError(f"mimic must be one of {tuple(PRESETS)}, not {mimic!r}") from None


def video_frames(audio_samples: int) -> int:
    """Frames SadTalker makes for this much 16 kHz audio (``parse_audio_length``)."""
    return audio_samples // SAMPLES_PER_FRAME


def whole_frames(samples: FloatArray) -> FloatArray:
    """The 16 kHz samples of whole video frames only (``parse_audio_length`` + ``crop_pad_audio``).

    Upstream cuts the audio to ``frames × 640`` samples before its mel spectrogram. The uncut
    clip's spectrogram differs in its last steps (their STFT windows reach into the samples past
    the last frame, and there may be up to three steps more), so the last three frames' windows
    would hear other audio than upstream's.
    """
    return samples[: video_frames(len(samples)) * SAMPLES_PER_FRAME]


def mel_windows(mel: FloatArray, frames: int) -> FloatArray:
    """Per-frame mel windows, shape (frames, 80, 16), from a (steps, 80) mel spectrogram.

    Each frame sees 16 steps starting two frames before it, clamped at both ends
    (``get_data`` in ``generate_batch.py``).
    """
    if len(mel) == 0:
        raise ValueError("empty mel spectrogram")
    starts = (MEL_STEPS_PER_SECOND * (np.arange(frames) - 2) / FPS).astype(np.int64)
    steps = np.clip(starts[:, None] + np.arange(MEL_WINDOW)[None, :], 0, len(mel) - 1)
    return np.ascontiguousarray(mel[steps].transpose(0, 2, 1), dtype=np.float32)


def blink_ratio(frames: int, rng: np.random.Generator) -> FloatArray:
    """Eye-blink strength per frame (``generate_blink_seq_randomly``, with a seeded generator)."""
    ratio = np.zeros(frames, np.float32)
    if frames <= 20:
        return ratio
    frame = 0
    while frame < frames:
        start = int(rng.integers(min(10, frames), min(frames // 2, 70)))
        if frame + start + 5 > frames - 1:
            break
        ratio[frame + start : frame + start + 5] = (0.5, 0.9, 1.0, 0.9, 0.5)
        frame += start + 5
    return ratio


def fit_track(track: Track, frames: int) -> Track:
    """The track cut or padded (its last row held) to SadTalker's ``frames``.

    Both count frames at 25 fps from the same speech and differ only by rounding, so row i is
    the same moment in both: cutting or padding the end keeps every blink and nod on its word,
    where stretching would slide them by up to the difference. NaNs become zeros, since one
    would blank every frame the renderer's 27-frame window sees it in.
    """
    track = np.nan_to_num(np.asarray(track, np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    if len(track) == 0:
        return np.zeros((frames, track.shape[1]), np.float32)
    if len(track) >= frames:
        return track[:frames].copy()
    return np.concatenate([track, np.repeat(track[-1:], frames - len(track), axis=0)])


def track_blinks(track: Track) -> FloatArray:
    """The blink input from the track's BLINK channel.

    SadTalker's expression network takes a per-frame blink ratio (``ratio_gt``), 0 for open
    eyes and rising to 1.0 at a blink's closed middle (``generate_blink_seq_randomly``): the
    track's BLINK means the same (1 = the lids meet), so it goes in as it is.
    """
    return np.clip(track[:, Channel.BLINK], 0.0, 1.0).astype(np.float32)


def pose_offsets(track: Track) -> FloatArray:
    """(frames, 6) added to the pose coefficients: the track's head turns in the 3DMM's terms.

    Both are radians; pitch and yaw share their signs (nose down, nose to the image's right),
    roll is opposite (the track's + is clockwise on screen, the 3DMM's counter-clockwise). The
    track's HEAD_X/HEAD_Y shifts are left out: the renderer drops the x translation of its
    keypoints (``keypoint_transformation``) and reaches y only through the learnt mapping, with
    no scale known for "face widths".
    """
    offsets = np.zeros((len(track), POSE.stop - POSE.start), np.float32)
    offsets[:, PITCH - POSE.start] = track[:, Channel.PITCH]
    offsets[:, YAW - POSE.start] = track[:, Channel.YAW]
    offsets[:, ROLL - POSE.start] = -track[:, Channel.ROLL]
    return offsets


def expression_scales(track: Track, base: float) -> FloatArray:
    """Per-frame scale of the 64 expression coefficients: ``base``, more where the face emotes.

    SadTalker has no smile or brow control; its expression network makes the mouth from the
    audio on top of the photo's own expression, and the only lever upstream offers is
    ``expression_scale``, a factor on all 64 coefficients. So where the track smiles, raises,
    knits or saddens the brows, the face does more of what it already does: by up to
    ``EXPRESSION_GAIN`` at the strongest of those channels (the strongest, not their sum, so
    a smile on a raised brow is not doubled). Elsewhere the scale is the preset's, exactly.
    """
    emotes = track[:, [Channel.SMILE, Channel.BROW_RAISE, Channel.BROW_FROWN, Channel.BROW_SAD]]
    activity = np.clip(emotes.max(axis=1, initial=0.0), 0.0, 1.0)
    return (base * (1.0 + EXPRESSION_GAIN * activity)).astype(np.float32)


def reference_coeffs(source: FloatArray, frames: int) -> FloatArray:
    """The photo's own 70 coefficients, repeated for every frame (the models' ``ref`` input)."""
    return np.repeat(source[None, :COEFFS], frames, axis=0).astype(np.float32)


def driving_coeffs(
    generated: FloatArray, source: FloatArray, preset: Preset, track: Track | None = None
) -> FloatArray:
    """Scale the expressions and, in still mode, pin the pose (``get_facerender_data``).

    A ``track`` (already ``fit_track``-ed to the frames) scales the expressions per frame and
    adds its head turns on top of SadTalker's own pose (or the photo's, in still mode).
    """
    driving = np.array(generated[:, :COEFFS], np.float32)
    if track is None:
        driving[:, EXPRESSION] *= preset.expression_scale
    else:
        driving[:, EXPRESSION] *= expression_scales(track, preset.expression_scale)[:, None]
    if preset.still:
        driving[:, POSE] = source[POSE]
    if track is not None:
        driving[:, POSE] += pose_offsets(track)
    return driving


def source_semantics(source: FloatArray) -> FloatArray:
    """The photo's coefficients as the renderer's source window, shape (70, 27)."""
    return np.repeat(source[:COEFFS, None], 2 * SEMANTIC_RADIUS + 1, axis=1).astype(np.float32)


def target_windows(driving: FloatArray, start: int, stop: int) -> FloatArray:
    """Driving windows for frames ``start:stop``, shape (n, 70, 27), clamped at the ends.

    Upstream builds all windows at once and splits them into ``batch_size`` interleaved
    sequences; taking consecutive frames per batch instead lets frames stream to the encoder.
    """
    offsets = np.arange(-SEMANTIC_RADIUS, SEMANTIC_RADIUS + 1)
    index = np.clip(np.arange(start, stop)[:, None] + offsets[None, :], 0, len(driving) - 1)
    return np.ascontiguousarray(driving[index].transpose(0, 2, 1), dtype=np.float32)


def face_crop(landmarks: npt.NDArray[np.floating], width: int, height: int) -> tuple[int, ...]:
    """The square-ish face box SadTalker's ``crop`` preprocessing cuts, as (x0, y0, x1, y1).

    ``Preprocesser.align_face`` + ``crop`` from ``src/utils/croper.py``: an FFHQ-style quad
    from the eyes and mouth, its bounding box with a 10 % border, clipped to the image.
    """
    lm = np.asarray(landmarks, np.float64)
    eye_left, eye_right = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    eye_avg = (eye_left + eye_right) * 0.5
    eye_to_eye = eye_right - eye_left
    mouth_avg = (lm[48] + lm[54]) * 0.5
    eye_to_mouth = mouth_avg - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c - x + y, c + x + y, c + x - y])
    border = max(int(np.rint(np.hypot(*x) * 2 * 0.1)), 3)
    cx0 = max(int(np.floor(quad[:, 0].min())) - border, 0)
    cy0 = max(int(np.floor(quad[:, 1].min())) - border, 0)
    cx1 = min(int(np.ceil(quad[:, 0].max())) + border, width)
    cy1 = min(int(np.ceil(quad[:, 1].max())) + border, height)
    if cx1 - cx0 < width or cy1 - cy0 < height:
        quad -= (cx0, cy0)
    q = (quad + 0.5).flatten()
    lx, ly = max(min(q[0], q[2]), 0), max(min(q[1], q[7]), 0)
    # Upstream clips the bottom edge by the width too; our photos are square, so it agrees.
    rx, ry = min(max(q[4], q[6]), width), min(max(q[3], q[5]), width)
    return cx0 + int(lx), cy0 + int(ly), cx0 + int(rx), cy0 + int(ry)


def five_points(landmarks: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Eye centres, nose tip and mouth corners from 68 landmarks (``extract_5p``)."""
    lm = np.asarray(landmarks, np.float64)
    return np.stack([lm[[36, 39]].mean(axis=0), lm[[42, 45]].mean(axis=0), lm[30], lm[48], lm[54]])


def similarity(
    points: npt.NDArray[np.float64], model: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], float]:
    """Scale and translation fitting the 3D ``model`` points to the 2D ``points`` (``POS``)."""
    n = len(points)
    a = np.zeros((2 * n, 8))
    a[0::2, 0:3] = model
    a[0::2, 3] = 1
    a[1::2, 4:7] = model
    a[1::2, 7] = 1
    k = np.linalg.lstsq(a, points.reshape(2 * n), rcond=None)[0]
    scale = (np.linalg.norm(k[0:3]) + np.linalg.norm(k[4:7])) / 2
    return np.array([k[3], k[7]]), float(scale)


def align_for_reconstruction(
    face: Image, landmarks: npt.NDArray[np.floating], model_points: npt.NDArray[np.floating]
) -> tuple[Image, FloatArray]:
    """The 224×224 input of the 3DMM network and the (w, h, s, tx, ty) it was cut with.

    ``align_img`` from ``src/face3d/util/preprocess.py`` with ``rescale_factor`` 102; the
    landmarks are in ``face`` pixels, y down (upstream flips y before and back after).
    """
    h0, w0 = face.shape[:2]
    lm = np.asarray(landmarks, np.float64).copy()
    lm[:, 1] = h0 - 1 - lm[:, 1]
    t, s = similarity(five_points(lm), np.asarray(model_points, np.float64))
    s = 102.0 / s
    w, h = int(w0 * s), int(h0 * s)
    left = int(w / 2 - RECON_SIZE / 2 + (t[0] - w0 / 2) * s)
    up = int(h / 2 - RECON_SIZE / 2 + (h0 / 2 - t[1]) * s)
    scaled = np.asarray(cv2.resize(face, (w, h), interpolation=cv2.INTER_CUBIC), np.uint8)
    aligned = _crop_padded(scaled, left, up, RECON_SIZE)
    return aligned, np.array([w0, h0, s, t[0], t[1]], np.float32)


def photo_coeffs(full: FloatArray, params: FloatArray) -> FloatArray:
    """The 73 numbers SadTalker keeps of a reconstruction: expression, angles, translation and
    the crop's scale and shift (``CropAndExtract.generate``)."""
    full = np.asarray(full, np.float32).reshape(-1)
    return np.concatenate([full[80:144], full[224:227], full[254:257], params[2:]]).astype(
        np.float32
    )


def to_frames(batch: FloatArray, size: int) -> list[Image]:
    """Renderer output (n, 3, H, W) in [0, 1] → RGB uint8 frames of ``size`` × ``size``."""
    images = np.clip(np.rint(np.asarray(batch).transpose(0, 2, 3, 1) * 255.0), 0, 255)
    frames = images.astype(np.uint8)
    if frames.shape[1] == size:
        return list(frames)
    return [cv2.resize(f, (size, size), interpolation=cv2.INTER_LANCZOS4) for f in frames]


def photo_key(face: Image, model: str) -> str:
    """Cache key for a face crop's coefficients: its pixels and the checkpoint that read them."""
    digest = hashlib.sha256(model.encode())
    digest.update(str(face.shape).encode())
    digest.update(np.ascontiguousarray(face).tobytes())
    return digest.hexdigest()


V = TypeVar("V")


class LruCache(Generic[V]):
    """A small in-memory cache; faces stay in the worker's memory only, never on disk."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[str, V] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> V | None:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return value

    def put(self, key: str, value: V) -> None:
        if self.capacity <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def _crop_padded(image: Image, left: int, top: int, size: int) -> Image:
    """A ``size`` square at (left, top), black where it leaves the image (PIL's ``crop``)."""
    out = np.zeros((size, size, image.shape[2]), image.dtype)
    h, w = image.shape[:2]
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + size, w), min(top + size, h)
    if x1 > x0 and y1 > y0:
        out[y0 - top : y1 - top, x0 - left : x1 - left] = image[y0:y1, x0:x1]
    return out
