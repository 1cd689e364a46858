"""``govorun bench --engine sadtalker --random-weights``: SadTalker's real networks, timed
without their weights. Here on the CPU, on a small face and the tests' small layers
(``tests/sadtalker_code.py``), so it runs in seconds; the numbers it writes are a GPU's job."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.neural import need

torch = need("torch", "SadTalker's networks need torch (the neural extra)")
need("kornia", "SadTalker's face reconstruction imports kornia (the sadtalker extra)")

from govorun.benchmark_sadtalker import ASTRONAUT_FACE, FP16_PSNR_DB, markdown, psnr, verdict  # noqa: E402
from govorun.cli import main  # noqa: E402
from inference.animate.sadtalker import glue  # noqa: E402
from inference.demo import astronaut  # noqa: E402
from inference.face import FaceAnalyzer  # noqa: E402
from tests.sadtalker_code import FACE_PX, forget, upstream_home  # noqa: E402


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = upstream_home(tmp_path / "sadtalker")
    monkeypatch.setenv("SADTALKER_HOME", str(home))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the suite runs on two processes already (pytest -n 2)
    yield home
    torch.set_num_threads(threads)
    forget(home)


def test_the_bench_times_the_real_networks_and_says_fp16_was_not_measured(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    argv = ["bench", "--engine", "sadtalker", "--random-weights", "--seconds", "0.16"]
    argv += ["--batch-sizes", "1,3", "--size", str(FACE_PX), "--output-dir", str(out)]
    assert main(argv) == 0
    report = json.loads((out / "results-sadtalker-random.json").read_text())
    assert report["device"] == "cpu" and report["face_px"] == FACE_PX
    cases = report["cases"]
    assert [(c["precision"], c["batch_size"]) for c in cases] == [("fp32", 1), ("fp32", 3)]
    for case in cases:
        assert case["frames"] == 4  # 0.16 s at 25 fps
        assert case["nonfinite"] == 0
        assert case["render_seconds"] > 0 and case["motion_seconds"] > 0
        compute = (case["render_seconds"] + case["motion_seconds"]) / 0.16
        assert math.isclose(case["compute_per_video_second"], compute, rel_tol=0.02, abs_tol=0.01)
        assert "peak_gpu_mb" not in case and "psnr_vs_fp32_db" not in case
    table = (out / "results-sadtalker-random.md").read_text()
    assert "fp16: not measured (no CUDA device); SADTALKER_FP16 stays false." in table
    assert table == markdown(report)
    assert "| fp32 | 3 | 4 |" in capsys.readouterr().out


def test_the_benchs_face_box_is_the_engines_crop_of_the_demo_portrait(
    analyzer: FaceAnalyzer,
) -> None:
    image = astronaut()
    x0, y0, x1, y1 = glue.face_crop(analyzer.find_face(image).landmarks, 512, 512)
    assert (slice(y0, y1), slice(x0, x1)) == ASTRONAUT_FACE


def test_without_sadtalkers_code_the_bench_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SADTALKER_HOME", raising=False)
    with pytest.raises(SystemExit, match="SADTALKER_HOME is not set"):
        main(["bench", "--engine", "sadtalker", "--random-weights"])
    with pytest.raises(SystemExit, match="--engine sadtalker"):
        main(["bench", "--random-weights"])


def test_fp16_is_judged_on_nan_and_psnr() -> None:
    frames = np.random.default_rng(0).random((4, 3, 8, 8)).astype(np.float32)
    assert psnr(frames, frames) == math.inf
    noisy = frames + np.float32(0.01)  # an error of 1 % everywhere: 40 dB
    assert math.isclose(psnr(frames, noisy), 40.0, abs_tol=0.01)

    def report(*fp16: dict[str, object]) -> dict[str, object]:
        fp32 = {"precision": "fp32", "batch_size": 8, "nonfinite": 0}
        return {"cases": [fp32, *fp16]}

    good = {"precision": "fp16", "batch_size": 8, "nonfinite": 0, "psnr_vs_fp32_db": 41.0}
    assert verdict(report(good)).startswith("fp16: finite and >= 35 dB")
    blurred = good | {"psnr_vs_fp32_db": FP16_PSNR_DB - 0.1}
    nan = good | {"nonfinite": 3}
    oom = {"precision": "fp16", "batch_size": 64, "error": "out of GPU memory"}
    for bad in (blurred, nan, oom):
        assert verdict(report(good, bad)).startswith("fp16: NOT safe")
    assert "not measured" in verdict(report())
