"""FaceAnalyzer: exactly one clear face, landmarks, identity embeddings."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from inference.errors import ErrorCode, RenderError
from inference.face import (
    CONFIDENT_SCORE,
    Detection,
    Face,
    FaceAnalyzer,
    frame_square,
    load_image,
    select_single_face,
)
from testkit.face_assets import (
    ASTRONAUT_FACE_BOX,
    RGB,
    astronaut,
    chelsea,
    encode,
    fixture_bytes,
    resized,
    two_astronauts,
    with_exif_orientation,
)

# How fast the models load and a face is found is measured by the render benchmark (its
# "cold start" and "face" columns, bench/results.md), not timed here.


def refusal(analyzer: FaceAnalyzer, rgb: RGB) -> RenderError:
    with pytest.raises(RenderError) as caught:
        analyzer.find_face(rgb)
    return caught.value


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


# --- one face --------------------------------------------------------------------------------


def test_astronaut_has_one_face_with_landmarks(analyzer: FaceAnalyzer) -> None:
    face = analyzer.find_face(astronaut())
    assert isinstance(face, Face)
    assert iou(face.box, ASTRONAUT_FACE_BOX) > 0.8
    assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float32
    assert not face.landmarks.flags.writeable
    x0, y0, x1, y1 = face.box
    nose_tip = face.landmarks[30]
    assert x0 < nose_tip[0] < x1 and y0 < nose_tip[1] < y1
    # Anatomy sanity: eyes above the nose, nose above the mouth, mouth above the chin.
    eyes_y = face.landmarks[36:48, 1].mean()
    assert eyes_y < nose_tip[1] < face.landmarks[62, 1] < face.landmarks[8, 1]
    # Image left is the subject's right eye (points 36-41).
    assert face.landmarks[36:42, 0].mean() < face.landmarks[42:48, 0].mean()


def test_large_photo_is_detected_downscaled_and_mapped_back(analyzer: FaceAnalyzer) -> None:
    big = resized(astronaut(), 2048, 2048)
    face = analyzer.find_face(big)
    expected = tuple(v * 4 for v in ASTRONAUT_FACE_BOX)
    assert iou(face.box, expected) > 0.7
    # Landmarks come from the full-resolution image, so they match the small ones ×4.
    small_face = analyzer.find_face(astronaut())
    assert np.abs(face.landmarks - small_face.landmarks * 4).mean() < 8


def test_small_face_in_a_large_photo_is_found_at_full_resolution(analyzer: FaceAnalyzer) -> None:
    # The 88 px face shrinks to 22 px on the 640 px detection copy: too small even upsampled.
    canvas = np.full((2560, 2560, 3), 128, dtype=np.uint8)
    canvas[1000:1512, 1500:2012] = astronaut()
    face = analyzer.find_face(canvas)
    x0, y0, x1, y1 = ASTRONAUT_FACE_BOX
    assert iou(face.box, (x0 + 1500, y0 + 1000, x1 + 1500, y1 + 1000)) > 0.7


def test_landmarks_in_a_known_box_match_find_face(analyzer: FaceAnalyzer) -> None:
    image = astronaut()
    face = analyzer.find_face(image)
    again = analyzer.landmarks_in(image, face.box)
    np.testing.assert_allclose(again, face.landmarks, atol=1.0)


def test_detect_all_is_the_raw_detector(analyzer: FaceAnalyzer) -> None:
    assert len(analyzer.detect_all(astronaut())) == 1
    assert len(analyzer.detect_all(two_astronauts(), min_score=CONFIDENT_SCORE)) == 2
    assert analyzer.detect_all(chelsea()) == []
    assert analyzer.detect_all(chelsea(), upsample=1) == []


def test_weak_texture_hits_do_not_count_as_faces(analyzer: FaceAnalyzer) -> None:
    # dlib scores a patch of the astronaut's space suit just above its threshold when
    # upsampling; the face itself scores far higher. Only the face may count.
    scored = analyzer.detect_scored(astronaut(), upsample=1)
    assert len(scored) >= 2
    assert scored[0].score > 1.0 > CONFIDENT_SCORE > scored[1].score
    # A JPEG of her even yields such a hit without upsampling, in the very first pass.
    jpeg = load_image(encode(astronaut(), "JPEG", quality=95))
    assert len(analyzer.detect_all(jpeg)) == 2
    assert iou(analyzer.find_face(jpeg).box, ASTRONAUT_FACE_BOX) > 0.8


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_rotated_photo_is_found_after_loading(
    analyzer: FaceAnalyzer, orientation: int
) -> None:
    data = with_exif_orientation(astronaut(), orientation)
    with Image.open(io.BytesIO(data)) as stored:
        sideways = np.asarray(stored.convert("RGB"))
    # Without the EXIF rotation there is no upright face to find: the test means something.
    assert analyzer.detect_all(sideways, upsample=1) == []
    face = analyzer.find_face(load_image(data))
    assert iou(face.box, ASTRONAUT_FACE_BOX) > 0.7


def test_face_near_the_minimum_is_found_with_upsampling(analyzer: FaceAnalyzer) -> None:
    # Half size: a 44 px face, which HOG finds only on the upsampled image.
    half = resized(astronaut(), 256, 256)
    assert analyzer.detect_all(half) == []
    lenient = FaceAnalyzer(min_face_px=30)  # shares the loaded models: no reload
    face = lenient.find_face(half)
    assert iou(face.box, tuple(v / 2 for v in ASTRONAUT_FACE_BOX)) > 0.6


# --- refusals --------------------------------------------------------------------------------


def test_cat_has_no_face(analyzer: FaceAnalyzer) -> None:
    error = refusal(analyzer, chelsea())
    assert error.code is ErrorCode.NO_FACE


def test_blank_image_has_no_face(analyzer: FaceAnalyzer) -> None:
    assert refusal(analyzer, np.full((400, 300, 3), 200, np.uint8)).code is ErrorCode.NO_FACE


def test_two_faces_side_by_side(analyzer: FaceAnalyzer) -> None:
    error = refusal(analyzer, two_astronauts())
    assert error.code is ErrorCode.MANY_FACES
    assert error.params == {"count": 2}


def test_small_face_is_too_small(analyzer: FaceAnalyzer) -> None:
    half = resized(astronaut(), 256, 256)
    error = refusal(analyzer, half)
    assert error.code is ErrorCode.FACE_TOO_SMALL
    assert error.params == {"min_px": 80}


def test_wrong_array_is_a_programming_error(analyzer: FaceAnalyzer) -> None:
    with pytest.raises(ValueError):
        analyzer.find_face(astronaut()[:, :, 0])
    with pytest.raises(ValueError):
        analyzer.find_face(astronaut().astype(np.float32))


# --- the exactly-one rule on its own ---------------------------------------------------------


def det(x0: float, y0: float, x1: float, y1: float, score: float = 1.5) -> Detection:
    return Detection(box=(x0, y0, x1, y1), score=score)


def test_rule_ignores_much_smaller_background_faces() -> None:
    main = det(100, 100, 300, 300)  # 200 px wide
    background = det(500, 50, 560, 110, score=2.0)  # 60 px: 30 % of the main face
    assert select_single_face([background, main]) == main.box


def test_rule_counts_comparable_faces() -> None:
    detections = [det(0, 0, 200, 200), det(300, 0, 380, 80), det(400, 0, 430, 30)]
    with pytest.raises(RenderError) as caught:
        select_single_face(detections)  # 80 px is 40 % of 200: comparable; 30 px is not
    assert caught.value.code is ErrorCode.MANY_FACES
    assert caught.value.params == {"count": 2}


def test_rule_ignores_weak_hits_beside_a_confident_face() -> None:
    face = det(0, 0, 100, 100, score=1.2)
    texture = det(200, 200, 320, 320, score=0.1)  # larger, but barely above dlib's threshold
    assert select_single_face([texture, face]) == face.box


def test_rule_accepts_a_lone_weak_detection() -> None:
    assert select_single_face([det(0, 0, 100, 100, score=0.1)]) == (0, 0, 100, 100)


def test_rule_no_face_and_minimum_size() -> None:
    with pytest.raises(RenderError) as caught:
        select_single_face([])
    assert caught.value.code is ErrorCode.NO_FACE
    with pytest.raises(RenderError) as caught:
        select_single_face([det(0, 0, 79, 79)])
    assert caught.value.code is ErrorCode.FACE_TOO_SMALL
    assert caught.value.params == {"min_px": 80}
    assert select_single_face([det(0, 0, 80, 80)], min_face_px=80) == (0, 0, 80, 80)


# --- embeddings ------------------------------------------------------------------------------


def test_embedding_shape_and_stability(analyzer: FaceAnalyzer) -> None:
    image = astronaut()
    face = analyzer.find_face(image)
    vector = analyzer.embedding(image, face)
    assert vector.shape == (128,) and np.isfinite(vector).all()
    np.testing.assert_allclose(analyzer.embedding(image, face.landmarks), vector)
    # The same person after framing (crop + resize) stays the same identity.
    framed = frame_square(image, face, 640)
    assert np.linalg.norm(analyzer.embedding(framed.image, framed.landmarks) - vector) < 0.3


def test_embedding_rejects_wrong_landmarks(analyzer: FaceAnalyzer) -> None:
    with pytest.raises(ValueError):
        analyzer.embedding(astronaut(), np.zeros((5, 2), np.float32))


def fixture_face(analyzer: FaceAnalyzer, name: str) -> tuple[RGB, Face]:
    rgb = load_image(fixture_bytes(name))
    return rgb, analyzer.find_face(rgb)


def test_embeddings_tell_people_apart(analyzer: FaceAnalyzer) -> None:
    vectors = {
        name: analyzer.embedding(*fixture_face(analyzer, f"{name}.jpg"))
        for name in ("obama", "obama2", "biden")
    }
    assert np.linalg.norm(vectors["obama"] - vectors["obama2"]) < 0.6
    assert np.linalg.norm(vectors["obama"] - vectors["biden"]) > 0.6
    assert np.linalg.norm(vectors["obama2"] - vectors["biden"]) > 0.6


# --- real photos -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["obama.jpg", "obama2.jpg", "biden.jpg", "obama_small.jpg", "32bit.png"]
)
def test_real_single_portraits(analyzer: FaceAnalyzer, name: str) -> None:
    _rgb, face = fixture_face(analyzer, name)
    assert face.width >= 80
    assert face.landmarks.shape == (68, 2)


def test_partial_face_is_still_one_face(analyzer: FaceAnalyzer) -> None:
    _rgb, face = fixture_face(analyzer, "obama_partial_face.jpg")
    assert face.box[0] < 0  # the face runs off the left edge of the photo


def test_real_group_photo_is_many_faces(analyzer: FaceAnalyzer) -> None:
    rgb = load_image(fixture_bytes("two_people.jpg"))
    error = refusal(analyzer, rgb)
    assert error.code is ErrorCode.MANY_FACES
    assert error.params == {"count": 2}
