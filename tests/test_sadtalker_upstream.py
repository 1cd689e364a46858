"""``upstream.py``'s loading and calling code, against a stand-in SadTalker the tests write.

SadTalker's code and weights cannot ship with Govorun, so each test builds a fake
``SADTALKER_HOME``: the modules ``UpstreamNets`` imports, as tiny torch networks with upstream's
constructor signatures and call conventions (they assert the shapes upstream's networks need),
its four config files, a packed ``.safetensors`` checkpoint and a pickled MappingNet checkpoint
holding known values. Upstream's own layout is kept: ``src/`` and most packages below it have
no ``__init__.py`` (namespace packages). What these tests prove is the loading (which tensors
reach which network), the tensor plumbing (shapes, dtypes, batching, the pose smoothing) and the
wiring into the render pipeline; SadTalker's quality is ``test_sadtalker_gpu.py``'s job.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="SadTalker's loader needs torch (the neural extra)")
pytest.importorskip("safetensors", reason="the packed checkpoint needs safetensors")
yaml = pytest.importorskip("yaml", reason="facerender.yaml needs PyYAML")

from safetensors.torch import save_file  # noqa: E402
from scipy.io import savemat  # noqa: E402  (scikit-image, a core dependency, brings scipy)
from scipy.signal import savgol_filter  # noqa: E402

from inference.animate.sadtalker import glue  # noqa: E402
from inference.animate.sadtalker.engine import (  # noqa: E402
    CHECKPOINT,
    MAPPING,
    SadTalkerSettings,
    load_sadtalker,
)
from inference.animate.sadtalker.home import SadTalkerUnavailable  # noqa: E402
from inference.animate.sadtalker.upstream import UpstreamNets  # noqa: E402
from inference.demo import astronaut, png  # noqa: E402
from inference.face import FaceAnalyzer  # noqa: E402
from inference.media import probe, read_frames  # noqa: E402
from inference.models import ModelStore  # noqa: E402
from inference.pipeline import Renderer  # noqa: E402
from inference.provenance import verify_file  # noqa: E402
from inference.settings import RenderSettings  # noqa: E402
from tests.model_files import record_in_lock  # noqa: E402

# The five reference points of the stand-in 3D face (eyes, nose tip, mouth corners).
LM3D = np.array(
    [[-0.3, 0.3, 0.0], [0.3, 0.3, 0.0], [0.0, 0.0, 0.1], [-0.25, -0.35, 0.0], [0.25, -0.35, 0.0]]
)
CONFIGS = ("facerender.yaml", "auido2pose.yaml", "auido2exp.yaml", "similarity_Lm3D_all.mat")

# Upstream's facerender.yaml keys, with small sizes: the stand-ins take exactly upstream's
# constructor arguments, so a key the loader passes wrongly fails here.
FACERENDER_YAML = """\
model_params:
  common_params:
    num_kp: 15
    image_channel: 3
    feature_channel: 32
    estimate_jacobian: False
  kp_detector_params:
    temperature: 0.1
    block_expansion: 32
    max_features: 1024
    scale_factor: 0.25
    num_blocks: 5
    reshape_channel: 16384
    reshape_depth: 16
  generator_params:
    block_expansion: 64
    max_features: 512
    num_down_blocks: 2
    reshape_channel: 32
    reshape_depth: 16
    num_resblocks: 6
    estimate_occlusion_map: True
    dense_motion_params:
      block_expansion: 32
      max_features: 1024
      num_blocks: 5
      reshape_depth: 16
      compress: 4
  mapping_params:
    coeff_nc: 70
    descriptor_nc: 8
    layer: 3
    num_kp: 15
    num_bins: 66
"""
AUDIO2POSE_YAML = """\
DATASET:
  NUM_CLASSES: 46
MODEL:
  CVAE:
    SEQ_LEN: 32
    LATENT_SIZE: 4
"""
AUDIO2EXP_YAML = """\
MODEL:
  EXP_DIM: 64
"""

# The stand-in modules, one per upstream module ``UpstreamNets`` imports.
MODULES = {
    "src/face3d/models/__init__.py": "",
    "src/face3d/models/networks.py": """
        import torch
        from torch import nn


        class ReconNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3, 257)

            def forward(self, x):
                assert x.shape == (1, 3, 224, 224) and x.dtype == torch.float32
                return self.fc(x.mean(dim=(2, 3)))


        def define_net_recon(net_recon, use_last_fc=False, init_path=None):
            assert net_recon == "resnet50" and not use_last_fc
            return ReconNet()
        """,
    "src/face3d/util/__init__.py": "",
    "src/face3d/util/load_mats.py": """
        import os

        from scipy.io import loadmat


        def load_lm3d(bfm_folder):
            return loadmat(os.path.join(bfm_folder, "similarity_Lm3D_all.mat"))["lm"]
        """,
    "src/facerender/modules/keypoint_detector.py": """
        import torch
        from torch import nn


        class KPDetector(nn.Module):
            def __init__(
                self, block_expansion, feature_channel, num_kp, image_channel, max_features,
                reshape_channel, reshape_depth, num_blocks, temperature,
                estimate_jacobian=False, scale_factor=1, single_jacobian_map=False,
            ):
                super().__init__()
                self.num_kp = num_kp
                self.kp = nn.Linear(image_channel, num_kp * 3)

            def forward(self, x):
                assert x.shape == (1, 3, 256, 256)
                value = torch.tanh(self.kp(x.mean(dim=(2, 3))))
                return {"value": value.view(x.shape[0], self.num_kp, 3)}
        """,
    "src/facerender/modules/mapping.py": """
        from torch import nn


        class MappingNet(nn.Module):
            def __init__(self, coeff_nc, descriptor_nc, layer, num_kp, num_bins):
                super().__init__()
                self.first = nn.Conv1d(coeff_nc, descriptor_nc, kernel_size=27)
                self.fc_roll = nn.Linear(descriptor_nc, num_bins)
                self.fc_pitch = nn.Linear(descriptor_nc, num_bins)
                self.fc_yaw = nn.Linear(descriptor_nc, num_bins)
                self.fc_t = nn.Linear(descriptor_nc, 3)
                self.fc_exp = nn.Linear(descriptor_nc, 3 * num_kp)

            def forward(self, input_3dmm):
                assert input_3dmm.dim() == 3 and input_3dmm.shape[1:] == (70, 27)
                out = self.first(input_3dmm).flatten(1)
                return {
                    "yaw": self.fc_yaw(out), "pitch": self.fc_pitch(out),
                    "roll": self.fc_roll(out), "t": self.fc_t(out), "exp": self.fc_exp(out),
                }
        """,
    "src/facerender/modules/make_animation.py": """
        import torch


        def keypoint_transformation(kp_canonical, he, wo_exp=False):
            kp = kp_canonical["value"]
            n = he["exp"].shape[0]
            assert kp.shape == (n, 15, 3), "one canonical keypoint set per driving window"
            bins = torch.arange(he["yaw"].shape[1], dtype=kp.dtype, device=kp.device)
            yaw = (torch.softmax(he["yaw"], dim=1) * bins).sum(dim=1) * 3 - 99
            cos, sin = torch.cos(yaw / 180 * 3.14)[:, None], torch.sin(yaw / 180 * 3.14)[:, None]
            x, y, z = kp.unbind(-1)
            rotated = torch.stack([cos * x + sin * z, y, cos * z - sin * x], dim=-1)
            t = he["t"]
            t[:, 0] = t[:, 0] * 0  # upstream edits the translation in place too
            return {"value": rotated + t[:, None, :] + he["exp"].view(n, -1, 3)}
        """,
    "src/facerender/modules/generator.py": """
        import torch
        from torch import nn


        class OcclusionAwareSPADEGenerator(nn.Module):
            def __init__(
                self, image_channel, feature_channel, num_kp, block_expansion, max_features,
                num_down_blocks, reshape_channel, reshape_depth, num_resblocks,
                estimate_occlusion_map=False, dense_motion_params=None, estimate_jacobian=False,
            ):
                super().__init__()
                self.num_kp = num_kp
                self.first = nn.Conv2d(image_channel, image_channel, kernel_size=1)
                self.motion = nn.Linear(num_kp * 3, image_channel)

            def forward(self, source_image, kp_driving, kp_source):
                n = source_image.shape[0]
                assert source_image.shape == (n, 3, 256, 256)
                assert kp_driving["value"].shape == kp_source["value"].shape == (n, 15, 3)
                moved = (kp_driving["value"] - kp_source["value"]).reshape(n, -1)
                shift = self.motion(moved)[:, :, None, None]
                return {"prediction": torch.sigmoid(self.first(source_image) + shift)}
        """,
    "src/test_audio2coeff.py": """
        import safetensors.torch
        import torch
        import yaml
        from torch import nn

        from src.utils.safetensor_helper import load_x_from_safetensor


        def check_batch(batch):
            mels = batch["indiv_mels"]
            bs, frames = mels.shape[:2]
            assert mels.shape == (bs, frames, 1, 80, 16) and mels.dtype == torch.float32
            assert batch["ref"].shape == (bs, frames, 70) and batch["num_frames"] == frames
            assert batch["ratio_gt"].shape == (bs, frames, 1)
            return bs, frames


        class ExpNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(80 + 64 + 1, 64)

            def forward(self, mels, ref, ratio):
                return self.fc(torch.cat([mels, ref, ratio], dim=2))


        class Audio2Exp(nn.Module):
            def __init__(self, netG, cfg, device, prepare_training_loss=False):
                super().__init__()
                self.netG = netG.to(device)

            def test(self, batch):
                bs, frames = check_batch(batch)
                loudness = batch["indiv_mels"].mean(dim=-1).view(bs, frames, 80)
                ref = batch["ref"][:, :, :64]
                return {"exp_coeff_pred": self.netG(loudness, ref, batch["ratio_gt"])}


        class Audio2Pose(nn.Module):
            def __init__(self, cfg, wav2lip_checkpoint, device="cuda"):
                super().__init__()
                self.latent_dim = cfg["MODEL"]["CVAE"]["LATENT_SIZE"]
                self.netG = nn.Linear(self.latent_dim, 6)
                self.style = nn.Embedding(cfg["DATASET"]["NUM_CLASSES"], 6)

            def test(self, x):
                bs, frames = check_batch(x)
                assert x["class"].dtype == torch.long and x["class"].shape == (bs,)
                ref = x["ref"]
                z = torch.randn(bs, frames, self.latent_dim).to(ref.device)
                motion = self.netG(z) + self.style(x["class"])[:, None]
                motion[:, 0] = 0  # the photo's own pose starts the clip
                return {"pose_pred": ref[:, :1, -6:] + motion}


        class Audio2Coeff:
            def __init__(self, sadtalker_path, device):
                with open(sadtalker_path["audio2pose_yaml_path"]) as f:
                    cfg_pose = yaml.safe_load(f)
                with open(sadtalker_path["audio2exp_yaml_path"]) as f:
                    cfg_exp = yaml.safe_load(f)
                assert sadtalker_path["use_safetensor"]
                checkpoints = safetensors.torch.load_file(sadtalker_path["checkpoint"])
                self.audio2pose_model = Audio2Pose(cfg_pose, None, device=device).to(device)
                pose = load_x_from_safetensor(checkpoints, "audio2pose")
                self.audio2pose_model.load_state_dict(pose)
                self.audio2pose_model.eval().requires_grad_(False)
                netG = ExpNet().to(device)
                netG.load_state_dict(load_x_from_safetensor(checkpoints, "audio2exp"))
                self.audio2exp_model = Audio2Exp(netG, cfg_exp, device=device).to(device)
                self.audio2exp_model.eval().requires_grad_(False)
                self.device = device
        """,
    "src/utils/audio.py": """
        import numpy as np

        HOP = 200  # 16 kHz at 80 mel steps a second


        def melspectrogram(wav):
            steps = len(wav) // HOP + 1
            padded = np.pad(np.asarray(wav, np.float64), (0, steps * HOP - len(wav)))
            energy = np.sqrt(np.mean(padded.reshape(steps, HOP) ** 2, axis=1))
            return np.repeat(energy[None], 80, axis=0) + np.arange(80)[:, None] * 1e-3
        """,
    # Upstream's semantics: every key that contains ``key``, with ``key.`` removed.
    "src/utils/safetensor_helper.py": """
        def load_x_from_safetensor(checkpoint, key):
            return {k.replace(key + ".", ""): v for k, v in checkpoint.items() if key in k}
        """,
}


@dataclass(frozen=True)
class Weights:
    checkpoint: Path
    mapping: Path
    saved: dict[str, dict[str, Any]]  # network → the state dict written for it


def _write_home(home: Path) -> None:
    for name, source in MODULES.items():
        path = home / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    config = home / "src" / "config"
    config.mkdir(parents=True)
    (config / "facerender.yaml").write_text(FACERENDER_YAML)
    (config / "auido2pose.yaml").write_text(AUDIO2POSE_YAML)
    (config / "auido2exp.yaml").write_text(AUDIO2EXP_YAML)
    savemat(str(config / "similarity_Lm3D_all.mat"), {"lm": LM3D})


def _forget(home: Path) -> None:
    """Take the stand-in ``src`` out of the interpreter, so the next test imports its own."""
    sys.path[:] = [entry for entry in sys.path if entry != str(home)]
    for name in [name for name in sys.modules if name == "src" or name.startswith("src.")]:
        del sys.modules[name]
    importlib.invalidate_caches()


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "sadtalker"
    _write_home(home)
    yield home
    _forget(home)


def _known_state(net: Any, seed: int) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(seed)
    return {
        name: torch.randn(tensor.shape, generator=generator) * 0.3
        for name, tensor in net.state_dict().items()
    }


def _networks(home: Path) -> dict[str, Any]:
    """Fresh stand-in networks by checkpoint prefix, built as upstream's loaders build them."""
    sys.path.insert(0, str(home))
    try:
        module = importlib.import_module
        config = home / "src" / "config"
        params = yaml.safe_load((config / "facerender.yaml").read_text())["model_params"]
        common = params["common_params"]
        coeff = module("src.test_audio2coeff")
        pose_cfg = yaml.safe_load((config / "auido2pose.yaml").read_text())
        return {
            "face_3drecon": module("src.face3d.models.networks").define_net_recon("resnet50"),
            "generator": module("src.facerender.modules.generator").OcclusionAwareSPADEGenerator(
                **params["generator_params"], **common
            ),
            "kp_extractor": module("src.facerender.modules.keypoint_detector").KPDetector(
                **params["kp_detector_params"], **common
            ),
            "audio2pose": coeff.Audio2Pose(pose_cfg, None, device="cpu"),
            "audio2exp": coeff.ExpNet(),
            "mapping": module("src.facerender.modules.mapping").MappingNet(
                **params["mapping_params"]
            ),
        }
    finally:
        _forget(home)  # UpstreamNets must find and import the stand-ins by itself


@pytest.fixture
def weights(home: Path, tmp_path: Path) -> Weights:
    saved = {
        part: _known_state(net, seed) for seed, (part, net) in enumerate(_networks(home).items())
    }
    # A renderer that shows the photo, nudged by the keypoints' motion: random weights would
    # saturate its sigmoid to a white frame, which carries no watermark.
    generator = saved["generator"]
    generator["first.weight"] = 4.0 * torch.eye(3)[:, :, None, None]
    generator["first.bias"] = torch.full((3,), -2.0)
    generator["motion.weight"] = generator["motion.weight"] * 0.1
    packed = {
        f"{part}.{name}": tensor
        for part, state in saved.items()
        if part != "mapping"
        for name, tensor in state.items()
    }
    checkpoint = tmp_path / "SadTalker_V0.0.2_256.safetensors"
    save_file(packed, str(checkpoint))
    mapping = tmp_path / "mapping_00229-model.pth.tar"
    torch.save({"mapping": saved["mapping"], "epoch": 1}, mapping)
    return Weights(checkpoint, mapping, saved)


@pytest.fixture
def nets(home: Path, weights: Weights) -> UpstreamNets:
    return UpstreamNets(home, weights.checkpoint, weights.mapping, device="cpu", fp16=False)


def _coeffs(seed: int = 0) -> np.ndarray:
    """A photo's 73 coefficients (``glue.photo_coeffs``), with a pose easy to recognise."""
    coeffs = np.random.default_rng(seed).normal(0, 0.1, 73).astype(np.float32)
    coeffs[64:70] = (0.1, -0.2, 0.05, 3.0, -4.0, 5.0)
    return coeffs


def _speech(seconds: float) -> np.ndarray:
    """16 kHz audio whose loudness swells and fades, so every frame sees a different window."""
    t = np.arange(int(seconds * glue.AUDIO_RATE)) / glue.AUDIO_RATE
    return (np.sin(2 * np.pi * 220 * t) * np.sin(np.pi * t / seconds) ** 2).astype(np.float32)


def _motion_inputs(
    nets: UpstreamNets, frames: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mels = glue.mel_windows(nets.mel(_speech(max(frames, 1) / glue.FPS)), frames)
    reference = glue.reference_coeffs(_coeffs(), frames)
    blink = glue.blink_ratio(frames, np.random.default_rng(seed))
    return mels, reference, blink


def test_each_network_gets_its_own_part_of_the_checkpoints(
    nets: UpstreamNets, weights: Weights, home: Path
) -> None:
    loaded = {
        "face_3drecon": nets.recon,
        "generator": nets.generator,
        "kp_extractor": nets.kp_detector,
        "audio2pose": nets.audio2pose,
        "audio2exp": nets.audio2exp.netG,
        "mapping": nets.mapping,
    }
    for part, net in loaded.items():
        state = net.state_dict()
        assert state.keys() == weights.saved[part].keys(), part  # nothing leaks in or out
        for name, tensor in weights.saved[part].items():
            assert torch.equal(state[name], tensor), f"{part}.{name}"
    for net in (nets.recon, nets.generator, nets.kp_detector, nets.mapping):
        assert not net.training
        assert not any(p.requires_grad for p in net.parameters())
    assert nets.lm3d.dtype == np.float64
    np.testing.assert_array_equal(nets.lm3d, LM3D)
    assert str(home) in sys.path  # how upstream's absolute ``src.…`` imports resolve
    assert not nets.fp16
    # Half precision is for CUDA only: asked for on a CPU, it stays off.
    half = UpstreamNets(home, weights.checkpoint, weights.mapping, device="cpu", fp16=True)
    assert not half.fp16


def test_reconstruction_reads_257_coefficients_from_the_aligned_face(
    nets: UpstreamNets, weights: Weights
) -> None:
    aligned = np.random.default_rng(1).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    coeffs = nets.reconstruct(aligned)
    assert coeffs.shape == (257,) and coeffs.dtype == np.float32
    # The stand-in averages each channel: pixels must arrive as RGB planes scaled to [0, 1].
    state = weights.saved["face_3drecon"]
    rgb = aligned.reshape(-1, 3).mean(axis=0) / 255.0
    expected = state["fc.weight"].double().numpy() @ rgb + state["fc.bias"].double().numpy()
    np.testing.assert_allclose(coeffs, expected, rtol=1e-4, atol=1e-5)


def test_mel_is_sadtalkers_spectrogram_one_row_per_step(nets: UpstreamNets) -> None:
    samples = _speech(1.0)
    mel = nets.mel(samples)
    assert mel.shape == (81, 80) and mel.dtype == np.float32  # 80 steps a second, + 1
    upstream = sys.modules["src.utils.audio"].melspectrogram(samples)
    np.testing.assert_allclose(mel, upstream.T, rtol=1e-6)


def test_motion_is_expressions_then_smoothed_pose_reproducible_by_seed(
    nets: UpstreamNets,
) -> None:
    frames = 40
    mels, reference, blink = _motion_inputs(nets, frames)
    first = nets.motion(mels, reference, blink, pose_style=3, seed=11)
    assert first.shape == (frames, glue.COEFFS) and first.dtype == np.float32
    np.testing.assert_array_equal(nets.motion(mels, reference, blink, 3, 11), first)
    other = nets.motion(mels, reference, blink, pose_style=3, seed=12)
    np.testing.assert_array_equal(other[:, glue.EXPRESSION], first[:, glue.EXPRESSION])
    assert not np.allclose(other[:, glue.POSE], first[:, glue.POSE])  # the pose is sampled
    # The pose model's raw sample, as upstream passes it, then smoothed as upstream does.
    batch = {
        "indiv_mels": torch.from_numpy(mels)[None, :, None],
        "ref": torch.from_numpy(reference)[None],
        "num_frames": frames,
        "ratio_gt": torch.from_numpy(blink)[None, :, None],
        "class": torch.LongTensor([3]),
    }
    torch.manual_seed(11)
    raw = nets.audio2pose.test(batch)["pose_pred"][0].numpy()
    np.testing.assert_allclose(first[:, glue.POSE], savgol_filter(raw, 13, 2, axis=0), atol=1e-5)
    assert (
        np.abs(np.diff(first[:, glue.POSE], 2, axis=0)).mean()
        < np.abs(np.diff(raw, 2, axis=0)).mean()
    )
    # The sample moves around the photo's own pose (``ref``), in the last six columns.
    moved = reference.copy()
    moved[:, glue.POSE] += 10.0
    shifted = nets.motion(mels, moved, blink, pose_style=3, seed=11)
    np.testing.assert_allclose(shifted[:, glue.POSE], first[:, glue.POSE] + 10.0, atol=1e-4)
    np.testing.assert_array_equal(shifted[:, glue.EXPRESSION], first[:, glue.EXPRESSION])


@pytest.mark.parametrize("frames", [1, 2, 3, 4, 12, 13])
def test_motion_of_short_clips(nets: UpstreamNets, frames: int) -> None:
    """Upstream's savgol window breaks on clips under three frames; ours must not."""
    mels, reference, blink = _motion_inputs(nets, frames)
    coeffs = nets.motion(mels, reference, blink, pose_style=0, seed=0)
    assert coeffs.shape == (frames, glue.COEFFS) and np.isfinite(coeffs).all()


def test_prepare_and_render_make_one_frame_per_driving_window(
    nets: UpstreamNets, weights: Weights
) -> None:
    face = np.ascontiguousarray(astronaut()[20:276, 120:376])
    coeffs = _coeffs()
    source = nets.prepare(face, glue.source_semantics(coeffs))
    assert source.image.shape == (1, 3, 256, 256)
    assert source.kp_source["value"].shape == (1, 15, 3)
    driving = glue.reference_coeffs(coeffs, 12)
    driving[:, glue.EXPRESSION] += np.linspace(-1, 1, 12, dtype=np.float32)[:, None]
    for n in (1, 5):
        frames = nets.render(source, glue.target_windows(driving, 0, n))
        assert frames.shape == (n, 3, 256, 256) and frames.dtype == np.float32
        assert frames.min() >= 0.0 and frames.max() <= 1.0
    batch = nets.render(source, glue.target_windows(driving, 3, 10))
    # Frames do not mix within a batch, and rendering leaves the source as it was.
    for i in (0, 6):
        alone = nets.render(source, glue.target_windows(driving, 3 + i, 4 + i))
        np.testing.assert_allclose(batch[i], alone[0], atol=1e-6)
    np.testing.assert_array_equal(nets.render(source, glue.target_windows(driving, 3, 10)), batch)
    assert not np.allclose(batch[0], batch[6])  # the expressions drive the frames
    # Driven by its own coefficients, the photo's keypoints stay put: the stand-in generator
    # then adds only its bias to the picture, which needs kp_source, not kp_canonical.
    still = nets.render(source, glue.source_semantics(coeffs)[None])[0]
    generator = {name: t.double().numpy() for name, t in weights.saved["generator"].items()}
    pixels = face.transpose(2, 0, 1) / 255.0
    logits = 4.0 * pixels - 2.0 + generator["motion.bias"][:, None, None]
    np.testing.assert_allclose(still, 1.0 / (1.0 + np.exp(-logits)), atol=1e-5)


@pytest.mark.parametrize("missing", CONFIGS)
def test_a_missing_config_file_is_named(home: Path, weights: Weights, missing: str) -> None:
    (home / "src" / "config" / missing).unlink()
    with pytest.raises(SadTalkerUnavailable, match=missing):
        UpstreamNets(home, weights.checkpoint, weights.mapping, device="cpu", fp16=False)
    assert str(home) not in sys.path  # checked before anything is imported


def _store_with(weights: Weights, models: Path) -> ModelStore:
    store = ModelStore(models)
    for name, path in ((CHECKPOINT, weights.checkpoint), (MAPPING, weights.mapping)):
        target = store.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        record_in_lock(store, name)
    return store


def test_a_note_renders_through_the_loaded_stand_ins(
    home: Path, weights: Weights, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    store = _store_with(weights, tmp_path / "models")
    settings = SadTalkerSettings(
        home=home, device="cpu", fp16=False, enhancer="none", batch_size=8
    )
    animator = load_sadtalker(store, settings)
    assert isinstance(animator.nets, UpstreamNets)
    renderer = Renderer(
        RenderSettings(size=320, tts_engine="espeak"), animator=animator, analyzer=analyzer
    )
    out = tmp_path / "note.mp4"
    job_id = "note-" + "7e" * 10
    result = renderer.render(
        png(astronaut()), out, text="Привет! Это проверка.", job_id=job_id, mimic="lively"
    )
    assert result.engines["animator"] == "sadtalker"
    info = probe(out)
    assert info.fps == 25
    assert (info.width, info.height) == (320, 320)
    assert info.audio_duration is not None and info.audio_duration > 0.5
    assert abs(info.frames - info.audio_duration * 25) <= 2
    frames = np.stack([frame.astype(np.float32) for frame in read_frames(out)])
    assert frames.shape[0] == info.frames
    assert frames.mean(axis=(1, 2, 3)).std() > 0  # the speech moves the stand-in's frames
    assert verify_file(out) == job_id
