"""``upstream.py`` against SadTalker's real network code, with random weights the tests make.

The code is upstream's ``src/`` as the ``sadtalker-z`` wheel carries it (rebuilt in upstream's
layout by ``tests/sadtalker_code.py``); the checkpoint files are written as the released ones are
laid out (``govorun.benchmark_sadtalker.write_random_checkpoints``), from networks built with
smaller layers so that they run on a CPU in seconds. What is compared is Govorun's adapter
against upstream's own functions on the same networks and inputs: the motion against
``Audio2Coeff.generate``, the batched rendering against ``make_animation``, the audio's mel
windows against ``get_data``, the loading against the checkpoint's own tensors. How good a
trained SadTalker looks is ``test_sadtalker_gpu.py``'s job.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.neural import need

torch = need("torch", "SadTalker's networks need torch (the neural extra)")
need("kornia", "SadTalker's face reconstruction imports kornia (the sadtalker extra)")

from safetensors.torch import load_file  # noqa: E402
from scipy.io import loadmat, savemat  # noqa: E402

from govorun.benchmark_sadtalker import write_random_checkpoints  # noqa: E402
from inference.animate.base import Performance  # noqa: E402
from inference.animate.sadtalker import glue  # noqa: E402
from inference.animate.sadtalker.engine import (  # noqa: E402
    CHECKPOINT,
    MAPPING,
    SadTalkerAnimator,
    SadTalkerSettings,
    load_sadtalker,
)
from inference.animate.sadtalker.home import SadTalkerUnavailable  # noqa: E402
from inference.animate.sadtalker.upstream import UpstreamNets  # noqa: E402
from inference.demo import astronaut, png  # noqa: E402
from inference.face import FaceAnalyzer, frame_square  # noqa: E402
from inference.media import probe, read_frames  # noqa: E402
from inference.models import ModelStore  # noqa: E402
from inference.pipeline import Renderer  # noqa: E402
from inference.provenance import verify_file  # noqa: E402
from inference.settings import RenderSettings  # noqa: E402
from inference.tts.base import Speech  # noqa: E402
from tests.model_files import record_in_lock  # noqa: E402
from tests.sadtalker_code import FACE_PX, forget, upstream_home  # noqa: E402

CONFIGS = ("facerender.yaml", "auido2pose.yaml", "auido2exp.yaml", "similarity_Lm3D_all.mat")
PARTS = ("kp_extractor", "generator", "audio2exp", "audio2pose", "face_3drecon")


@dataclass(frozen=True)
class Weights:
    checkpoint: Path
    mapping: Path


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the suite runs on two processes already (pytest -n 2)
    home = upstream_home(tmp_path_factory.mktemp("sadtalker"))
    yield home
    forget(home)
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def weights(home: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Weights]:
    checkpoint, mapping = write_random_checkpoints(home, tmp_path_factory.mktemp("weights"))
    yield Weights(checkpoint, mapping)
    checkpoint.unlink()  # a few hundred MB: not left for pytest's kept temporary folders


@pytest.fixture(scope="module")
def nets(home: Path, weights: Weights) -> UpstreamNets:
    return UpstreamNets(
        home, weights.checkpoint, weights.mapping, device="cpu", fp16=False, size=FACE_PX
    )


def upstream(module: str) -> Any:
    """One of upstream's modules, as the loaded networks imported it."""
    return importlib.import_module(f"src.{module}")


def _coeffs(seed: int = 0) -> np.ndarray:
    """A photo's 73 coefficients (``glue.photo_coeffs``), with a pose easy to recognise."""
    coeffs = np.random.default_rng(seed).normal(0, 0.1, 73).astype(np.float32)
    coeffs[64:70] = (0.1, -0.2, 0.05, 0.3, -0.4, 0.5)
    return coeffs


def _sound(samples: int) -> np.ndarray:
    """16 kHz audio whose loudness swells and fades, so that every frame hears something else."""
    t = np.arange(samples) / glue.AUDIO_RATE
    swell = np.sin(np.pi * np.arange(samples) / samples) ** 2
    return (np.sin(2 * np.pi * 220 * t) * swell).astype(np.float32)


def _motion_inputs(nets: UpstreamNets, frames: int) -> tuple[np.ndarray, ...]:
    samples = _sound(frames * glue.SAMPLES_PER_FRAME)
    mels = glue.mel_windows(nets.mel(samples), frames)
    reference = glue.reference_coeffs(_coeffs(), frames)
    blink = glue.blink_ratio(frames, np.random.default_rng(frames))
    return mels, reference, blink


# --- loading -----------------------------------------------------------------------------


def test_the_checkpoint_is_laid_out_as_the_released_one(weights: Weights) -> None:
    packed = load_file(str(weights.checkpoint))
    assert {key.split(".")[0] for key in packed} == set(PARTS)
    mapping = torch.load(weights.mapping, map_location="cpu", weights_only=False)
    assert set(mapping) == {"mapping", "epoch"}


def test_each_network_gets_its_own_part_of_the_checkpoint(
    nets: UpstreamNets, weights: Weights, home: Path
) -> None:
    packed = load_file(str(weights.checkpoint))
    loaded = {
        "face_3drecon": nets.recon,
        "generator": nets.generator,
        "kp_extractor": nets.kp_detector,
        "audio2pose": nets.audio2pose,
        "audio2exp": nets.audio2exp.netG,
    }
    for part, net in loaded.items():
        state = net.state_dict()
        saved = {k.removeprefix(f"{part}."): v for k, v in packed.items() if k.startswith(part)}
        assert state.keys() == saved.keys(), part  # nothing leaks in or out
        for name, tensor in saved.items():
            assert torch.equal(state[name], tensor), f"{part}.{name}"
    mapping = torch.load(weights.mapping, map_location="cpu", weights_only=False)["mapping"]
    for name, tensor in nets.mapping.state_dict().items():
        assert torch.equal(tensor, mapping[name]), f"mapping.{name}"
    for net in (nets.recon, nets.generator, nets.kp_detector, nets.mapping, nets.audio2pose):
        assert not net.training
        assert not any(p.requires_grad for p in net.parameters())
    load_lm3d = upstream("face3d.util.load_mats").load_lm3d
    np.testing.assert_array_equal(nets.lm3d, load_lm3d(str(home / "src" / "config")))
    assert nets.lm3d.shape == (5, 3) and nets.lm3d.dtype == np.float64
    assert str(home) in sys.path  # how upstream's absolute ``src.…`` imports resolve
    assert not nets.fp16


@pytest.mark.parametrize("missing", CONFIGS)
def test_a_missing_config_file_is_named(
    home: Path, weights: Weights, missing: str, tmp_path: Path
) -> None:
    broken = tmp_path / "sadtalker"
    shutil.copytree(home / "src" / "config", broken / "src" / "config")
    (broken / "src" / "config" / missing).unlink()
    with pytest.raises(SadTalkerUnavailable, match=missing):
        UpstreamNets(broken, weights.checkpoint, weights.mapping, device="cpu", fp16=False)
    assert str(broken) not in sys.path  # checked before anything is imported


def _store_with(weights: Weights, models: Path) -> ModelStore:
    store = ModelStore(models)
    for name, path in ((CHECKPOINT, weights.checkpoint), (MAPPING, weights.mapping)):
        target = store.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(path)
        record_in_lock(store, name)
    return store


def test_load_sadtalker_reads_the_stores_files(
    home: Path, weights: Weights, tmp_path: Path
) -> None:
    store = _store_with(weights, tmp_path / "models")
    settings = SadTalkerSettings(home=home, device="cpu", fp16=True, batch_size=8)
    animator = load_sadtalker(store, settings)
    assert isinstance(animator.nets, UpstreamNets)
    assert animator.batch_size == 8 and animator.nets.size == glue.RENDER_SIZE
    packed = load_file(str(weights.checkpoint))
    generator = animator.nets.generator.state_dict()
    for key, tensor in packed.items():
        if key.startswith("generator."):
            assert torch.equal(generator[key.removeprefix("generator.")], tensor), key
    assert not animator.nets.fp16  # half precision is for CUDA only: on a CPU it stays off
    assert not SadTalkerSettings(_env_file=None).fp16  # upstream renders in fp32: so do we


# --- the face: reconstruction and rendering ------------------------------------------------


def test_reconstruction_is_upstreams_on_the_aligned_face(nets: UpstreamNets) -> None:
    aligned = np.random.default_rng(1).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    coeffs = nets.reconstruct(aligned)
    assert coeffs.shape == (257,) and coeffs.dtype == np.float32
    # CropAndExtract.generate: pixels / 255 as float32, RGB planes, one batch.
    pixels = torch.tensor(np.array(aligned) / 255.0, dtype=torch.float32).permute(2, 0, 1)
    with torch.no_grad():
        expected = nets.recon(pixels.unsqueeze(0))[0].numpy()
    np.testing.assert_allclose(coeffs, expected, rtol=1e-5, atol=1e-6)


def test_batched_rendering_is_upstreams_make_animation_frame_by_frame(
    nets: UpstreamNets,
) -> None:
    face = np.ascontiguousarray(np.asarray(astronaut()[40:296:8, 130:386:8], np.uint8))  # 32 px
    coeffs = _coeffs()
    driving = glue.reference_coeffs(coeffs, 8)
    driving[:, glue.EXPRESSION] += np.linspace(-1, 1, 8, dtype=np.float32)[:, None]
    driving[:, glue.YAW] += np.linspace(-0.3, 0.3, 8, dtype=np.float32)
    semantics = glue.source_semantics(coeffs)
    source = nets.prepare(face, semantics)
    ours = nets.render(source, glue.target_windows(driving, 2, 6))
    assert ours.shape == (4, 3, FACE_PX, FACE_PX) and ours.dtype == np.float32
    image = torch.from_numpy(face).float().div(255.0).permute(2, 0, 1)[None]
    targets = torch.from_numpy(glue.target_windows(driving, 2, 6))[None]  # (1, frames, 70, 27)
    theirs = upstream("facerender.modules.make_animation").make_animation(
        image,
        torch.from_numpy(semantics)[None],
        targets,
        nets.generator,
        nets.kp_detector,
        None,  # he_estimator: unused by make_animation, as AnimateFromCoeff loads it
        nets.mapping,
        use_exp=True,
    )
    np.testing.assert_allclose(ours, theirs[0].numpy(), atol=2e-4)
    assert float(np.abs(ours[0] - ours[-1]).max()) > 1e-3  # the coefficients drive the frames
    # Rendering leaves the prepared photo as it was: the same batch again is the same.
    np.testing.assert_array_equal(nets.render(source, glue.target_windows(driving, 2, 6)), ours)


# --- the audio: mel windows and motion -------------------------------------------------------


def _get_data(nets: UpstreamNets, samples: np.ndarray, coeffs: np.ndarray, folder: Path) -> Any:
    """Upstream's ``get_data`` on a 16 kHz WAV of ``samples`` and a photo's ``.mat``."""
    import soundfile

    audio, photo = folder / "speech.wav", folder / "photo.mat"
    soundfile.write(str(audio), samples, glue.AUDIO_RATE, subtype="FLOAT")
    savemat(str(photo), {"coeff_3dmm": coeffs[None, :]})
    return upstream("generate_batch").get_data(str(photo), str(audio), "cpu", None)


class Recording:
    """The engine's networks, remembering what the motion networks were given."""

    def __init__(self, nets: UpstreamNets) -> None:
        self.nets, self.lm3d, self.size = nets, nets.lm3d, nets.size
        self.motions: list[tuple[np.ndarray, ...]] = []

    def reconstruct(self, aligned: Any) -> Any:
        return self.nets.reconstruct(aligned)

    def mel(self, samples: Any) -> Any:
        return self.nets.mel(samples)

    def motion(self, mels: Any, reference: Any, blink: Any, pose_style: int, seed: int) -> Any:
        self.motions.append((mels, reference, blink))
        return self.nets.motion(mels, reference, blink, pose_style, seed)

    def prepare(self, face: Any, semantics: Any) -> Any:
        return self.nets.prepare(face, semantics)

    def render(self, source: Any, targets: Any) -> Any:
        return self.nets.render(source, targets)


def test_the_engine_hears_what_upstreams_get_data_hears(
    nets: UpstreamNets, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """Upstream cuts the audio to whole frames before its mel spectrogram; so must we."""
    samples = _sound(7 * glue.SAMPLES_PER_FRAME + 300)  # 7 frames and 300 samples more
    recording = Recording(nets)
    image = astronaut()
    framed = frame_square(image, analyzer.find_face(image), 160)
    animation = SadTalkerAnimator(recording, batch_size=1).prepare(framed, "note-" + "4d" * 10)
    first = next(animation.frames(Performance(Speech(samples, glue.AUDIO_RATE), glue.FPS)))
    assert first.shape == (160, 160, 3)  # the motion networks have run for the whole clip
    [(mels, reference, _)] = recording.motions
    batch = _get_data(nets, samples, animation.photo.coeffs, tmp_path)
    assert batch["num_frames"] == 7
    np.testing.assert_allclose(mels, batch["indiv_mels"][0, :, 0].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(reference, batch["ref"][0].numpy())
    # The uncut clip's spectrogram would have given the last frames other windows.
    uncut = glue.mel_windows(nets.mel(samples), 7)
    assert not np.allclose(uncut[-1], mels[-1], atol=1e-3)
    np.testing.assert_allclose(uncut[:3], mels[:3], rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module")
def audio2coeff(nets: UpstreamNets, home: Path, weights: Weights) -> Any:
    """Upstream's ``Audio2Coeff``, built by upstream's code from the checkpoint file."""
    config = home / "src" / "config"
    paths = {
        "checkpoint": str(weights.checkpoint),
        "use_safetensor": True,
        "audio2pose_yaml_path": str(config / "auido2pose.yaml"),
        "audio2exp_yaml_path": str(config / "auido2exp.yaml"),
    }
    return upstream("test_audio2coeff").Audio2Coeff(paths, "cpu")


@pytest.mark.parametrize(("frames", "pose_style"), [(40, 0), (75, 12), (40, 45), (7, 12)])
def test_motion_is_upstreams_audio2coeff_generate(
    nets: UpstreamNets, audio2coeff: Any, tmp_path: Path, frames: int, pose_style: int
) -> None:
    mels, reference, blink = _motion_inputs(nets, frames)
    ours = nets.motion(mels, reference, blink, pose_style, seed=11)
    assert ours.shape == (frames, glue.COEFFS) and ours.dtype == np.float32
    batch = {
        "indiv_mels": torch.from_numpy(mels)[None, :, None],
        "ref": torch.from_numpy(reference)[None],
        "num_frames": frames,
        "ratio_gt": torch.from_numpy(blink)[None, :, None],
        "audio_name": "speech",
        "pic_name": "photo",
    }
    torch.manual_seed(11)
    theirs = loadmat(audio2coeff.generate(batch, str(tmp_path), pose_style))["coeff_3dmm"]
    np.testing.assert_array_equal(ours, theirs)
    # Seeded: the same note moves the same way; another seed samples another head motion.
    np.testing.assert_array_equal(nets.motion(mels, reference, blink, pose_style, 11), ours)
    other = nets.motion(mels, reference, blink, pose_style, seed=12)
    np.testing.assert_array_equal(other[:, glue.EXPRESSION], ours[:, glue.EXPRESSION])
    assert not np.allclose(other[:, glue.POSE], ours[:, glue.POSE])


@pytest.mark.parametrize("frames", [1, 2, 3, 4, 12, 13])
def test_motion_of_short_clips(nets: UpstreamNets, frames: int) -> None:
    """Upstream's pose smoothing breaks on clips under three frames; ours must not."""
    mels, reference, blink = _motion_inputs(nets, frames)
    coeffs = nets.motion(mels, reference, blink, pose_style=0, seed=0)
    assert coeffs.shape == (frames, glue.COEFFS) and np.isfinite(coeffs).all()


# --- a whole note ----------------------------------------------------------------------------


def test_a_note_renders_through_the_real_networks(
    nets: UpstreamNets, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    renderer = Renderer(
        RenderSettings(size=320, tts_engine="espeak"),
        animator=SadTalkerAnimator(nets, batch_size=8),
        analyzer=analyzer,
    )
    out = tmp_path / "note.mp4"
    job_id = "note-" + "7e" * 10
    result = renderer.render(png(astronaut()), out, text="Привет!", job_id=job_id, mimic="lively")
    assert result.engines["animator"] == "sadtalker"
    info = probe(out)
    assert info.fps == 25 and (info.width, info.height) == (320, 320)
    assert info.audio_duration is not None and info.audio_duration > 0.3
    assert abs(info.frames - info.audio_duration * 25) <= 2
    frames = np.stack([frame.astype(np.float32) for frame in read_frames(out)])
    assert frames.shape[0] == info.frames
    assert frames.std(axis=0).mean() > 1.0  # the speech moves the frames
    assert verify_file(out) == job_id
