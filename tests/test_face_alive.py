"""The whole face alive (issue 12): head, brows, blinks, gaze, and the text's meaning on them.

Two levels. The performance track is planned from real eSpeak speech and the text's cues and
checked as numbers (nods against shakes, where the brows rise, when the lids meet). Then the
``warp`` animator poses those channels on a real photo and the frames are measured: landmarks
found by dlib on the rendered pictures, and the background compared pixel for pixel.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from inference.animate.drive import build_track
from inference.animate.gestures import LEVELS
from inference.animate.head import LIMITS, body_weight, head_moves, reach
from inference.animate.plate import clean_plate, person_mask
from inference.animate.timing import spoken_words
from inference.animate.track import Channel, Track, empty_track
from inference.animate.warp import WarpAnimator
from inference.demo import astronaut
from inference.face import FaceAnalyzer, FramedPhoto, frame_square
from inference.face.image import load_image
from inference.text import emoji_moods, plan_notes, read_script
from inference.text.cues import Script
from inference.tts.base import Speech
from inference.tts.espeak import EspeakEngine
from testkit.face_assets import fixture_bytes

Image = npt.NDArray[np.uint8]
FPS = 25
YES = "Да, конечно. Да, верно, я согласен. Угу, да. Да, именно так, конечно да."
NO = "Нет. Нет, ни за что. Нет, не-а, никогда. Нет, нет и ещё раз нет."
NEUTRAL = (
    "Сегодня я расскажу вам о том, как прошла наша поездка на море. Мы выехали рано утром, "
    "дорога заняла почти весь день, а вечером мы наконец увидели воду. Потом мы долго гуляли "
    "по берегу, смотрели на закат и обсуждали планы на следующий день."
)


def _speak(text: str) -> tuple[Speech, Script]:
    (chunk,) = plan_notes(text, max_seconds=60, max_notes=1)
    return EspeakEngine().synthesize(chunk), read_script(chunk, emoji_moods(text))


def _track(text: str, seed: int = 0, mimic: str = "calm") -> Track:
    speech, script = _speak(text)
    return build_track(speech, FPS, seed, script, mimic)


def _swings(angle: npt.NDArray[np.float32], degrees: float) -> int:
    """Moves of at least ``degrees`` between successive turning points of the angle."""
    values = np.degrees(angle)
    count, anchor, direction = 0, float(values[0]), 0
    for value in values[1:]:
        change = float(value) - anchor
        if direction >= 0 and change <= -degrees:
            count, anchor, direction = count + 1, float(value), -1
        elif direction <= 0 and change >= degrees:
            count, anchor, direction = count + 1, float(value), 1
        elif (direction > 0 and value > anchor) or (direction < 0 and value < anchor):
            anchor = float(value)
    return count


def test_yes_nods_and_no_shakes() -> None:
    yes, no = _track(YES), _track(NO)
    nods_yes, shakes_yes = _swings(yes[:, Channel.PITCH], 3), _swings(yes[:, Channel.YAW], 3)
    nods_no, shakes_no = _swings(no[:, Channel.PITCH], 3), _swings(no[:, Channel.YAW], 3)
    assert nods_yes > 2 * shakes_yes and nods_yes >= 8
    assert shakes_no > 2 * nods_no and shakes_no >= 8


def test_the_head_is_never_still_and_stays_within_a_selfie() -> None:
    track = _track(NEUTRAL)
    for channel, low, high in ((Channel.YAW, 0.8, 4.0), (Channel.PITCH, 1.0, 4.0)):
        std = float(np.degrees(track[:, channel].std()))
        assert low < std < high, (channel.name, std)
    assert 0.4 < float(np.degrees(track[:, Channel.ROLL].std())) < 2.5
    # No frozen stretch: over any second the head moves by a visible fraction of a degree.
    second = np.degrees(track[:, Channel.YAW : Channel.PITCH + 1])
    spans = [np.ptp(second[i : i + FPS], axis=0).max() for i in range(0, len(second) - FPS, FPS)]
    assert min(spans) > 0.2
    for channel, limit in LIMITS.items():
        assert np.abs(track[:, channel]).max() <= limit + 1e-6


def test_a_lively_face_moves_more_than_a_calm_one() -> None:
    calm, lively = _track(NEUTRAL, mimic="calm"), _track(NEUTRAL, mimic="lively")
    head = slice(Channel.ROLL, Channel.PITCH + 1)
    assert lively[:, head].std(axis=0).mean() > 1.25 * calm[:, head].std(axis=0).mean()
    raised = (lively[:, Channel.BROW_RAISE] > 0.3).sum(), (calm[:, Channel.BROW_RAISE] > 0.3).sum()
    assert raised[0] > raised[1]


def test_the_same_speech_and_seed_give_the_same_face_and_another_seed_another() -> None:
    speech, script = _speak(NEUTRAL)
    first, again = (build_track(speech, FPS, 4, script, "calm") for _ in range(2))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, build_track(speech, FPS, 5, script, "calm"))


def test_a_question_raises_the_brows_and_tilts_the_head_near_its_end() -> None:
    speech, script = _speak("Ты правда думаешь, что мы успеем к вечеру?")
    track = build_track(speech, FPS, 0, script, "calm")
    last = spoken_words(script, speech)[-1]
    end = slice(int(last.start * FPS), int(last.end * FPS) + 1)
    assert track[end, Channel.BROW_RAISE].max() > 0.8
    assert track[: int(last.start * FPS) - FPS // 2, Channel.BROW_RAISE].max() < 0.8
    assert np.degrees(np.abs(track[end, Channel.ROLL])).max() > 1.5


def test_sad_and_negative_words_and_smiles_reach_the_brows_and_mouth() -> None:
    sad = _track("Мне очень жаль, правда грустно.")
    assert sad[:, Channel.BROW_SAD].max() > 0.7
    negation = _track("Я не могу.")
    assert negation[:, Channel.BROW_FROWN].max() > 0.5
    smile = _track("Спасибо, я рад! 🙂")
    assert smile[:, Channel.SMILE].max() > 0.7
    assert _track("Сегодня вторник.")[:, Channel.SMILE].max() == 0.0


def test_blinks_close_the_lids_at_irregular_times_and_never_on_a_stress() -> None:
    speech, script = _speak(NEUTRAL * 2)
    track = build_track(speech, FPS, 2, script, "calm")
    blink = track[:, Channel.BLINK]
    starts = np.flatnonzero((blink[1:] > 0.05) & (blink[:-1] <= 0.05)) + 1
    assert len(starts) >= 6
    # The lids meet in every blink: at least one frame fully shut.
    for start in starts:
        assert blink[start : start + 6].max() == pytest.approx(1.0)
    intervals = np.diff(starts) / FPS
    assert intervals.std() / intervals.mean() > 0.25
    assert 1.2 < intervals.mean() < 2 * LEVELS["calm"].blink_every
    beats = [w.beat for w in spoken_words(script, speech) if w.word.content]
    for start in starts / FPS:
        assert all(not -0.2 < start - beat < 0.15 for beat in beats)


def test_a_voice_message_without_text_still_nods_and_raises_brows() -> None:
    speech, _ = _speak(NEUTRAL)
    voice = Speech(speech.samples, speech.sample_rate)  # what a recording gives: audio only
    track = build_track(voice, FPS, 0, None, "lively")
    assert _swings(track[:, Channel.PITCH], 2) >= 6
    assert track[:, Channel.BROW_RAISE].max() > 0.5
    assert (track[:, Channel.BLINK] > 0.99).any()


def test_words_are_timed_in_the_audio_with_or_without_the_engines_word_events() -> None:
    speech, script = _speak(YES)
    timed = spoken_words(script, speech)
    aligned = spoken_words(script, Speech(speech.samples, speech.sample_rate, speech.phonemes))
    for words in (timed, aligned):
        starts = [w.start for w in words]
        assert starts == sorted(starts)
        assert all(w.start <= w.beat <= w.end <= speech.duration + 0.05 for w in words)
    # Aligning by syllables and pauses lands near where eSpeak said each word starts.
    error = np.mean([abs(a.start - b.start) for a, b in zip(timed, aligned, strict=True)])
    assert error < 0.25


# -- the frames -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def framed(analyzer: FaceAnalyzer) -> FramedPhoto:
    image = astronaut()
    return frame_square(image, analyzer.find_face(image), 640)


@pytest.fixture(scope="module")
def animator(framed: FramedPhoto) -> WarpAnimator:
    return WarpAnimator(framed.image, np.asarray(framed.landmarks))


def _posed(animator: WarpAnimator, **channels: float) -> Image:
    params = empty_track(1)[0]
    for name, value in channels.items():
        params[Channel[name]] = value
    return animator.frame(params)


def _yaw_of(landmarks: npt.NDArray[np.float32]) -> float:
    """Where the nose tip sits between the face's sides: grows as the face turns right."""
    left, right = landmarks[0], landmarks[16]
    return float((landmarks[30, 0] - left[0]) / (right[0] - left[0]))


def test_turns_and_nods_show_in_the_landmarks(
    analyzer: FaceAnalyzer, animator: WarpAnimator
) -> None:
    rest = analyzer.find_face(_posed(animator)).landmarks
    right = analyzer.find_face(_posed(animator, YAW=0.1)).landmarks
    left = analyzer.find_face(_posed(animator, YAW=-0.1)).landmarks
    assert _yaw_of(right) > _yaw_of(rest) + 0.02 > _yaw_of(left) + 0.04
    down = analyzer.find_face(_posed(animator, PITCH=0.1)).landmarks
    # A nod moves the nose further down than the brows: the face tips, it does not slide.
    iod = float(np.linalg.norm(rest[45] - rest[36]))
    nose, brows = (down[30, 1] - rest[30, 1]) / iod, (down[19:25, 1] - rest[19:25, 1]).mean() / iod
    assert nose > 0.06 and nose > brows + 0.02


def test_brows_rise_and_lids_meet(analyzer: FaceAnalyzer, animator: WarpAnimator) -> None:
    rest = analyzer.find_face(_posed(animator)).landmarks
    iod = float(np.linalg.norm(rest[45] - rest[36]))

    def brow_height(landmarks: npt.NDArray[np.float32]) -> float:
        return float((landmarks[36:48, 1].mean() - landmarks[17:27, 1].mean()) / iod)

    raised = analyzer.find_face(_posed(animator, BROW_RAISE=1.0)).landmarks
    assert brow_height(raised) > brow_height(rest) + 0.03

    def opening(landmarks: npt.NDArray[np.float32]) -> float:
        lids = [(37, 41), (38, 40), (43, 47), (44, 46)]
        return float(np.mean([landmarks[b, 1] - landmarks[a, 1] for a, b in lids]) / iod)

    shut = analyzer.find_face(_posed(animator, BLINK=1.0)).landmarks
    assert opening(shut) < 0.5 * opening(rest)


def test_the_background_away_from_the_head_stays_the_photos_own(
    framed: FramedPhoto, animator: WarpAnimator
) -> None:
    image, landmarks = framed.image, np.asarray(framed.landmarks)
    person = person_mask(image, landmarks) > 0
    ys, xs = np.mgrid[: image.shape[0], : image.shape[1]].astype(np.float32)
    moving = person & (body_weight(np.stack([xs, ys], axis=-1), landmarks) > 0)
    # Further from the moving person than the furthest the head can move: never touched.
    furthest = reach(head_moves(np.stack([xs, ys], axis=-1)[moving], landmarks))
    away = cv2.distanceTransform((~moving).astype(np.uint8), cv2.DIST_L2, 3) > furthest + 20
    assert away.mean() > 0.2
    for pose in ({"YAW": 0.12, "ROLL": 0.05}, {"PITCH": -0.1, "ROLL": -0.05, "HEAD_X": 0.02}):
        frame = _posed(animator, **pose)
        assert np.array_equal(frame[away], image[away])
        assert np.abs(frame.astype(int) - image).sum(axis=-1)[moving].mean() > 5


def test_frames_drawn_on_threads_come_in_their_order(animator: WarpAnimator) -> None:
    track = _track(YES, mimic="lively")[:30]
    draw = animator.draw(track)
    threaded = list(animator.frames(track))
    assert len(threaded) == len(track)
    serial = [draw(row) for row in track]
    assert all(np.array_equal(a, b) for a, b in zip(threaded, serial, strict=True))
    assert not np.array_equal(threaded[0], threaded[-1])


@pytest.mark.parametrize("pose", [{"YAW": 0.12, "ROLL": 0.05}, {"PITCH": -0.1, "HEAD_X": 0.02}])
def test_only_what_the_moving_person_reaches_changes(
    analyzer: FaceAnalyzer, pose: dict[str, float]
) -> None:
    """No pixel changes further from the moving person than this pose moves them. Here the
    background beside the cheek lies inside the band redrawn for the neck below it; drawn
    without the plate, it once moved with the head and ended in a visible seam."""
    image = load_image(fixture_bytes("obama2.jpg"))
    framed = frame_square(image, analyzer.find_face(image), 640)
    image, landmarks = framed.image, np.asarray(framed.landmarks)
    ys, xs = np.mgrid[: image.shape[0], : image.shape[1]].astype(np.float32)
    points = np.stack([xs, ys], axis=-1)
    moving = (person_mask(image, landmarks) > 0) & (body_weight(points, landmarks) > 0)
    params = empty_track(1)[0]
    for name, value in pose.items():
        params[Channel[name]] = value
    moves = np.tensordot(np.append(params, 0.0), head_moves(points[moving], landmarks), axes=1)
    furthest = float(np.linalg.norm(moves, axis=-1).max())
    frame = _posed(WarpAnimator(image, landmarks), **pose)
    changed = np.abs(frame.astype(int) - image).max(axis=-1) > 0
    distance = cv2.distanceTransform((~moving).astype(np.uint8), cv2.DIST_L2, 3)
    assert changed[moving].mean() > 0.5
    assert distance[changed].max() <= furthest + 3


def test_the_plate_continues_the_background_under_the_persons_edge() -> None:
    """Where the head uncovers the background, the plate shows background colours, not a
    stretched copy of the head's."""
    image = np.zeros((240, 240, 3), np.uint8)
    image[:] = (40, 90, 200)  # a blue wall
    mask = np.zeros((240, 240), np.uint8)
    cv2.circle(mask, (120, 140), 70, 255, -1)
    image[mask > 0] = (200, 60, 40)  # a red head
    plate = clean_plate(image, mask, reach=12)
    inside = cv2.distanceTransform((mask > 0).astype(np.uint8), cv2.DIST_L2, 3)
    strip = (inside > 1) & (inside < 12)
    assert np.abs(plate[strip].astype(int) - (40, 90, 200)).max(axis=-1).mean() < 30
    deep = inside > 30
    assert np.array_equal(plate[deep], image[deep])  # what no motion can uncover stays
