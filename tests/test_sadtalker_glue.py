"""SadTalker's data preparation (``inference/animate/sadtalker/glue.py``), without SadTalker.

The reference loops below are transcriptions of upstream's own code (``generate_batch.py``,
``generate_facerender_batch.py``, ``preprocess.py``, the 3DMM's ``compute_rotation``): the
vectorised glue must agree with them.
"""

from __future__ import annotations

import numpy as np
import pytest

from inference.animate.sadtalker import glue
from inference.animate.track import MIMIC_LEVELS, Channel, empty_track
from inference.demo import astronaut
from inference.face import FaceAnalyzer, frame_square


def _upstream_mel_windows(mel: np.ndarray, frames: int) -> np.ndarray:
    windows = []
    for i in range(frames):
        start = int(80.0 * ((i - 2) / float(25)))
        seq = [min(max(item, 0), mel.shape[0] - 1) for item in range(start, start + 16)]
        windows.append(mel[seq, :].T)
    return np.asarray(windows)


def _upstream_target(coeffs: np.ndarray, index: int) -> np.ndarray:
    seq = range(index - 13, index + 14)
    return coeffs[[min(max(item, 0), len(coeffs) - 1) for item in seq], :].T


def test_mel_windows_match_upstreams_loop_including_both_ends() -> None:
    rng = np.random.default_rng(0)
    mel = rng.normal(size=(161, 80)).astype(np.float32)  # 2 s of 16 kHz audio
    frames = glue.video_frames(2 * glue.AUDIO_RATE)
    assert frames == 50
    windows = glue.mel_windows(mel, frames)
    assert windows.shape == (50, 80, 16)
    np.testing.assert_array_equal(windows, _upstream_mel_windows(mel, frames))
    with pytest.raises(ValueError, match="empty"):
        glue.mel_windows(mel[:0], 3)


@pytest.mark.parametrize(("samples", "kept"), [(0, 0), (639, 0), (640, 640), (4780, 4480)])
def test_the_audio_is_cut_to_whole_frames_as_upstream_cuts_it(samples: int, kept: int) -> None:
    audio = np.arange(samples, dtype=np.float32)
    cut = glue.whole_frames(audio)
    np.testing.assert_array_equal(cut, audio[:kept])  # parse_audio_length + crop_pad_audio
    assert glue.video_frames(len(cut)) == glue.video_frames(samples) == kept // 640


def test_batches_of_target_windows_are_upstreams_windows_in_order() -> None:
    rng = np.random.default_rng(1)
    driving = rng.normal(size=(37, 70)).astype(np.float32)
    batches = [glue.target_windows(driving, s, min(s + 8, 37)) for s in range(0, 37, 8)]
    joined = np.concatenate(batches)
    assert joined.shape == (37, 70, 27)
    for index in (0, 5, 20, 36):
        np.testing.assert_array_equal(joined[index], _upstream_target(driving, index))
    source = glue.source_semantics(driving[0])
    assert source.shape == (70, 27)
    assert np.all(source == driving[0][:, None])


def test_presets_scale_expressions_and_still_pins_the_pose() -> None:
    rng = np.random.default_rng(2)
    generated = rng.normal(size=(10, 70)).astype(np.float32)
    photo = rng.normal(size=73).astype(np.float32)
    calm = glue.driving_coeffs(generated, photo, glue.PRESETS["calm"])
    lively = glue.driving_coeffs(generated, photo, glue.PRESETS["lively"])
    assert np.all(calm[:, glue.POSE] == photo[64:70])
    np.testing.assert_allclose(lively[:, glue.POSE], generated[:, glue.POSE])
    np.testing.assert_allclose(lively[:, glue.EXPRESSION], generated[:, glue.EXPRESSION] * 1.3)
    assert glue.PRESETS["lively"].pose_style != glue.PRESETS["calm"].pose_style
    reference = glue.reference_coeffs(photo, 4)
    assert reference.shape == (4, 70) and np.all(reference == photo[:70])


def test_blinks_follow_upstreams_shape_and_the_seed() -> None:
    assert not glue.blink_ratio(20, np.random.default_rng(0)).any()
    ratio = glue.blink_ratio(500, np.random.default_rng(3))
    assert ratio.max() == 1.0
    starts = np.flatnonzero((ratio[1:] == 0.5) & (ratio[:-1] == 0))
    assert len(starts) >= 5
    for start in starts:
        np.testing.assert_allclose(ratio[start + 1 : start + 6], [0.5, 0.9, 1.0, 0.9, 0.5])
    again = glue.blink_ratio(500, np.random.default_rng(3))
    other = glue.blink_ratio(500, np.random.default_rng(4))
    assert np.array_equal(ratio, again) and not np.array_equal(ratio, other)


def _upstream_rotation(angles: np.ndarray) -> np.ndarray:
    """``ParametricFaceModel.compute_rotation`` (``src/face3d/models/bfm.py``) for one frame."""
    x, y, z = angles
    rot_x = np.array([[1, 0, 0], [0, np.cos(x), -np.sin(x)], [0, np.sin(x), np.cos(x)]])
    rot_y = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rot_z = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    return (rot_z @ rot_y @ rot_x).T


def _on_screen(point: tuple[float, float, float], angles: np.ndarray) -> np.ndarray:
    """Where a face point lands on the image: ``transform`` (``points @ rot``) seen by the
    3DMM's camera, which looks down -z with x to the right and y up (so image y is -y)."""
    moved = np.asarray(point, np.float64) @ _upstream_rotation(angles)
    return np.array([moved[0], -moved[1]])


@pytest.mark.parametrize(
    ("channel", "point", "moves"),
    [
        (Channel.PITCH, (0, 0, 1), (0, 1)),  # + tips the nose down
        (Channel.YAW, (0, 0, 1), (1, 0)),  # + turns the nose to the image's right
        (Channel.ROLL, (1, 0, 0), (0, 1)),  # + is clockwise: the right side goes down...
        (Channel.ROLL, (0, 1, 0), (1, 0)),  # ...and the top goes right
    ],
)
def test_the_tracks_head_turns_move_the_3dmm_face_the_way_track_py_says(
    channel: Channel, point: tuple[float, float, float], moves: tuple[int, int]
) -> None:
    track = empty_track(2)
    track[1, channel] = 0.2
    offsets = glue.pose_offsets(track)
    assert offsets.shape == (2, 6) and not offsets[0].any() and not offsets[1, 3:].any()
    shift = _on_screen(point, offsets[1, :3]) - _on_screen(point, offsets[0, :3])
    assert shift @ np.array(moves) > 0.15 and abs(shift @ np.array(moves[::-1])) < 0.05
    # Radians in both: the turn's size comes through unscaled.
    assert np.abs(offsets[1]).max() == pytest.approx(0.2)


def test_head_shifts_and_other_channels_do_not_reach_the_pose() -> None:
    track = np.ones((3, len(Channel)), np.float32)
    track[:, [Channel.ROLL, Channel.YAW, Channel.PITCH]] = 0.0
    assert not glue.pose_offsets(track).any()


def test_the_track_is_cut_or_padded_to_sadtalkers_frames_never_stretched() -> None:
    track = empty_track(6)
    track[:, Channel.YAW] = np.arange(6) / 10
    track[2, Channel.PITCH] = np.nan
    longer = glue.fit_track(track, 9)
    assert longer.shape == (9, len(Channel)) and longer.dtype == np.float32
    np.testing.assert_allclose(longer[:, Channel.YAW], [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5, 0.5])
    assert longer[2, Channel.PITCH] == 0.0  # a NaN would blank frames
    shorter = glue.fit_track(track, 4)
    np.testing.assert_allclose(shorter[:, Channel.YAW], [0, 0.1, 0.2, 0.3])
    assert glue.fit_track(empty_track(0), 3).shape == (3, len(Channel))
    assert np.isnan(track[2, Channel.PITCH])  # the caller's track is left as it was


def test_track_blinks_are_sadtalkers_blink_ratio() -> None:
    track = empty_track(6)
    track[:, Channel.BLINK] = [0.0, 0.5, 1.0, 1.2, -0.1, 0.9]
    track[:, Channel.OPEN] = 1.0
    blink = glue.track_blinks(track)
    assert blink.dtype == np.float32
    np.testing.assert_allclose(blink, [0.0, 0.5, 1.0, 1.0, 0.0, 0.9])


def test_expression_scale_grows_with_the_strongest_emotion_only() -> None:
    track = empty_track(6)
    track[1, Channel.SMILE] = 1.0
    track[2, Channel.BROW_RAISE] = 0.5
    track[3, Channel.BROW_FROWN] = 0.25
    track[4, [Channel.BROW_SAD, Channel.SMILE]] = 0.5
    track[5, [Channel.OPEN, Channel.BLINK, Channel.PITCH, Channel.GAZE_X]] = 1.0
    gain = glue.EXPRESSION_GAIN
    scales = glue.expression_scales(track, 1.3)
    expected = 1.3 * np.array([1, 1 + gain, 1 + gain / 2, 1 + gain / 4, 1 + gain / 2, 1])
    np.testing.assert_allclose(scales, expected, rtol=1e-6)


def test_driving_coeffs_with_a_track_scale_per_frame_and_add_the_head_turns() -> None:
    rng = np.random.default_rng(6)
    generated = rng.normal(size=(4, 70)).astype(np.float32)
    photo = rng.normal(size=73).astype(np.float32)
    track = empty_track(4)
    track[:, Channel.YAW] = [0.0, 0.1, 0.2, 0.3]
    track[2, Channel.SMILE] = 1.0
    for name in ("calm", "lively"):
        preset = glue.PRESETS[name]
        driving = glue.driving_coeffs(generated, photo, preset, track)
        pose = photo[glue.POSE] if preset.still else generated[:, glue.POSE]
        np.testing.assert_allclose(
            driving[:, glue.POSE], pose + glue.pose_offsets(track), atol=1e-6
        )
        scales = glue.expression_scales(track, preset.expression_scale)
        np.testing.assert_allclose(
            driving[:, glue.EXPRESSION], generated[:, glue.EXPRESSION] * scales[:, None]
        )
    # Without a track nothing changes from upstream's ``get_facerender_data``.
    plain = glue.driving_coeffs(generated, photo, glue.PRESETS["lively"])
    np.testing.assert_allclose(plain[:, glue.EXPRESSION], generated[:, glue.EXPRESSION] * 1.3)


def test_the_mimic_level_names_the_preset() -> None:
    assert tuple(glue.PRESETS) == MIMIC_LEVELS  # every level the user can pick has one
    assert glue.preset_for("calm") is glue.PRESETS["calm"]
    assert glue.preset_for("lively") is glue.PRESETS["lively"]
    assert glue.preset_for("lively").pose_style != glue.preset_for("calm").pose_style
    with pytest.raises(ValueError, match="mimic"):
        glue.preset_for("SADTALKER")


def test_similarity_recovers_a_known_scale_and_shift() -> None:
    rng = np.random.default_rng(5)
    model = rng.normal(size=(5, 3))
    points = model[:, :2] * 2.5 + (10.0, -4.0)
    shift, scale = glue.similarity(points, model)
    np.testing.assert_allclose(shift, (10.0, -4.0), atol=1e-9)
    assert scale == pytest.approx(2.5)


def test_face_crop_and_alignment_on_a_real_face(analyzer: FaceAnalyzer) -> None:
    image = astronaut()
    framed = frame_square(image, analyzer.find_face(image), 640)
    x0, y0, x1, y1 = glue.face_crop(framed.landmarks, 640, 640)
    lm = framed.landmarks
    assert 0 <= x0 < lm[:, 0].min() and lm[:, 0].max() < x1 <= 640
    assert 0 <= y0 < lm[36:68, 1].min() and lm[36:68, 1].max() < y1 <= 640
    assert abs((x1 - x0) - (y1 - y0)) <= 0.1 * (x1 - x0)
    # Reference points: the photo's own five points, flipped to y-up and centred, so the
    # alignment must put the eyes where a 102-unit-wide face sits in the 224 square.
    face = framed.image[y0:y1, x0:x1]
    local = lm - (x0, y0)
    flipped = local.copy()
    flipped[:, 1] = face.shape[0] - 1 - flipped[:, 1]
    five = glue.five_points(flipped)
    model = np.c_[five - five.mean(axis=0), np.zeros(5)] / 50.0
    aligned, params = glue.align_for_reconstruction(face, local, model)
    assert aligned.shape == (glue.RECON_SIZE, glue.RECON_SIZE, 3) and aligned.dtype == np.uint8
    assert params[0] == face.shape[1] and params[1] == face.shape[0]
    assert params[2] == pytest.approx(102.0 / 50.0, rel=1e-6)
    assert aligned.std() > 20  # a face, not the black padding


def test_photo_coeffs_keep_upstreams_73_numbers() -> None:
    full = np.arange(257, dtype=np.float32)
    params = np.array([256, 256, 1.5, 120.0, 130.0], np.float32)
    coeffs = glue.photo_coeffs(full, params)
    assert coeffs.shape == (73,)
    np.testing.assert_array_equal(coeffs[:64], np.arange(80, 144))
    np.testing.assert_array_equal(coeffs[64:70], [224, 225, 226, 254, 255, 256])
    np.testing.assert_array_equal(coeffs[70:], [1.5, 120.0, 130.0])


def test_renderer_output_becomes_note_frames() -> None:
    batch = np.zeros((3, 3, 256, 256), np.float32)
    batch[1] = 1.0
    batch[2, 0] = 0.5
    frames = glue.to_frames(batch, 256)
    assert [f.shape for f in frames] == [(256, 256, 3)] * 3
    assert frames[0].max() == 0 and frames[1].min() == 255
    assert tuple(frames[2][0, 0]) == (128, 0, 0)
    big = glue.to_frames(batch, 640)
    assert big[1].shape == (640, 640, 3) and big[1].min() == 255


def test_photo_cache_is_keyed_by_pixels_and_model_and_bounded() -> None:
    face = np.zeros((8, 8, 3), np.uint8)
    other = face.copy()
    other[0, 0, 0] = 1
    assert glue.photo_key(face, "a") == glue.photo_key(face.copy(), "a")
    assert glue.photo_key(face, "a") != glue.photo_key(other, "a")
    assert glue.photo_key(face, "a") != glue.photo_key(face, "b")
    cache: glue.LruCache[int] = glue.LruCache(2)
    cache.put("x", 1)
    cache.put("y", 2)
    assert cache.get("x") == 1  # x is now the most recent
    cache.put("z", 3)
    assert cache.get("y") is None and cache.get("x") == 1 and len(cache) == 2
    assert (cache.hits, cache.misses) == (2, 1)
    off: glue.LruCache[int] = glue.LruCache(0)
    off.put("x", 1)
    assert off.get("x") is None
