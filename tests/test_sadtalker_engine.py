"""The SadTalker engine's wiring, through the real render pipeline and encoder.

SadTalker's networks need its checkpoints and a GPU, so these tests drive the engine with
``StandInNets``: numpy code with the same interface whose "face" is the photo with a mouth box
as bright as the speech is loud. They prove the glue around the networks (face crop, photo
cache, audio to frames in order across batches, the frame rate, watermark, encoding) and say
nothing about SadTalker's own quality; ``test_sadtalker_gpu.py`` does that where it can run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

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
from inference.demo import astronaut, png
from inference.engines import create_animator
from inference.face import FaceAnalyzer
from inference.media import probe, read_frames
from inference.media.probe import read_audio
from inference.models import ModelMissing, ModelStore
from inference.pipeline import Renderer
from inference.provenance import verify_file
from inference.settings import RenderSettings
from tests.model_files import record_in_lock
from tests.quality import best_lag_correlation, frame_loudness

MOUTH = (slice(170, 200), slice(100, 156))  # in the 256 px face crop
TEXT = "Привет! Это проверка движка. Говорим медленно, с паузами, и снова громко."


class StandInNets:
    """SadTalker's network interface in numpy: loudness drives a bright mouth box."""

    lm3d = np.array(
        [[-0.3, 0.3, 0.0], [0.3, 0.3, 0.0], [0.0, 0.0, 0.1], [-0.25, -0.35, 0.0], [0.25, -0.35, 0]]
    )

    def __init__(self) -> None:
        self.reconstructed = 0
        self.rendered_batches: list[int] = []

    def reconstruct(self, aligned: np.ndarray) -> np.ndarray:
        assert aligned.shape == (224, 224, 3)
        self.reconstructed += 1
        return np.full(257, aligned.mean() / 255.0, np.float32)

    def mel(self, samples: np.ndarray) -> np.ndarray:
        hop = glue.AUDIO_RATE // glue.MEL_STEPS_PER_SECOND
        steps = len(samples) // hop + 1
        padded = np.pad(samples, (0, steps * hop - len(samples)))
        energy = np.sqrt(np.mean(padded.reshape(steps, hop) ** 2, axis=1))
        return np.repeat(energy[:, None], 80, axis=1).astype(np.float32)

    def motion(self, mels, reference, blink, pose_style, seed):  # type: ignore[no-untyped-def]
        loudness = mels[:, 0, 6:10].mean(axis=1)  # the window starts two frames early
        coeffs = np.array(reference, np.float32)
        coeffs[:, 0] = loudness / max(float(loudness.max()), 1e-6)
        return coeffs

    def prepare(self, face: np.ndarray, semantics: np.ndarray) -> np.ndarray:
        assert semantics.shape == (70, 27)
        return face

    def render(self, source: np.ndarray, targets: np.ndarray) -> np.ndarray:
        self.rendered_batches.append(len(targets))
        frames = np.repeat(source[None].astype(np.float32) / 255.0, len(targets), axis=0)
        frames[:, MOUTH[0], MOUTH[1]] = targets[:, 0, glue.SEMANTIC_RADIUS, None, None, None]
        return frames.transpose(0, 3, 1, 2)


@pytest.fixture
def nets() -> StandInNets:
    return StandInNets()


def _renderer(nets: StandInNets, analyzer: FaceAnalyzer, fps: int = 25) -> Renderer:
    animator = SadTalkerAnimator(nets, preset=glue.PRESETS["calm"], batch_size=7)
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


def test_loading_without_weights_names_the_download_command(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    with pytest.raises(ModelMissing) as missing:
        load_sadtalker(store, SadTalkerSettings(home=_home(tmp_path)))
    assert f"govorun models download {CHECKPOINT}" in str(missing.value)
