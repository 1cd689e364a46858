"""SadTalker's compute, measured without its weights: ``govorun bench --engine sadtalker
--random-weights [--seconds S] [--batch-sizes 1,8,32]``.

SadTalker's real networks (its code and configs from SADTALKER_HOME) are built with random
weights and saved as checkpoint files laid out like the released ones, then loaded as a worker
loads them and run through the engine's network path (``engine.drive``): the demo portrait's
face, S seconds of speech-like sound, the motion networks, then frames rendered in batches. The
time a network takes does not depend on its weights' values, so the numbers are the real
checkpoint's. Neither dlib's models nor PyAV are needed, so it runs on a bare GPU machine.
Per batch size, in fp32 and (on CUDA) fp16 autocast: seconds of compute per second of video
(motion networks + renderer), frames per second, peak GPU memory, non-finite values in the
renderer's output, and fp16's PSNR against fp32 on the same inputs.
Results go to ``bench/results-sadtalker-random.{json,md}``.

The PSNR and NaN counts are taken on random weights: they show whether half precision keeps
these networks' arithmetic finite and close, not how a trained face looks. fp16 stays off
(SADTALKER_FP16=false) until a GPU run shows no NaN or inf and PSNR >= 35 dB.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

STEM = "results-sadtalker-random"
# The demo portrait's face as the engine's `crop` box (glue.face_crop) cuts it from dlib's
# landmarks: x 133-317, y 14-199. Fixed here so that the bench needs no face detector.
ASTRONAUT_FACE = (slice(14, 199), slice(133, 317))
FP16_PSNR_DB = 35.0  # what fp16 must reach against fp32 before it may be the default


def write_random_checkpoints(home: Path, folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """SadTalker's two checkpoint files, with random weights, laid out as the released ones.

    ``SadTalker_V0.0.2_256.safetensors`` is the state dict of one module holding kp_extractor,
    generator, audio2exp, audio2pose and face_3drecon (upstream's ``model2safetensor.py``);
    ``mapping_00229-model.pth.tar`` is a training checkpoint with the MappingNet under
    ``mapping``. The networks are built from ``home``'s code and config as upstream builds them.
    """
    import torch
    import yaml
    from safetensors.torch import save_file

    from inference.animate.sadtalker.home import check_home

    config = check_home(home)
    if str(home) not in sys.path:
        sys.path.insert(0, str(home))
    from src.audio2exp_models.networks import SimpleWrapperV2
    from src.audio2pose_models.audio2pose import Audio2Pose
    from src.face3d.models import networks
    from src.facerender.modules.generator import OcclusionAwareSPADEGenerator
    from src.facerender.modules.keypoint_detector import KPDetector
    from src.facerender.modules.mapping import MappingNet
    from yacs.config import CfgNode

    torch.manual_seed(seed)
    params = yaml.safe_load((config / "facerender.yaml").read_text())["model_params"]
    common = params["common_params"]
    with (config / "auido2pose.yaml").open() as file:
        pose_config = CfgNode.load_cfg(file)
    packed = torch.nn.Module()
    packed.kp_extractor = KPDetector(**params["kp_detector_params"], **common)
    packed.generator = OcclusionAwareSPADEGenerator(**params["generator_params"], **common)
    packed.audio2exp = SimpleWrapperV2()
    packed.audio2pose = Audio2Pose(pose_config, None, device="cpu")
    packed.face_3drecon = networks.define_net_recon("resnet50", use_last_fc=False, init_path="")
    folder.mkdir(parents=True, exist_ok=True)
    checkpoint = folder / "SadTalker_V0.0.2_256.safetensors"
    save_file({k: v.contiguous() for k, v in packed.state_dict().items()}, str(checkpoint))
    mapping = folder / "mapping_00229-model.pth.tar"
    net = MappingNet(**params["mapping_params"])
    torch.save({"mapping": net.state_dict(), "epoch": 0}, mapping)
    return checkpoint, mapping


class TimedNets:
    """The engine's networks, each call timed (after the GPU has finished it)."""

    def __init__(self, nets: Any, sync: Callable[[], None]) -> None:
        self.nets = nets
        self.lm3d = nets.lm3d
        self.size: int = nets.size
        self._sync = sync
        self.seconds = {"motion": 0.0, "render": 0.0}

    def _timed(self, stage: str, call: Callable[..., Any], *args: Any) -> Any:
        self._sync()
        started = time.perf_counter()
        out = call(*args)
        self._sync()
        self.seconds[stage] += time.perf_counter() - started
        return out

    def reconstruct(self, aligned: Any) -> Any:
        return self.nets.reconstruct(aligned)

    def mel(self, samples: Any) -> Any:
        return self.nets.mel(samples)

    def motion(self, *args: Any) -> Any:
        return self._timed("motion", self.nets.motion, *args)

    def prepare(self, face: Any, semantics: Any) -> Any:
        return self._timed("render", self.nets.prepare, face, semantics)

    def render(self, source: Any, targets: Any) -> Any:
        return self._timed("render", self.nets.render, source, targets)


def speech(seconds: float) -> npt.NDArray[np.float32]:
    """16 kHz noise whose loudness swells three times a second: the audio path's work."""
    from inference.animate.sadtalker.glue import AUDIO_RATE

    t = np.arange(round(seconds * AUDIO_RATE)) / AUDIO_RATE
    noise = np.random.default_rng(0).normal(0.0, 0.2, len(t))
    return (noise * (0.55 + 0.45 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def face(size: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    """The demo portrait's face as the renderer sees it (``size`` px) and as the 3DMM network
    does (224 px): a fixed box, so that no face detector (dlib's models) is needed."""
    import cv2

    from inference.demo import astronaut

    crop = astronaut()[ASTRONAUT_FACE]
    rendered, aligned = (
        cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA) for side in (size, 224)
    )
    return np.asarray(rendered, np.uint8), np.asarray(aligned, np.uint8)


def psnr(reference: npt.NDArray[np.float32], other: npt.NDArray[np.float32]) -> float:
    """PSNR in dB of ``other`` against ``reference``, both in [0, 1]; inf when they are equal."""
    mse = float(np.mean((reference.astype(np.float64) - other.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


def run(
    home: Path, seconds: float, batch_sizes: list[int], size: int, device: str
) -> dict[str, Any]:
    import torch

    from inference.animate.sadtalker.glue import photo_coeffs
    from inference.animate.sadtalker.upstream import UpstreamNets

    cuda = device.startswith("cuda")

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        checkpoint, mapping = write_random_checkpoints(home, Path(folder))
        nets = UpstreamNets(home, checkpoint, mapping, device=device, fp16=False, size=size)
    load_seconds = time.perf_counter() - started
    timed = TimedNets(nets, sync)
    rendered, aligned = face(size)
    coeffs = photo_coeffs(nets.reconstruct(aligned), np.zeros(5, np.float32))
    samples = speech(seconds)
    precisions = ["fp32", "fp16"] if cuda else ["fp32"]
    cases: list[dict[str, Any]] = []
    for batch in batch_sizes:
        reference: npt.NDArray[np.float32] | None = None
        for precision in precisions:
            nets.fp16 = precision == "fp16"
            case: dict[str, Any] = {"precision": precision, "batch_size": batch}
            # CUDA picks its kernels per shape, a CPU sets itself up on the first call.
            warm = cuda or not cases
            try:
                out = _note(timed, rendered, coeffs, samples, batch, warm)
            except torch.cuda.OutOfMemoryError:
                torch.cuda.empty_cache()
                cases.append({**case, "error": "out of GPU memory"})
                continue
            frames = len(out)
            compute = timed.seconds["motion"] + timed.seconds["render"]
            case |= {
                "frames": frames,
                "motion_seconds": round(timed.seconds["motion"], 3),
                "render_seconds": round(timed.seconds["render"], 3),
                "compute_per_video_second": _figures(compute / (frames / 25)),
                "frames_per_second": _figures(frames / timed.seconds["render"]),
                "nonfinite": int(np.size(out) - np.count_nonzero(np.isfinite(out))),
            }
            if cuda:
                case["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20)
            if precision == "fp32":
                reference = out
            elif reference is not None:
                case["psnr_vs_fp32_db"] = round(psnr(reference, np.nan_to_num(out)), 2)
            cases.append(case)
            print(json.dumps(case), flush=True)
    return {
        "machine": _machine(device),
        "device": device,
        "face_px": size,
        "speech_seconds": seconds,
        "load_seconds": round(load_seconds, 2),
        "cases": cases,
    }


def _figures(value: float) -> float:
    """Three significant figures: a CPU renders 0.0153 frames a second, an H200 hundreds."""
    return float(f"{value:.3g}")


def _note(
    timed: TimedNets,
    rendered: npt.NDArray[np.uint8],
    coeffs: npt.NDArray[np.float32],
    samples: npt.NDArray[np.float32],
    batch: int,
    warm: bool,
) -> npt.NDArray[np.float32]:
    """One note through the engine's networks (``drive``): the renderer's raw output."""
    import torch

    from inference.animate.sadtalker.engine import drive
    from inference.animate.sadtalker.glue import PRESETS

    def batches() -> Iterator[npt.NDArray[np.float32]]:
        return drive(
            timed, rendered, coeffs, samples, batch_size=batch, preset=PRESETS["calm"], seed=0
        )

    if warm:  # the motion networks and one batch, untimed
        next(batches())
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    timed.seconds = {"motion": 0.0, "render": 0.0}
    return np.concatenate(list(batches()))


def _machine(device: str) -> str:
    from govorun.benchmark import machine

    return machine() + ("" if device.startswith("cuda") else "; on the CPU")


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Machine: {report['machine']}. SadTalker's networks as SADTALKER_HOME's configs build "
        f"them, random weights, a {report['face_px']} px face, {report['speech_seconds']} s of "
        f"speech; built, saved and loaded in {report['load_seconds']} s. Compute = motion "
        "networks + renderer, per second of 25 fps video.",
        "",
        "| precision | batch | frames | compute s / video s | frames/s | motion | render "
        "| peak GPU memory | NaN/inf | PSNR vs fp32 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in report["cases"]:
        if "error" in case:
            lines.append(f"| {case['precision']} | {case['batch_size']} | {case['error']} |")
            continue
        memory = f"{case['peak_gpu_mb']} MB" if "peak_gpu_mb" in case else "—"
        psnr_db = f"{case['psnr_vs_fp32_db']} dB" if "psnr_vs_fp32_db" in case else "—"
        lines.append(
            f"| {case['precision']} | {case['batch_size']} | {case['frames']} "
            f"| {case['compute_per_video_second']} | {case['frames_per_second']} "
            f"| {case['motion_seconds']} s | {case['render_seconds']} s | {memory} "
            f"| {case['nonfinite']} | {psnr_db} |"
        )
    lines += ["", verdict(report)]
    return "\n".join(lines) + "\n"


def verdict(report: dict[str, Any]) -> str:
    """Whether these numbers let fp16 become the default (SADTALKER_FP16)."""
    half = [case for case in report["cases"] if case["precision"] == "fp16"]
    if not half:
        return "fp16: not measured (no CUDA device); SADTALKER_FP16 stays false."
    safe = all(
        "error" not in case
        and case["nonfinite"] == 0
        and case.get("psnr_vs_fp32_db", 0.0) >= FP16_PSNR_DB
        for case in half
    )
    if safe:
        return f"fp16: finite and >= {FP16_PSNR_DB:g} dB against fp32 at every batch size."
    return f"fp16: NOT safe (NaN/inf or under {FP16_PSNR_DB:g} dB); SADTALKER_FP16 stays false."


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="speech per case (10 on CUDA, 0.2 on CPU)")
    parser.add_argument(
        "--batch-sizes", help="comma-separated frames per renderer call (1,8,16,32,64 on CUDA)"
    )
    parser.add_argument("--size", type=int, default=256, help="face side in px (256: the real)")
    parser.add_argument("--output-dir", type=Path, default=Path("bench"), help="default: ./bench")
    args = parser.parse_args(argv)

    import torch

    from inference.animate.sadtalker.engine import SadTalkerSettings
    from inference.animate.sadtalker.home import SadTalkerUnavailable, check_home

    settings = SadTalkerSettings()
    try:
        check_home(settings.home)
    except SadTalkerUnavailable as error:
        raise SystemExit(f"bench: {error}") from None
    assert settings.home is not None
    device = settings.device if torch.cuda.is_available() else "cpu"
    cuda = device.startswith("cuda")
    seconds = args.seconds or (10.0 if cuda else 0.2)
    sizes = args.batch_sizes or ("1,8,16,32,64" if cuda else "1,2,5")
    batch_sizes = [int(part) for part in sizes.split(",")]
    report = run(settings.home, seconds, batch_sizes, args.size, device)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{STEM}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / f"{STEM}.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
