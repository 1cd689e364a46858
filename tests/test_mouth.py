"""The mouth of the ``warp`` animator (issue 11): closing, teeth, bilabials, colours.

Frames are posed directly through ``WarpAnimator.frame`` (no encoding), so each check looks at
exactly the mouth shape it names. The whole-note checks (sync with the audio, identity, the
face found in every frame) live in ``test_render_quality.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from inference.animate.drive import build_track
from inference.animate.mouth import build_interior
from inference.animate.rig import weights
from inference.animate.track import Channel, empty_track
from inference.animate.visemes import shapes_from_phonemes
from inference.animate.warp import WarpAnimator
from inference.demo import astronaut
from inference.face import FaceAnalyzer, frame_square, load_image
from inference.tts.base import Speech
from inference.tts.espeak import EspeakEngine
from testkit.face_assets import require_fixture

Image = npt.NDArray[np.uint8]
FPS = 25


@dataclass(frozen=True)
class Posed:
    animator: WarpAnimator
    photo: Image

    def frame(self, open_: float) -> Image:
        params = empty_track(1)[0]
        params[Channel.OPEN] = open_
        return self.animator.frame(params)

    def lips(self, open_: float) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """The inner lips (top, bottom), corner to corner, in a frame opened ``open_``."""
        params = empty_track(1)[0]
        params[Channel.OPEN] = open_
        terms = weights(params)
        span = slice(*self.animator.rig.lip_span)
        return self.animator.rig.top.at(terms)[span], self.animator.rig.bottom.at(terms)[span]


def _pose(analyzer: FaceAnalyzer, rgb: Image) -> Posed:
    framed = frame_square(rgb, analyzer.find_face(rgb), 640)
    return Posed(WarpAnimator(framed.image, np.asarray(framed.landmarks)), framed.image)


def _luma(image: Image) -> npt.NDArray[np.float32]:
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), np.float32)


@pytest.fixture(scope="module")
def smiling(analyzer: FaceAnalyzer) -> Posed:
    """The bundled portrait: an open smile with the upper teeth showing."""
    return _pose(analyzer, astronaut())


@pytest.fixture(scope="module")
def closed(analyzer: FaceAnalyzer, smiling: Posed) -> Posed:
    """A closed-mouth portrait everywhere: the smiling one, closed by the animator, re-read."""
    return _pose(analyzer, smiling.frame(0.0))


def _inside(
    shape: tuple[int, ...], top: npt.NDArray[np.floating], bottom: npt.NDArray[np.floating]
) -> npt.NDArray[np.bool_]:
    mask = np.zeros(shape[:2], np.uint8)
    outline = np.concatenate([top, bottom[::-1]])
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], 1)
    return mask.astype(bool)


def test_an_open_smile_closes(smiling: Posed) -> None:
    rig = smiling.animator.rig
    assert rig.photo_gap > 0.08 * rig.mouth_width  # the photo shows its teeth
    span = slice(*rig.lip_span)
    teeth = _inside(smiling.photo.shape, rig.top.points[span], rig.bottom.points[span])
    before, after = (_white(image)[teeth] for image in (smiling.photo, smiling.frame(0.0)))
    # Where the photo's teeth were, the closed frame shows lips (a lip's highlight may be as
    # pale as a tooth, but only in a small spot).
    assert before.mean() > 0.3
    assert after.mean() < 0.15 * before.mean()


def _white(image: Image) -> npt.NDArray[np.bool_]:
    """Teeth-like pixels: bright and nearly colourless (lips are as bright, but pink)."""
    rgb = image.astype(np.int16)
    return (_luma(image) > 160) & (rgb.max(axis=-1) - rgb.min(axis=-1) < 40)


def test_closed_lips_show_no_seam_line(smiling: Posed) -> None:
    """Across the line where the lips meet, brightness stays within the lips' own range.

    The profile is averaged along the middle of the mouth, so a seam (which runs the whole
    length) shows and a lip's own highlight (a spot) does not.
    """
    frame = _luma(smiling.frame(0.0))
    top, bottom = smiling.lips(0.0)
    meeting = ((top + bottom) / 2)[len(top) * 3 // 10 : -len(top) * 3 // 10]
    reach = round(0.04 * smiling.animator.rig.mouth_width)
    offsets = np.arange(-2 * reach, 2 * reach + 1)
    profile = np.array(
        [
            frame[np.round(meeting[:, 1]).astype(int) + dy, np.round(meeting[:, 0]).astype(int)]
            for dy in offsets
        ]
    ).mean(axis=1)
    line = profile[np.abs(offsets) <= 1]
    lips = profile[np.abs(offsets) >= reach]
    assert line.max() <= lips.max() + 10, "a bright line along the closed lips"
    assert line.min() >= lips.min() - 12, "a dark line along the closed lips"


def test_a_closed_photo_keeps_its_own_lip_line(analyzer: FaceAnalyzer) -> None:
    photo = load_image(require_fixture("biden.jpg").read_bytes())
    posed = _pose(analyzer, photo)
    rig = posed.animator.rig
    assert rig.photo_gap < 0.03 * rig.mouth_width
    centre = rig.meeting.mean(axis=0).astype(int)
    half = int(0.6 * rig.mouth_width)
    window = np.s_[
        centre[1] - half // 2 : centre[1] + half // 2, centre[0] - half : centre[0] + half
    ]
    difference = np.abs(_luma(posed.frame(0.0))[window] - _luma(posed.photo)[window])
    assert float(np.percentile(difference, 99)) < 12


def test_a_wide_open_mouth_shows_separate_teeth(closed: Posed) -> None:
    frame = _luma(closed.frame(1.0))
    top, bottom = closed.lips(1.0)
    width = closed.animator.rig.mouth_width
    centre_x = float(top[:, 0].mean())
    xs = np.arange(int(centre_x - 0.4 * width), int(centre_x + 0.4 * width))
    best = 0
    for share in (0.08, 0.12, 0.16, 0.2):  # rows through the upper teeth, under the lip
        ys = np.interp(xs, top[:, 0], top[:, 1] + share * (bottom[:, 1] - top[:, 1]))
        row = frame[np.round(ys).astype(int), xs]
        best = max(best, _gaps(row, depth=4.0))
    assert best >= 4, "the upper row should show at least four gaps between teeth"


def _gaps(row: npt.NDArray[np.float32], depth: float) -> int:
    """Local minima at least ``depth`` below the maxima on both sides within 4 px."""
    count = 0
    for i in range(4, len(row) - 4):
        if row[i] == row[i - 1 : i + 2].min():
            left, right = row[i - 4 : i].max(), row[i + 1 : i + 5].max()
            if min(left, right) - row[i] >= depth:
                count += 1
    return count


def test_the_opening_shows_teeth_tongue_and_a_dark_back(closed: Posed) -> None:
    frame = closed.frame(1.0)
    top, bottom = closed.lips(1.0)
    inside = _inside(frame.shape, top, bottom)
    inside &= cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    luma = _luma(frame)[inside]
    skin = _luma(closed.photo)[_inside(frame.shape, top - [0, 40], top - [0, 20])]
    assert luma.max() > np.median(skin), "teeth are lit like the face"
    assert luma.min() < 0.35 * np.median(skin), "the back of the mouth is dark"
    red = frame[inside].astype(np.float32)
    reddish = (red[:, 0] > red[:, 1] * 1.25) & (red[:, 0] > 40)
    assert reddish.mean() > 0.05, "a tongue or gums show"


def test_lower_teeth_appear_as_the_jaw_opens(closed: Posed) -> None:
    def lower_teeth(open_: float) -> float:
        frame = _luma(closed.frame(open_))
        top, bottom = closed.lips(open_)
        middle = len(top) // 2
        x = round(bottom[middle, 0])
        y0, y1 = round(top[middle, 1]), round(bottom[middle, 1])
        column = frame[(y0 + y1) // 2 : y1 - 1, x]
        return float(column.max()) if column.size else 0.0

    assert lower_teeth(1.0) > lower_teeth(0.35) + 15


def test_teeth_are_as_dim_as_the_photo(analyzer: FaceAnalyzer, smiling: Posed) -> None:
    bright = smiling.animator.rig, smiling.photo
    dim_photo = (smiling.photo * 0.45).astype(np.uint8)
    dim = _pose(analyzer, dim_photo)
    teeth = [
        float(np.median(build_interior(image, rig).lower[..., :3][..., 0]))
        for rig, image in (bright, (dim.animator.rig, dim.photo))
    ]
    layers = [
        build_interior(image, rig).upper for rig, image in (bright, (dim.animator.rig, dim.photo))
    ]
    lit = [float(np.percentile(layer[..., :3].max(axis=-1), 95)) for layer in layers]
    assert lit[1] < 0.6 * lit[0]
    assert teeth[1] <= teeth[0]


@pytest.fixture(scope="module")
def bilabial_speech() -> Speech:
    speech = EspeakEngine().synthesize("Мама, папа, баба.", voice="ru-male")
    assert speech.phonemes
    return speech


def test_bilabials_close_the_lips_and_vowels_hold_them_open(bilabial_speech: Speech) -> None:
    speech = bilabial_speech
    assert speech.phonemes
    shapes = shapes_from_phonemes(speech.phonemes, speech.samples, speech.sample_rate, FPS)
    closures, vowels = [], []
    for event in speech.phonemes:
        frame = min(int((event.start + event.end) / 2 * FPS), len(shapes) - 1)
        name = event.phoneme.replace("ˈ", "")
        if name in ("m", "p", "b"):
            closures.append(shapes[frame, 0])
        if name in ("a", "ɑ") and event.end - event.start >= 0.05:
            vowels.append(shapes[frame, 0])
    assert len(closures) >= 4 and len(vowels) >= 3
    assert max(closures) < 0.05
    assert min(vowels) > 0.4


def test_a_bilabial_frame_shows_closed_lips(
    analyzer: FaceAnalyzer, smiling: Posed, bilabial_speech: Speech
) -> None:
    """Through the renderer's own track, the frame of a "п" shows the lips together."""
    speech = bilabial_speech
    assert speech.phonemes
    track = build_track(speech, FPS, seed=1)
    event = next(e for e in speech.phonemes if e.phoneme == "p")
    index = int((event.start + event.end) / 2 * FPS)
    opened = int(np.argmax(track[:, Channel.OPEN]))
    gaps = []
    for row in (index, opened):
        frame = smiling.animator.frame(track[row])
        landmarks = analyzer.find_face(frame).landmarks
        inner = np.linalg.norm(landmarks[[61, 62, 63]] - landmarks[[67, 66, 65]], axis=1).mean()
        gaps.append(inner / np.linalg.norm(landmarks[45] - landmarks[36]))
    assert gaps[0] < 0.03
    assert gaps[1] > 0.08
