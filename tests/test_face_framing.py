"""frame_square / plan_crop: the face centred and round-safe, no streaks, no soft upscales."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from inference.face import (
    CONFIDENT_SCORE,
    Face,
    FaceAnalyzer,
    FramedPhoto,
    Landmarks,
    frame_square,
    load_image,
    plan_crop,
)
from inference.face.framing import (
    LANDMARK_RADIUS,
    MAX_HEAD_FRACTION,
    MAX_SHIFT,
    TARGET_HEAD_FRACTION,
    face_centre,
    head_height,
)
from tests.face_assets import RGB, astronaut, fixture_bytes, resized

SAFE_RADIUS = 0.42  # of the side: every landmark inside this circle around the centre


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="module")
def astronaut_face(analyzer: FaceAnalyzer) -> Face:
    return analyzer.find_face(astronaut())


def assert_round_safe(framed: FramedPhoto, size: int) -> None:
    assert framed.image.shape == (size, size, 3) and framed.image.dtype == np.uint8
    assert framed.landmarks.shape == (68, 2) and framed.landmarks.dtype == np.float32
    centre = np.array([size / 2, size / 2])
    distances = np.hypot(*(framed.landmarks - centre).T)
    assert distances.max() < SAFE_RADIUS * size
    offset = np.array(face_centre(framed.landmarks)) - centre
    assert np.abs(offset).max() < 0.05 * size
    head = head_height(framed.landmarks) / size
    assert 0.45 <= head <= MAX_HEAD_FRACTION + 0.01


def crop_origin(face: Face, framed: FramedPhoto) -> tuple[float, float]:
    """Where the square starts in the photo, recovered from the landmark mapping."""
    lm_in = face.landmarks.astype(np.float64)
    lm_out = framed.landmarks.astype(np.float64)
    origin = lm_in - (lm_out + 0.5) / framed.scale + 0.5
    return float(origin[:, 0].mean()), float(origin[:, 1].mean())


def laplacian_variance(image: RGB) -> float:
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


# --- the astronaut ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [640, 480, 240])
def test_astronaut_is_centred_and_round_safe(astronaut_face: Face, size: int) -> None:
    framed = frame_square(astronaut(), astronaut_face, size)
    assert_round_safe(framed, size)
    assert head_height(framed.landmarks) / size == pytest.approx(TARGET_HEAD_FRACTION, abs=0.01)


def test_framed_photo_is_immutable(astronaut_face: Face) -> None:
    framed = frame_square(astronaut(), astronaut_face)
    with pytest.raises(dataclasses.FrozenInstanceError):
        framed.scale = 1.0  # type: ignore[misc]
    assert not framed.landmarks.flags.writeable


def test_landmarks_follow_the_pixels(analyzer: FaceAnalyzer, astronaut_face: Face) -> None:
    framed = frame_square(astronaut(), astronaut_face, 640)
    boxes = analyzer.detect_all(framed.image, min_score=CONFIDENT_SCORE)
    assert len(boxes) == 1
    redetected = analyzer.landmarks_in(framed.image, boxes[0])
    assert np.abs(redetected - framed.landmarks).mean() < 3.0


def test_crop_stays_inside_the_photo_when_it_can(astronaut_face: Face) -> None:
    # Her forehead is close to the top edge: the square is shifted/shrunk rather than padded.
    plan = plan_crop(astronaut_face.landmarks, 512, 512)
    assert plan.fits_inside(512, 512)


def test_enlarged_small_photo_is_sharpened(analyzer: FaceAnalyzer) -> None:
    half = resized(astronaut(), 256, 256)
    face = FaceAnalyzer(min_face_px=30).find_face(half)
    framed = frame_square(half, face, 640)
    assert framed.scale > 1.3
    assert_round_safe(framed, 640)
    # The same square, plainly enlarged with bicubic interpolation, is visibly softer.
    x0, y0 = crop_origin(face, framed)
    s = framed.scale
    matrix = np.array([[s, 0, (0.5 - x0) * s - 0.5], [0, s, (0.5 - y0) * s - 0.5]])
    plain = np.asarray(cv2.warpAffine(half, matrix, (640, 640), flags=cv2.INTER_CUBIC), np.uint8)
    centre = slice(160, 480)
    sharp = laplacian_variance(framed.image[centre, centre])
    soft = laplacian_variance(plain[centre, centre])
    assert sharp > 1.3 * soft


def test_large_photo_is_shrunk_consistently(analyzer: FaceAnalyzer, astronaut_face: Face) -> None:
    big = resized(astronaut(), 1536, 1536)
    framed_big = frame_square(big, analyzer.find_face(big), 640)
    framed = frame_square(astronaut(), astronaut_face, 640)
    assert framed_big.scale < 1.0
    assert_round_safe(framed_big, 640)
    assert np.abs(framed_big.landmarks - framed.landmarks).mean() < 6.0


# --- faces at the photo's edge ---------------------------------------------------------------


def test_face_at_the_edge_is_padded_without_streaks(analyzer: FaceAnalyzer) -> None:
    photo = np.ascontiguousarray(astronaut()[:, 150:])  # her face now starts ~30 px from the left
    face = analyzer.find_face(photo)
    plan = plan_crop(face.landmarks, photo.shape[1], photo.shape[0])
    assert not plan.fits_inside(photo.shape[1], photo.shape[0])
    assert plan.x0 < 0

    framed = frame_square(photo, face, 640)
    assert_round_safe(framed, 640)
    band_width = int(-round(plan.x0) * framed.scale)
    assert band_width > 20
    band = framed.image[:, : band_width - 2].astype(np.float64)
    # Replicated edge pixels would make every row of the band one flat colour.
    assert band.var(axis=1).mean() > 2.0
    assert band.mean() > 40  # and it is not a black bar
    # No hard seam: the band meets the photo smoothly.
    seam_step = np.abs(band[:, -1] - framed.image[:, band_width + 1].astype(np.float64)).mean()
    assert seam_step < 25

    replicated = cv2.copyMakeBorder(photo, 0, 0, 100, 0, cv2.BORDER_REPLICATE)[:, :90]
    assert replicated.astype(np.float64).var(axis=1).mean() < 1e-9  # what we avoid


def test_padded_band_is_blurred_and_the_photo_is_not(analyzer: FaceAnalyzer) -> None:
    photo = np.ascontiguousarray(astronaut()[:, 150:])
    face = analyzer.find_face(photo)
    framed = frame_square(photo, face, 640)
    band_width = int(-round(plan_crop(face.landmarks, 362, 512).x0) * framed.scale)
    band = framed.image[:, : band_width // 2]
    mirror_twin = framed.image[:, band_width + band_width // 2 : 2 * band_width][:, ::-1]
    assert laplacian_variance(np.ascontiguousarray(band)) < 0.2 * laplacian_variance(
        np.ascontiguousarray(mirror_twin)
    )


# --- plan_crop, pure geometry ----------------------------------------------------------------


def shifted(landmarks: Landmarks, dx: float, dy: float, zoom: float = 1.0) -> Landmarks:
    moved = landmarks.astype(np.float64) * zoom + np.array([dx, dy])
    return np.asarray(moved, dtype=np.float32)


def test_plan_in_a_roomy_photo_is_exactly_centred(astronaut_face: Face) -> None:
    landmarks = shifted(astronaut_face.landmarks, 1000, 1000)
    plan = plan_crop(landmarks, 3000, 3000)
    cx, cy = face_centre(landmarks)
    assert plan.x0 + plan.side / 2 == pytest.approx(cx)
    assert plan.y0 + plan.side / 2 == pytest.approx(cy)
    assert head_height(landmarks) / plan.side == pytest.approx(TARGET_HEAD_FRACTION)
    reach = np.hypot(*(landmarks - np.array([cx, cy])).T).max()
    assert reach <= LANDMARK_RADIUS * plan.side


def test_plan_shifts_a_little_rather_than_pad(astronaut_face: Face) -> None:
    landmarks = shifted(astronaut_face.landmarks, 1000, 1000)
    roomy = plan_crop(landmarks, 3000, 3000)
    # Put the photo's left edge 2 % of the side inside the ideal square.
    left = roomy.x0 + 0.02 * roomy.side
    plan = plan_crop(shifted(landmarks, -left, 0), 3000, 3000)
    assert plan.fits_inside(3000, 3000)
    assert plan.x0 == pytest.approx(0.0, abs=1e-6)
    cx, _ = face_centre(shifted(landmarks, -left, 0))
    assert abs(plan.x0 + plan.side / 2 - cx) <= MAX_SHIFT * plan.side


def test_plan_for_a_tight_portrait_shrinks_to_fit(astronaut_face: Face) -> None:
    landmarks = astronaut_face.landmarks
    ideal = plan_crop(shifted(landmarks, 1000, 1000), 3000, 3000)
    # A photo cropped just around the ideal square, minus 5 % on every side: too tight for
    # the ideal square, roomy enough for a slightly larger face.
    margin = 0.05 * ideal.side
    x0, y0 = ideal.x0 - 1000 + margin, ideal.y0 - 1000 + margin
    width = height = round(ideal.side - 2 * margin)
    local = shifted(landmarks, -x0, -y0)
    plan = plan_crop(local, width, height)
    assert plan.fits_inside(width, height)
    assert plan.side < ideal.side
    assert head_height(local) / plan.side <= MAX_HEAD_FRACTION + 1e-6


# --- real photos -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["obama.jpg", "obama2.jpg", "biden.jpg", "obama_small.jpg", "obama_partial_face.jpg"],
)
def test_real_portraits_are_round_safe(analyzer: FaceAnalyzer, name: str) -> None:
    rgb = load_image(fixture_bytes(name))
    framed = frame_square(rgb, analyzer.find_face(rgb), 640)
    assert_round_safe(framed, 640)


def test_tiny_frame_size_is_a_programming_error(astronaut_face: Face) -> None:
    with pytest.raises(ValueError):
        frame_square(astronaut(), astronaut_face, 8)
