"""Quality of rendered notes, measured on the frames with dlib (issue #2, "Quality").

Each case renders a real note through the whole offline pipeline and checks:
(1) a face is found in >= 99% of frames; (2) mouth opening follows the loudness: Pearson
>= 0.5 at the best lag within ±80 ms, and at least 0.3 lower against the time-reversed audio;
(3) identity: embedding distance photo↔frames < 0.4 (a smiling photo now closes its mouth,
which moves the embedding a little; other people are 0.6 and more away); (4) the corners stay
the photo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from inference.face import FaceAnalyzer, frame_square, load_image
from inference.media import NoteEncoder, probe, read_frames
from inference.pipeline import Renderer
from inference.provenance import embed
from inference.settings import RenderSettings
from inference.tts.espeak import EspeakEngine
from testkit.face_assets import require_fixture
from testkit.quality import NoteMeasure, best_lag_correlation, measure, voice_message

FPS = 25
JOB_ID = "note-00112233445566778899"
MAX_LAG = 2  # frames: ±80 ms at 25 fps

TEXT_ASTRONAUT = (
    "Здравствуйте! Сегодня я расскажу вам о космосе и о нашем полёте. "
    "Мы летали на орбиту двенадцать дней, "
    "и каждое утро видели восход солнца шестнадцать раз. Это было удивительно красиво."
)
TEXT_OBAMA = (
    "Добрый вечер, друзья. Погода сегодня отличная, и мы пойдём гулять в парк. "
    "Возьмите с собой зонтик, потому что к вечеру обещают дождь и сильный ветер. "
    "А завтра снова выглянет солнце."
)


@dataclass(frozen=True)
class Case:
    photo: bytes
    note: Path
    measure: NoteMeasure


@pytest.fixture(scope="module")
def renderer(analyzer: FaceAnalyzer) -> Renderer:
    return Renderer(RenderSettings(fps=FPS), analyzer=analyzer)


def _render(
    renderer: Renderer, analyzer: FaceAnalyzer, photo: bytes, out: Path, **kwargs: object
) -> Case:
    result = renderer.render(photo, out, job_id=JOB_ID, **kwargs)  # type: ignore[arg-type]
    assert len(result.notes) == 1
    return Case(photo, out, measure(out, analyzer, FPS))


@pytest.fixture(scope="module")
def astronaut_case(
    renderer: Renderer,
    analyzer: FaceAnalyzer,
    astronaut_png: bytes,
    tmp_path_factory: pytest.TempPathFactory,
) -> Case:
    out = tmp_path_factory.mktemp("astronaut") / "note.mp4"
    return _render(renderer, analyzer, astronaut_png, out, text=TEXT_ASTRONAUT)


@pytest.fixture(scope="module")
def obama_case(
    renderer: Renderer, analyzer: FaceAnalyzer, tmp_path_factory: pytest.TempPathFactory
) -> Case:
    photo = require_fixture("obama.jpg").read_bytes()
    out = tmp_path_factory.mktemp("obama") / "note.mp4"
    return _render(renderer, analyzer, photo, out, text=TEXT_OBAMA, voice="ru-female")


@pytest.fixture(scope="module")
def voice_case(
    renderer: Renderer,
    analyzer: FaceAnalyzer,
    astronaut_png: bytes,
    tmp_path_factory: pytest.TempPathFactory,
) -> Case:
    """The voice-message path: no phonemes, mouth motion from the audio alone."""
    text = TEXT_OBAMA.replace("друзья", "дорогие коллеги") + " До скорой встречи!"
    speech = EspeakEngine().synthesize(text, voice="ru-female-soft")
    out = tmp_path_factory.mktemp("voice") / "note.mp4"
    ogg = voice_message(speech.samples, speech.sample_rate)
    return _render(renderer, analyzer, astronaut_png, out, audio=ogg)


CASES = ["astronaut_case", "obama_case", "voice_case"]


@pytest.mark.parametrize("case_name", CASES)
def test_note_is_long_enough_to_judge(case_name: str, request: pytest.FixtureRequest) -> None:
    case: Case = request.getfixturevalue(case_name)
    info = probe(case.note)
    assert info.duration >= 10.0
    assert (info.width, info.height, info.video_codec, info.pix_fmt) == (
        640,
        640,
        "h264",
        "yuv420p",
    )


@pytest.mark.parametrize("case_name", CASES)
def test_face_found_in_99_percent_of_frames(
    case_name: str, request: pytest.FixtureRequest
) -> None:
    case: Case = request.getfixturevalue(case_name)
    assert case.measure.found.mean() >= 0.99


@pytest.mark.parametrize("case_name", CASES)
def test_mouth_follows_the_sound(case_name: str, request: pytest.FixtureRequest) -> None:
    case: Case = request.getfixturevalue(case_name)
    m = case.measure
    forward = best_lag_correlation(m.opening, m.loudness, MAX_LAG)
    backward = best_lag_correlation(m.opening, m.loudness[::-1].copy(), MAX_LAG)
    assert forward >= 0.5, f"r={forward:.2f}"
    assert forward - backward >= 0.3, f"r={forward:.2f}, reversed r={backward:.2f}"


@pytest.mark.parametrize("case_name", CASES)
def test_identity_is_kept(
    case_name: str, request: pytest.FixtureRequest, analyzer: FaceAnalyzer
) -> None:
    case: Case = request.getfixturevalue(case_name)
    photo = load_image(case.photo)
    reference = analyzer.embedding(photo, analyzer.find_face(photo))
    frames = case.measure.frames
    for frame in frames[:: max(1, len(frames) // 8)]:
        distance = np.linalg.norm(analyzer.embedding(frame, analyzer.find_face(frame)) - reference)
        assert distance < 0.4


def _still_note(image: np.ndarray, path: Path) -> np.ndarray:
    """The framed photo encoded as a still note: what compression alone does to it."""
    silence = np.zeros(16000, np.float32)
    with NoteEncoder(path, size=640, fps=FPS, audio=silence, sample_rate=16000) as encoder:
        for _ in range(FPS):
            encoder.write(image)
    return next(iter(read_frames(path)))


CORNERS = [
    (slice(0, 80), slice(0, 80)),
    (slice(0, 80), slice(-80, None)),
    (slice(-80, None), slice(0, 80)),
    (slice(-80, None), slice(-80, None)),
]


@pytest.mark.parametrize("case_name", CASES)
def test_far_from_the_face_nothing_moves(
    case_name: str, request: pytest.FixtureRequest, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    case: Case = request.getfixturevalue(case_name)
    photo = load_image(case.photo)
    # The photo as the renderer starts from it: framed and carrying the invisible watermark,
    # a deliberate, static change the background keeps in every frame.
    framed = embed(frame_square(photo, analyzer.find_face(photo), 640).image, JOB_ID)
    still = _still_note(framed, tmp_path / "still.mp4").astype(np.int16)
    reference = framed.astype(np.int16)
    first = case.measure.frames[0].astype(np.int16)
    for rows, cols in CORNERS:
        # What compression alone does to this photo: a shifted or warped corner would differ
        # by several times as much on any textured background.
        limit = np.abs(still[rows, cols] - reference[rows, cols]).mean() * 1.25 + 0.5
        for frame in case.measure.frames[::5]:
            corner = frame[rows, cols].astype(np.int16)
            assert np.abs(corner - reference[rows, cols]).mean() <= limit
            assert np.abs(corner - first[rows, cols]).mean() <= limit
