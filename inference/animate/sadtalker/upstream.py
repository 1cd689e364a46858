"""The one place Govorun imports SadTalker's code: upstream OpenTalker/SadTalker, pinned.

The GPU image copies the repository's ``src/`` (at the commit pinned in ``docker/Dockerfile.gpu``)
to ``SADTALKER_HOME``. Only its networks and two small helpers are used: the image, audio and
file handling around them is Govorun's own (``glue.py``), which is why neither gradio, gfpgan,
facexlib nor pydub is needed. This module needs torch and a GPU in practice; nothing imports it
unless the SadTalker engine is chosen.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from inference.animate.sadtalker.glue import RENDER_SIZE, FloatArray, Image
from inference.animate.sadtalker.home import check_home


@dataclass
class RenderSource:
    """One photo prepared for the face renderer: its pixels and its keypoints."""

    image: torch.Tensor
    kp_canonical: dict[str, torch.Tensor]
    kp_source: dict[str, torch.Tensor]


class UpstreamNets:
    """SadTalker's networks on one device, loaded once and kept for every job.

    Three models, as the paper names them: face reconstruction (3DMM coefficients of the
    photo), audio-to-coefficients (expressions and head pose from speech) and the face
    renderer (mapping + keypoint detector + generator).
    """

    def __init__(
        self,
        home: Path,
        checkpoint: Path,
        mapping: Path,
        *,
        device: str,
        fp16: bool,
        size: int = RENDER_SIZE,
    ) -> None:
        config = check_home(home)
        if str(home) not in sys.path:
            sys.path.insert(0, str(home))
        from safetensors.torch import load_file
        from src.face3d.models import networks
        from src.face3d.util.load_mats import load_lm3d
        from src.facerender.modules.generator import OcclusionAwareSPADEGenerator
        from src.facerender.modules.keypoint_detector import KPDetector
        from src.facerender.modules.make_animation import keypoint_transformation
        from src.facerender.modules.mapping import MappingNet
        from src.test_audio2coeff import Audio2Coeff
        from src.utils import audio
        from src.utils.safetensor_helper import load_x_from_safetensor

        self.device = device
        self.fp16 = fp16 and device.startswith("cuda")
        # The face's side in pixels: the checkpoint's 256. The networks are convolutional, so the
        # tests run them, with random weights, on much smaller faces.
        self.size = size
        self._keypoints = keypoint_transformation
        self._melspectrogram = audio.melspectrogram
        self.lm3d = np.asarray(load_lm3d(str(config)), np.float64)
        weights = load_file(str(checkpoint))

        self.recon = networks.define_net_recon(
            net_recon="resnet50", use_last_fc=False, init_path=""
        )
        self.recon.load_state_dict(load_x_from_safetensor(weights, "face_3drecon"))

        paths = {
            "checkpoint": str(checkpoint),
            "use_safetensor": True,
            "audio2pose_yaml_path": str(config / "auido2pose.yaml"),
            "audio2exp_yaml_path": str(config / "auido2exp.yaml"),
        }
        coeff = Audio2Coeff(paths, device)
        self.audio2exp, self.audio2pose = coeff.audio2exp_model, coeff.audio2pose_model

        # The renderer as AnimateFromCoeff builds it; its module is not imported because it
        # pulls in gfpgan, pydub and imageio for file handling Govorun does itself.
        params = yaml.safe_load((config / "facerender.yaml").read_text())["model_params"]
        common = params["common_params"]
        self.generator = OcclusionAwareSPADEGenerator(**params["generator_params"], **common)
        self.kp_detector = KPDetector(**params["kp_detector_params"], **common)
        self.mapping = MappingNet(**params["mapping_params"])
        self.generator.load_state_dict(_prefixed(weights, "generator"))
        self.kp_detector.load_state_dict(_prefixed(weights, "kp_extractor"))
        # A pickled training checkpoint; its digest was checked against models.lock.json.
        state = torch.load(str(mapping), map_location=device, weights_only=False)
        self.mapping.load_state_dict(state["mapping"])
        for net in (self.recon, self.generator, self.kp_detector, self.mapping):
            net.to(device).eval().requires_grad_(False)

    @torch.no_grad()
    def reconstruct(self, aligned: Image) -> FloatArray:
        """The 257 3DMM coefficients of a 224×224 aligned face."""
        pixels = torch.from_numpy(aligned).float().div(255.0).permute(2, 0, 1)[None]
        return self.recon(pixels.to(self.device))[0].float().cpu().numpy()

    def mel(self, samples: FloatArray) -> FloatArray:
        """Mel spectrogram, (steps, 80), of 16 kHz audio, exactly as SadTalker computes it."""
        return np.asarray(self._melspectrogram(samples).T, np.float32)

    @torch.no_grad()
    def motion(
        self,
        mels: FloatArray,
        reference: FloatArray,
        blink: FloatArray,
        pose_style: int,
        seed: int,
    ) -> FloatArray:
        """Per-frame 70 coefficients (64 expression + 6 pose) for the speech (``Audio2Coeff``)."""
        from scipy.signal import savgol_filter

        torch.manual_seed(seed)  # the pose model samples its latent: seeded, notes reproduce
        frames = len(mels)
        batch: dict[str, Any] = {
            "indiv_mels": torch.from_numpy(mels)[None, :, None].to(self.device),
            "ref": torch.from_numpy(reference)[None].to(self.device),
            "num_frames": frames,
            "ratio_gt": torch.from_numpy(blink)[None, :, None].to(self.device),
            "class": torch.LongTensor([pose_style]).to(self.device),
        }
        expression = self.audio2exp.test(batch)["exp_coeff_pred"][0].float().cpu().numpy()
        pose = self.audio2pose.test(batch)["pose_pred"][0].float().cpu().numpy()
        window = 13 if frames >= 13 else max(int((frames - 1) / 2) * 2 + 1, 3)
        if frames >= window:
            pose = savgol_filter(pose, window, 2, axis=0)
        return np.concatenate([expression, pose], axis=1).astype(np.float32)

    @torch.no_grad()
    def prepare(self, face: Image, semantics: FloatArray) -> RenderSource:
        image = torch.from_numpy(face).float().div(255.0).permute(2, 0, 1)[None]
        image = image.to(self.device)
        with self._autocast():
            kp_canonical = self.kp_detector(image)
            he_source = self.mapping(torch.from_numpy(semantics)[None].to(self.device))
            kp_source = self._keypoints(kp_canonical, he_source)
        return RenderSource(image, kp_canonical, kp_source)

    @torch.no_grad()
    def render(self, source: RenderSource, targets: FloatArray) -> FloatArray:
        """Frames (n, 3, size, size) in [0, 1] for n driving windows, as one batch."""
        n = len(targets)
        with self._autocast():
            he_driving = self.mapping(torch.from_numpy(targets).to(self.device))
            kp_driving = self._keypoints(_batched(source.kp_canonical, n), he_driving)
            out = self.generator(
                source.image.expand(n, -1, -1, -1).contiguous(),
                kp_source=_batched(source.kp_source, n),
                kp_driving=kp_driving,
            )
        return out["prediction"].float().cpu().numpy()

    def _autocast(self) -> torch.autocast:
        return torch.autocast("cuda", dtype=torch.float16, enabled=self.fp16)


def _prefixed(weights: dict[str, torch.Tensor], part: str) -> dict[str, torch.Tensor]:
    """One network's tensors out of the packed checkpoint (``load_cpk_facevid2vid_safetensor``)."""
    return {k.replace(f"{part}.", ""): v for k, v in weights.items() if part in k}


def _batched(kp: dict[str, torch.Tensor], n: int) -> dict[str, torch.Tensor]:
    return {key: value.expand(n, *value.shape[1:]) for key, value in kp.items()}
