"""Stylized looks (issue 13): each look is a real change of the picture, the face is still
found in it, the mouth still follows the speech, and what a frame draws anew (the mouth's
inside, the badge) is drawn in the look, for both animators."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from skimage.metrics import structural_similarity

from inference.animate.base import Performance
from inference.animate.looks import LOOKS, STYLIZED, fit_look
from inference.animate.rig import weights
from inference.animate.sadtalker.engine import SadTalkerAnimator
from inference.animate.track import Channel, empty_track
from inference.animate.warp import WarpAnimator
from inference.demo import astronaut, png
from inference.face import FaceAnalyzer, FramedPhoto, frame_square, load_image
from inference.media import read_frames
from inference.pipeline import Renderer
from inference.provenance import BadgeStyle, VisibleMark, verify_file
from inference.settings import RenderSettings
from testkit.face_assets import fixture_bytes
from testkit.quality import NoteMeasure, best_lag_correlation, measure
from tests.test_sadtalker_engine import MOUTH, StandInNets, _speech

Image = npt.NDArray[np.uint8]
FPS = 25
JOB_ID = "note-13131313131313131313"
MAX_LAG = 2  # frames: ±80 ms
TEXT = (
    "Здравствуйте! Сегодня я расскажу вам о космосе и о нашем полёте. "
    "Мы летали на орбиту двенадцать дней. Это было удивительно красиво."
)
# What "substantially" means: a heavy JPEG (quality 40) of these photos keeps an SSIM of
# 0.89-0.95 with them; a look must move the picture well below that.
MAX_SSIM = 0.8


def _chroma(frames: list[Image]) -> float:
    """How far from grey, on average: the largest minus the smallest channel."""
    return float(np.ptp(np.asarray(frames, np.int16), axis=-1).mean())


def _grey(image: Image) -> Image:
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), np.uint8)


def _similarity(a: Image, b: Image) -> float:
    return float(structural_similarity(_grey(a), _grey(b)))  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def framed(analyzer: FaceAnalyzer) -> FramedPhoto:
    image = astronaut()
    return frame_square(image, analyzer.find_face(image), 640)


def _framed(analyzer: FaceAnalyzer, name: str) -> FramedPhoto:
    photo = load_image(png(astronaut()) if name == "astronaut" else fixture_bytes(name))
    return frame_square(photo, analyzer.find_face(photo), 640)


def test_the_photo_look_is_the_photo_itself(framed: FramedPhoto) -> None:
    look = fit_look("photo", framed)
    assert look.image is framed.image and look.restyle is None
    assert look.badge == BadgeStyle()


@pytest.mark.parametrize("photo", ["astronaut", "obama.jpg", "biden.jpg"])
def test_each_look_changes_the_photo_and_keeps_the_face(
    photo: str, analyzer: FaceAnalyzer
) -> None:
    framed = _framed(analyzer, photo)
    compressed = cv2.imdecode(
        cv2.imencode(".jpg", framed.image, [cv2.IMWRITE_JPEG_QUALITY, 40])[1], cv2.IMREAD_COLOR
    )
    assert _similarity(framed.image, np.asarray(compressed)) > 0.85  # the measure can tell
    reference = np.asarray(framed.landmarks)
    face_width = float(np.linalg.norm(reference[16] - reference[0]))
    for name in STYLIZED:
        look = fit_look(name, framed)
        assert look.image.shape == framed.image.shape and look.image.dtype == np.uint8
        assert _similarity(framed.image, look.image) < MAX_SSIM, name
        # The project's own face check passes on the drawing, landmarks where the photo's are.
        face = analyzer.find_face(look.image)
        error = np.linalg.norm(np.asarray(face.landmarks) - reference, axis=1).mean()
        assert error < 0.03 * face_width, name


def test_an_unknown_look_is_refused(
    framed: FramedPhoto, renderer: Renderer, astronaut_png: bytes, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="look must be one of"):
        fit_look("neon", framed)
    out = tmp_path / "note.mp4"
    with pytest.raises(ValueError, match="look must be one of"):
        renderer.render(astronaut_png, out, text="Привет.", look="neon")
    assert not list(tmp_path.iterdir())


def _open_mouth(animator: WarpAnimator) -> tuple[Image, npt.NDArray[np.bool_]]:
    """A frame with the mouth wide open, and the pixels well inside the opening."""
    params = empty_track(1)[0]
    params[Channel.OPEN] = 1.0
    terms = weights(params)
    span = slice(*animator.rig.lip_span)
    top, bottom = animator.rig.top.at(terms)[span], animator.rig.bottom.at(terms)[span]
    frame = animator.frame(params)
    inside = np.zeros(frame.shape[:2], np.uint8)
    outline = np.round(np.concatenate([top, bottom[::-1]])).astype(np.int32)
    cv2.fillPoly(inside, [outline], 1)
    return frame, cv2.erode(inside, np.ones((3, 3), np.uint8)).astype(bool)


@pytest.mark.parametrize("name", STYLIZED)
def test_the_open_mouth_is_drawn_in_the_look(name: str, framed: FramedPhoto) -> None:
    """The teeth and the inside of the mouth, drawn anew each frame, look as the look draws a
    photo's open mouth, not as a photo: a photoreal mouth never sits in a drawn face."""
    landmarks = np.asarray(framed.landmarks)
    photo_frame, inside = _open_mouth(WarpAnimator(framed.image, landmarks))
    look = fit_look(name, framed)
    assert look.restyle is not None
    drawn_frame, _ = _open_mouth(WarpAnimator(framed.image, landmarks, look))
    assert inside.sum() > 500  # a wide opening, with teeth and tongue in it
    # The look applied to the photo's open mouth: what a drawing of it looks like.
    reference = look.restyle(photo_frame, (0, 0)).astype(np.float32)
    drawn = np.abs(drawn_frame[inside] - reference[inside]).mean()
    photoreal = np.abs(photo_frame[inside] - reference[inside]).mean()
    assert drawn < 0.5 * photoreal, f"{name}: {drawn:.1f} vs a photo's mouth {photoreal:.1f}"


@dataclass(frozen=True)
class Note:
    path: Path
    measure: NoteMeasure


@pytest.fixture(scope="module")
def notes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("looks")


@pytest.fixture(scope="module")
def renderer(analyzer: FaceAnalyzer) -> Renderer:
    return Renderer(RenderSettings(fps=FPS), analyzer=analyzer)


def _render(renderer: Renderer, photo: bytes, look: str, folder: Path) -> Path:
    path = folder / f"{look}.mp4"
    if not path.exists():  # one render per look for the module's tests
        renderer.render(photo, path, text=TEXT, job_id=JOB_ID, look=look, seed=1)
    return path


@pytest.fixture(scope="module")
def photo_frames(renderer: Renderer, astronaut_png: bytes, notes_dir: Path) -> list[Image]:
    return list(read_frames(_render(renderer, astronaut_png, "photo", notes_dir)))


@pytest.mark.parametrize("name", STYLIZED)
def test_a_note_in_each_look_keeps_the_face_the_sync_and_the_marks(
    name: str,
    renderer: Renderer,
    analyzer: FaceAnalyzer,
    astronaut_png: bytes,
    notes_dir: Path,
    photo_frames: list[Image],
) -> None:
    path = _render(renderer, astronaut_png, name, notes_dir)
    m = measure(path, analyzer, FPS)
    # The same text and seed: the same motion, give or take a frame (eSpeak's output for a
    # text varies by a few ms with what it synthesized before), so each frame is compared
    # with its twin in the photo look.
    assert abs(len(m.frames) - len(photo_frames)) <= 1 and len(m.frames) > 150
    for drawn, photo in zip(m.frames[::25], photo_frames[::25], strict=False):
        assert _similarity(drawn, photo) < MAX_SSIM
    assert m.found.mean() >= 0.99, f"face found in {m.found.mean():.1%} of frames"
    # The mouth follows the sound as in the photo look (tests/test_render_quality.py).
    forward = best_lag_correlation(m.opening, m.loudness, MAX_LAG)
    backward = best_lag_correlation(m.opening, m.loudness[::-1].copy(), MAX_LAG)
    assert forward >= 0.5, f"r={forward:.2f}"
    assert forward - backward >= 0.3, f"r={forward:.2f}, reversed r={backward:.2f}"
    assert verify_file(path) == JOB_ID  # the invisible mark reads on a drawing too
    # The badge's pill, most of its box, is the look's colour in every frame (the looks'
    # pills and the photo's lie 100 levels and more apart; ours show 15 % of the picture).
    style = fit_look(name, _framed(analyzer, "astronaut")).badge
    x0, y0, x1, y1 = VisibleMark(640, "ИИ", style).box
    for frame in m.frames[::50]:
        pill = np.median(frame[y0:y1, x0:x1].reshape(-1, 3), axis=0)
        assert np.abs(pill - style.pill).max() < 45, f"{pill} is not {style.pill}"


def test_badges_are_drawn_in_their_looks(framed: FramedPhoto) -> None:
    """Each drawing carries its own badge: an inked caption, a pencilled label, a paint dab."""
    styles = {name: fit_look(name, framed).badge for name in LOOKS}
    assert len(set(styles.values())) == len(LOOKS)
    cartoon, sketch = styles["cartoon"], styles["sketch"]
    assert cartoon.outline is not None and cartoon.pill_alpha == 1.0  # flat, outlined
    assert sketch.outline is not None
    assert max(np.ptp(c) for c in (sketch.pill, sketch.text, sketch.outline)) <= 12  # greys
    photo = VisibleMark(640).box
    for name in STYLIZED:
        assert VisibleMark(640, "ИИ", styles[name]).box == photo  # same place, same size


@pytest.mark.parametrize("name", ["cartoon", "sketch"])
def test_sadtalker_frames_come_out_in_the_look_and_in_sync(
    name: str, analyzer: FaceAnalyzer
) -> None:
    """SadTalker's frames (here from stand-in networks) are drawn in the look after they are
    generated; its input stays the photo, so the motion it makes is unchanged."""
    image = astronaut()
    framed = frame_square(image, analyzer.find_face(image), 320)
    nets = StandInNets()
    engine = SadTalkerAnimator(nets, batch_size=16)
    plain = list(engine.prepare(framed, JOB_ID).frames(Performance(_speech(), FPS, 3)))
    animation = engine.prepare(framed, JOB_ID, fit_look(name, framed))
    drawn = list(animation.frames(Performance(_speech(), FPS, 3)))
    assert nets.reconstructed == 1  # the photo, read once: the look does not change its input
    assert len(drawn) == len(plain) == 75 and drawn[0].shape == (320, 320, 3)
    assert _similarity(drawn[0], plain[0]) < MAX_SSIM
    if name == "sketch":  # pencil on warm paper: grey all over, the stand-in's mouth box too
        assert _chroma(plain[::5]) > 20 and _chroma(drawn[::5]) < 12
    scale = 320 / 256
    box = tuple(slice(int(s.start * scale) + 4, int(s.stop * scale) - 4) for s in MOUTH)
    plain_mouth = [float(f[box].mean()) for f in plain]
    drawn_mouth = [float(f[box].mean()) for f in drawn]
    assert np.corrcoef(plain_mouth, drawn_mouth)[0, 1] > 0.9  # the mouth moves as it did
