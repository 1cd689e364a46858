"""The benchmark chart: a real PNG from a small results file, and a clear error without cases."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.chart import HEIGHT_PX, WIDTH_PX, ChartError, build_chart, main

pytest.importorskip("matplotlib")  # the dev extra: the chart is a development tool


def _case(speech: float, wall: float) -> dict[str, object]:
    stages = {"normalize": 0.0, "face": 0.2, "tts": 0.01, "animate": wall - 0.3, "encode": 0.09}
    return {
        "target_seconds": speech,
        "speech_seconds": speech,
        "wall_seconds": wall,
        "rtf": round(wall / speech, 3),
        "stages": stages,
    }


def _results(tmp_path: Path, cases: list[dict[str, object]]) -> Path:
    report = {"machine": "test-machine, 2 cores", "size": 640, "fps": 25, "cases": cases}
    path = tmp_path / "results.json"
    path.write_text(json.dumps(report))
    return path


def test_chart_is_a_png_of_the_expected_size_with_content(tmp_path: Path) -> None:
    results = _results(tmp_path, [_case(14.0, 1.7), _case(5.0, 0.8), _case(55.0, 6.3)])

    output = build_chart(results, tmp_path / "out" / "render.png")

    with Image.open(output) as image:
        assert image.format == "PNG"
        assert image.size == (WIDTH_PX, HEIGHT_PX)
        pixels = np.asarray(image.convert("L"), dtype=np.float64)
    assert pixels.std() > 10  # axes, bars and text, not a blank canvas
    assert (pixels < 128).mean() > 0.01  # dark ink: lines and labels were drawn


def test_results_without_cases_give_a_clear_error(tmp_path: Path) -> None:
    results = _results(tmp_path, [])

    with pytest.raises(ChartError, match="no benchmark cases"):
        build_chart(results, tmp_path / "render.png")
    assert not (tmp_path / "render.png").exists()


def test_command_line_exits_2_with_the_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--results", str(tmp_path / "missing.json"), "--output", str(tmp_path / "x.png")])

    assert exited.value.code == 2
    assert "missing.json not found" in capsys.readouterr().err
