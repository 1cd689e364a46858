"""The SadTalker engine's wiring, through the real render pipeline and encoder.

These tests drive the engine with ``StandInNets``: numpy code with the networks' interface whose
"face" is the photo with a mouth box as bright as the speech is loud, and whose head pose follows
the loudness too, so that what comes out can be checked against what went in (SadTalker's real
networks, on random weights, are ``test_sadtalker_upstream.py``'s). They record
what reaches them, so the tests can follow the face's track (head turns, blinks, expressions)
and the mimic level into the networks' inputs. They prove the glue around the networks (face
crop, photo cache, audio to frames in order across batches, the frame rate, watermark,
encoding, the track) and say nothing about SadTalker's own quality; ``test_sadtalker_gpu.py``
does that where it can run.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from inference.animate.base import Performance
from inference.animate.sadtalker import glue
from inference.animate.sadtalker.engine import (
    CHECKPOINT,
    MAPPING,
    SadTalkerAnimator,
    SadTalkerSettings,
    load_sadtalker,
    sadtalker_missing,
)
from inference.animate.sadtalker.home import SadTalkerUnavailable
from inference.animate.track import Channel, empty_track
from inference.demo import astronaut, png
from inference.engines import create_animator, load_animator
from inference.face import FaceAnalyzer, FramedPhoto, frame_square
from inference.media import probe, read_frames
from inference.media.probe import read_audio
from inference.models import ModelMissing, ModelStore
from inference.pipeline import Renderer
from inference.provenance import verify_file
from inference.settings import RenderSettings
from inference.tts.base import Speech
from testkit.quality import best_lag_correlation, frame_loudness
from tests.model_files import record_in_lock
from tests.neural import need

MOUTH = (slice(170, 200), slice(100, 156))  # in the 256 px face crop
TEXT = "Привет! Это проверка движка. Говорим медленно, с паузами, и снова громко."
OWN_POSE = np.array([0.05, -0.04, 0.03], np.float32)  # the stand-in's pitch, yaw, roll at full


class StandInNets:
    """SadTalker's network interface in numpy: loudness drives a bright mouth box.

    ``motion`` remembers its inputs and what it made, ``render`` the driving coefficients of
    each frame (the middle of its window), so a test sees what SadTalker would have been fed.
    """

    lm3d = np.array(
        [[-0.3, 0.3, 0.0], [0.3, 0.3, 0.0], [0.0, 0.0, 0.1], [-0.25, -0.35, 0.0], [0.25, -0.35, 0]]
    )
    size = glue.RENDER_SIZE

    def __init__(self) -> None:
        self.reconstructed = 0
        self.heard: list[int] = []  # samples each mel spectrogram was computed on
        self.rendered_batches: list[int] = []
        self.blinks: list[np.ndarray] = []
        self.pose_styles: list[int] = []
        self.generated: list[np.ndarray] = []
        self.driven: list[np.ndarray] = []

    def reconstruct(self, aligned: np.ndarray) -> np.ndarray:
        assert aligned.shape == (224, 224, 3)
        self.reconstructed += 1
        return np.full(257, aligned.mean() / 255.0, np.float32)

    def mel(self, samples: np.ndarray) -> np.ndarray:
        self.heard.append(len(samples))
        hop = glue.AUDIO_RATE // glue.MEL_STEPS_PER_SECOND
        steps = len(samples) // hop + 1
        padded = np.pad(samples, (0, steps * hop - len(samples)))
        energy = np.sqrt(np.mean(padded.reshape(steps, hop) ** 2, axis=1))
        return np.repeat(energy[:, None], 80, axis=1).astype(np.float32)

    def motion(self, mels, reference, blink, pose_style, seed):  # type: ignore[no-untyped-def]
        self.blinks.append(np.array(blink))
        self.pose_styles.append(pose_style)
        loudness = mels[:, 0, 6:10].mean(axis=1)  # the window starts two frames early
        coeffs = np.array(reference, np.float32)
        coeffs[:, 0] = loudness / max(float(loudness.max()), 1e-6)
        # A head pose of its own, as SadTalker's pose network makes from the audio.
        coeffs[:, glue.PITCH : glue.ROLL + 1] += coeffs[:, :1] * OWN_POSE
        self.generated.append(coeffs.copy())
        return coeffs

    def prepare(self, face: np.ndarray, semantics: np.ndarray) -> np.ndarray:
        assert semantics.shape == (70, 27)
        return face

    def render(self, source: np.ndarray, targets: np.ndarray) -> np.ndarray:
        self.rendered_batches.append(len(targets))
        self.driven.append(np.array(targets[:, :, glue.SEMANTIC_RADIUS]))
        frames = np.repeat(source[None].astype(np.float32) / 255.0, len(targets), axis=0)
        frames[:, MOUTH[0], MOUTH[1]] = targets[:, 0, glue.SEMANTIC_RADIUS, None, None, None]
        return frames.transpose(0, 3, 1, 2)


@pytest.fixture
def nets() -> StandInNets:
    return StandInNets()


def _renderer(nets: StandInNets, analyzer: FaceAnalyzer, fps: int = 25) -> Renderer:
    animator = SadTalkerAnimator(nets, batch_size=7)
    return Renderer(RenderSettings(size=320, fps=fps), animator=animator, analyzer=analyzer)


def test_speech_drives_the_frames_in_order_across_batches(
    nets: StandInNets, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    renderer = _renderer(nets, analyzer, fps=30)
    out = tmp_path / "note.mp4"
    result = renderer.render(png(astronaut()), out, text=TEXT, job_id="note-" + "5a" * 10)
    assert result.engines["animator"] == "sadtalker"
    info = probe(out)
    assert info.fps == 25  # SadTalker's rate, whatever RENDER_FPS says
    assert (info.width, info.height) == (320, 320)
    assert abs(info.frames - info.audio_duration * 25) <= 2  # type: ignore[operator]
    assert len(nets.rendered_batches) > 3 and max(nets.rendered_batches) == 7
    frames = list(read_frames(out))
    mouth = (slice(212, 250), slice(125, 195))  # MOUTH scaled from 256 to 320
    brightness = np.array([f[mouth].mean() for f in frames], np.float64)
    samples, rate = read_audio(out)
    loudness = frame_loudness(samples, rate, 25, len(frames))
    # Shuffled batches or a frame-rate mismatch would break this; the lag is the mel window's.
    assert best_lag_correlation(brightness, loudness, max_lag=2) > 0.8
    assert verify_file(out) == "note-" + "5a" * 10


def test_a_photo_is_reconstructed_once_then_served_from_memory(
    nets: StandInNets, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    renderer = _renderer(nets, analyzer)
    photo = astronaut()
    renderer.render(png(photo), tmp_path / "a.mp4", text="Раз.")
    renderer.render(png(photo), tmp_path / "b.mp4", text="Два, другой текст.")
    assert nets.reconstructed == 1
    renderer.render(png(np.ascontiguousarray(photo[:, ::-1])), tmp_path / "c.mp4", text="Три.")
    assert nets.reconstructed == 2


FRAMES = 75  # SadTalker's frames for the 3 s of ``_speech``
JOB = "note-" + "3c" * 10


def _speech() -> Speech:
    """3 s of noise whose loudness swells twice a second, at a rate SadTalker resamples."""
    rate = 22050
    t = np.arange(3 * rate) / rate
    noise = np.random.default_rng(7).normal(0.0, 0.2, len(t))
    return Speech((noise * (0.55 + 0.45 * np.sin(2 * np.pi * 2 * t))).astype(np.float32), rate)


@pytest.fixture(scope="module")
def framed(analyzer: FaceAnalyzer) -> FramedPhoto:
    image = astronaut()
    return frame_square(image, analyzer.find_face(image), 320)


@dataclass
class Driven:
    """One note through the engine: what SadTalker made and what drove its renderer."""

    generated: np.ndarray  # the motion network's 70 coefficients per frame
    driving: np.ndarray  # what the renderer was driven with, per frame
    blink: np.ndarray  # the motion network's blink input
    pose_style: int
    photo: np.ndarray  # the photo's 73 coefficients


def _drive(
    nets: StandInNets,
    framed: FramedPhoto,
    track: np.ndarray | None,
    mimic: str = "calm",
    seed: int = 3,
) -> Driven:
    animation = SadTalkerAnimator(nets, batch_size=16).prepare(framed, JOB)
    nets.driven.clear()
    frames = list(animation.frames(Performance(_speech(), 25, seed, track, mimic)))
    assert len(frames) == FRAMES and frames[0].shape == (320, 320, 3)
    driving = np.concatenate(nets.driven)
    assert driving.shape == (FRAMES, glue.COEFFS)
    generated = nets.generated[-1]
    assert np.ptp(generated[:, glue.PITCH]) > 0.01  # the stand-in moves the head itself
    photo = animation.photo.coeffs
    return Driven(generated, driving, nets.blinks[-1], nets.pose_styles[-1], photo)


def _waves() -> np.ndarray:
    t = np.arange(FRAMES) / 25
    return (0.1 * np.sin(2 * np.pi * 1.3 * t + 0.4)).astype(np.float32)


def test_the_mel_spectrogram_hears_whole_frames_only(
    nets: StandInNets, framed: FramedPhoto
) -> None:
    """Upstream cuts the audio to frames × 640 samples first (``parse_audio_length``)."""
    noise = np.random.default_rng(3).normal(0.0, 0.2, 25 * glue.SAMPLES_PER_FRAME + 300)
    speech = Speech(noise.astype(np.float32), glue.AUDIO_RATE)  # 25 frames and a bit
    animation = SadTalkerAnimator(nets, batch_size=16).prepare(framed, JOB)
    assert len(list(animation.frames(Performance(speech, 25)))) == 25
    assert nets.heard == [25 * glue.SAMPLES_PER_FRAME]


@pytest.mark.parametrize(
    ("channel", "coefficient", "sign"),
    [
        (Channel.PITCH, glue.PITCH, 1.0),  # both: + tips the nose down
        (Channel.YAW, glue.YAW, 1.0),  # both: + turns the nose to the image's right
        (Channel.ROLL, glue.ROLL, -1.0),  # the track's + is clockwise, the 3DMM's is not
    ],
)
def test_a_head_turn_in_the_track_rides_on_sadtalkers_own_pose(
    nets: StandInNets, framed: FramedPhoto, channel: Channel, coefficient: int, sign: float
) -> None:
    track = empty_track(FRAMES)
    track[:, channel] = _waves()
    run = _drive(nets, framed, track, mimic="lively")
    offset = run.driving[:, glue.POSE] - run.generated[:, glue.POSE]
    expected = np.zeros_like(offset)
    expected[:, coefficient - glue.POSE.start] = sign * _waves()
    np.testing.assert_allclose(offset, expected, atol=1e-6)


def test_a_track_without_head_turns_leaves_the_pose_alone(
    nets: StandInNets, framed: FramedPhoto
) -> None:
    track = empty_track(FRAMES)
    lively = _drive(nets, framed, track, mimic="lively")
    np.testing.assert_array_equal(lively.driving[:, glue.POSE], lively.generated[:, glue.POSE])
    calm = _drive(nets, framed, track, mimic="calm")
    assert np.all(calm.driving[:, glue.POSE] == calm.photo[glue.POSE])
    # A calm head is the photo's, but the text's nods still show on it.
    track[:, Channel.PITCH] = _waves()
    nodding = _drive(nets, framed, track, mimic="calm")
    np.testing.assert_allclose(
        nodding.driving[:, glue.PITCH], calm.photo[glue.PITCH] + _waves(), atol=1e-6
    )


def test_the_tracks_blinks_replace_sadtalkers_random_ones(
    nets: StandInNets, framed: FramedPhoto
) -> None:
    track = empty_track(FRAMES)
    track[[10, 11, 40, 41, 70], Channel.BLINK] = 1.0
    track[[9, 12, 39, 42], Channel.BLINK] = 0.5
    run = _drive(nets, framed, track)
    np.testing.assert_array_equal(run.blink, track[:, Channel.BLINK])
    assert list(np.flatnonzero(run.blink == 1.0)) == [10, 11, 40, 41, 70]
    random = _drive(nets, framed, None)
    assert random.blink.any() and not np.array_equal(random.blink, run.blink)


def test_smiles_and_brows_raise_the_expression_scale_only_where_they_are(
    nets: StandInNets, framed: FramedPhoto
) -> None:
    track = empty_track(FRAMES)
    track[20:30, Channel.SMILE] = 1.0
    track[45:55, Channel.BROW_RAISE] = 0.5
    track[60:65, Channel.BROW_SAD] = 0.5
    track[60:65, Channel.SMILE] = 0.5  # together, still half: the strongest one counts
    track[:, Channel.OPEN] = 1.0  # the mouth channels are warp's: SadTalker's lips are its own
    run = _drive(nets, framed, track)
    ratio = run.driving[:, 1:64] / run.generated[:, 1:64]  # 0 is the stand-in's loudness
    np.testing.assert_allclose(ratio, ratio[:, :1] * np.ones((1, 63)), rtol=1e-6)
    expected = np.ones(FRAMES)
    expected[20:30] = 1.0 + glue.EXPRESSION_GAIN
    expected[45:55] = expected[60:65] = 1.0 + glue.EXPRESSION_GAIN / 2
    np.testing.assert_allclose(ratio[:, 0], expected, rtol=1e-6)
    assert 0 < glue.EXPRESSION_GAIN <= 0.3  # modest


def test_the_users_mimic_level_picks_the_preset(nets: StandInNets, framed: FramedPhoto) -> None:
    track = empty_track(FRAMES)
    lively = _drive(nets, framed, track, mimic="lively")
    assert lively.pose_style == glue.PRESETS["lively"].pose_style != 0
    np.testing.assert_allclose(lively.driving[:, 1:64], lively.generated[:, 1:64] * 1.3, rtol=1e-6)
    calm = _drive(nets, framed, track, mimic="calm")
    assert calm.pose_style == glue.PRESETS["calm"].pose_style
    np.testing.assert_array_equal(calm.driving[:, 1:64], calm.generated[:, 1:64])
    with pytest.raises(ValueError, match="mimic"):
        _drive(nets, framed, track, mimic="wild")


@pytest.mark.parametrize("rows", [FRAMES - 4, FRAMES + 3])
def test_a_track_of_another_length_is_fitted_to_sadtalkers_frames(
    nets: StandInNets, framed: FramedPhoto, rows: int
) -> None:
    track = empty_track(rows)
    track[:, Channel.PITCH] = np.linspace(0.0, 0.1, rows)
    kept = min(rows, FRAMES)
    track[kept - 3, Channel.BLINK] = 1.0
    run = _drive(nets, framed, track, mimic="lively")
    assert run.blink.shape == (FRAMES,)
    assert list(np.flatnonzero(run.blink)) == [kept - 3]  # on its frame, not slid
    offset = run.driving[:, glue.PITCH] - run.generated[:, glue.PITCH]
    np.testing.assert_allclose(offset[:kept], track[:kept, Channel.PITCH], atol=1e-6)
    np.testing.assert_allclose(offset[kept:], track[-1, Channel.PITCH], atol=1e-6)


def test_without_a_track_the_engine_drives_sadtalker_as_before(
    nets: StandInNets, framed: FramedPhoto
) -> None:
    run = _drive(nets, framed, None, seed=5)
    np.testing.assert_array_equal(run.blink, glue.blink_ratio(FRAMES, np.random.default_rng(5)))
    calm = glue.PRESETS["calm"]
    np.testing.assert_array_equal(run.driving, glue.driving_coeffs(run.generated, run.photo, calm))
    assert np.all(run.driving[:, glue.POSE] == run.photo[glue.POSE])


def _home(tmp_path: Path) -> Path:
    config = tmp_path / "sadtalker" / "src" / "config"
    config.mkdir(parents=True)
    for name in (
        "facerender.yaml",
        "auido2pose.yaml",
        "auido2exp.yaml",
        "similarity_Lm3D_all.mat",
    ):
        (config / name).write_bytes(b"")
    return tmp_path / "sadtalker"


def _with_weights(store: ModelStore) -> None:
    for name in (CHECKPOINT, MAPPING):
        path = store.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"stand-in weights " + name.encode())
        record_in_lock(store, name)


def test_why_sadtalker_cannot_run_is_named_step_by_step(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    assert "SADTALKER_HOME is not set" in str(sadtalker_missing(store, SadTalkerSettings()))
    empty = SadTalkerSettings(home=tmp_path / "nowhere")
    assert "facerender.yaml is missing" in str(sadtalker_missing(store, empty))
    settings = SadTalkerSettings(home=_home(tmp_path))
    assert (
        sadtalker_missing(store, settings)
        == f"weights missing: govorun models download {CHECKPOINT}"
    )
    _with_weights(store)
    # Weights and code are here; what is left is this machine: torch, then a CUDA device.
    assert sadtalker_missing(store, settings) in (
        "torch is not installed (pip install 'govorun[neural]')",
        "no CUDA device",
    )


def test_auto_falls_back_to_warp_and_says_why(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MODELS_DIR", str(tmp_path))
    monkeypatch.delenv("SADTALKER_HOME", raising=False)
    with caplog.at_level(logging.INFO, logger="govorun.engines"):
        assert create_animator("auto").name == "warp"
    assert "SADTALKER_HOME is not set" in caplog.text
    with pytest.raises(SadTalkerUnavailable, match="SADTALKER_HOME"):
        create_animator("sadtalker")
    with pytest.raises(ValueError, match="unknown animator"):
        create_animator("sora")


def test_auto_falls_back_to_warp_when_sadtalker_fails_to_load(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Everything SadTalker needs looks present, but its code is not there: the worker still
    starts, on warp, and says why; named explicitly, SadTalker's failure stops the start."""
    need("torch", "sadtalker_missing asks torch for the device")
    store = ModelStore(tmp_path / "models")
    _with_weights(store)
    monkeypatch.setenv("MODELS_DIR", str(store.models_dir))
    monkeypatch.setenv("SADTALKER_HOME", str(_home(tmp_path)))
    monkeypatch.setenv("SADTALKER_DEVICE", "cpu")
    monkeypatch.delenv("RENDER_ANIMATOR", raising=False)
    monkeypatch.setenv("RENDER_TTS_ENGINE", "espeak")
    monkeypatch.setattr(sys, "path", list(sys.path))  # the loader adds SADTALKER_HOME to it
    assert sadtalker_missing(store) is None  # so auto picks SadTalker
    with caplog.at_level(logging.WARNING, logger="govorun.engines"):
        renderer = Renderer(RenderSettings())  # what the worker loads at start
    assert renderer.engines == {"tts": "espeak", "animator": "warp"}
    assert "SadTalker failed to load: ModuleNotFoundError" in caplog.text
    _, why = load_animator("auto", store)
    assert why is not None and why.startswith("failed to load: ModuleNotFoundError")
    with pytest.raises(ModuleNotFoundError):
        create_animator("sadtalker")
    for name in [name for name in sys.modules if name == "src" or name.startswith("src.")]:
        del sys.modules[name]  # the half-found package of this empty home


def test_loading_without_weights_names_the_download_command(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelMissing) as missing:
        load_sadtalker(store, SadTalkerSettings(home=_home(tmp_path)))
    assert f"govorun models download {CHECKPOINT}" in str(missing.value)
