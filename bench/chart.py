"""Chart of the render benchmark: render time and real-time factor against note length.

``python -m bench.chart`` reads ``bench/results.json`` (from ``govorun bench``) and writes
``bench/render.png``; ``--results`` and ``--output`` pick other files (``results-sadtalker.json``).
matplotlib is a development dependency (the ``dev`` extra), so it is imported here only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes

HERE = Path(__file__).resolve().parent
WIDTH_PX, HEIGHT_PX, DPI = 1200, 500, 100
# Stages worth a colour in the stacked bars; "normalize" is a millisecond and would not show.
STAGES = ("face", "tts", "animate", "encode")
COLOURS = {"face": "#8da0cb", "tts": "#66c2a5", "animate": "#fc8d62", "encode": "#e78ac3"}


class ChartError(ValueError):
    """The results file cannot be charted (missing, not JSON, or without cases)."""


def load_cases(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The report and its cases sorted by speech length; a clear error when there is nothing."""
    try:
        report = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ChartError(f"{path} not found: run `make bench` first") from None
    except json.JSONDecodeError as error:
        raise ChartError(f"{path} is not JSON: {error.msg} at line {error.lineno}") from None
    cases = report.get("cases") if isinstance(report, dict) else None
    if not cases:
        raise ChartError(f"{path} has no benchmark cases to chart: run `make bench` first")
    try:
        ordered = sorted(cases, key=lambda case: float(case["speech_seconds"]))
        for case in ordered:
            float(case["wall_seconds"]), float(case["rtf"])
    except (KeyError, TypeError, ValueError) as error:
        raise ChartError(f"{path}: a case lacks speech_seconds, wall_seconds or rtf") from error
    return report, ordered


def title(report: dict[str, Any]) -> str:
    size, fps = report.get("size"), report.get("fps")
    video = f", {size}×{size} at {fps} fps" if size and fps else ""
    heading = f"Govorun render benchmark: {report.get('animator', 'warp')} animator{video}"
    machine = report.get("machine")
    return f"{heading}\n{machine}" if machine else heading


def build_chart(results: Path, output: Path) -> Path:
    """Write the two-panel PNG for ``results`` to ``output``; returns ``output``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    report, cases = load_cases(results)
    speech = [float(case["speech_seconds"]) for case in cases]
    wall = [float(case["wall_seconds"]) for case in cases]
    rtf = [float(case["rtf"]) for case in cases]

    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)  # render with Agg whatever backend the environment names
    time_axes, rtf_axes = figure.subplots(1, 2)

    # Bars as wide as a fraction of the span, so that 5 s and 60 s notes both read.
    width = max(max(speech) * 0.06, 0.3)
    bottom = [0.0] * len(cases)
    for stage in STAGES:
        values = [float(case.get("stages", {}).get(stage, 0.0)) for case in cases]
        if any(values):
            time_axes.bar(speech, values, width, bottom=bottom, label=stage, color=COLOURS[stage])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    time_axes.plot(speech, wall, "o-", color="#333333", label="wall (total)")
    _label_points(time_axes, speech, wall, "{:.2f} s")
    time_axes.set_xlabel("note length (speech, s)")
    time_axes.set_ylabel("render time (s)")
    time_axes.set_title("Render time by stage")
    time_axes.set_ylim(0, max(wall) * 1.2 or 1.0)
    time_axes.legend(loc="upper left", fontsize=9)
    time_axes.grid(axis="y", alpha=0.3)

    rtf_axes.plot(speech, rtf, "o-", color="#1b9e77")
    _label_points(rtf_axes, speech, rtf, "{:.3f}")
    rtf_axes.set_xlabel("note length (speech, s)")
    rtf_axes.set_ylabel("real-time factor (render time / speech time)")
    rtf_axes.set_title("Real-time factor (below 1: faster than real time)")
    rtf_axes.set_ylim(0, max(rtf) * 1.3 or 1.0)
    rtf_axes.grid(alpha=0.3)
    for axes in (time_axes, rtf_axes):
        axes.set_xlim(0, max(speech) * 1.1 or 1.0)

    figure.suptitle(title(report))
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, format="png")
    return output


def _label_points(axes: Axes, xs: list[float], ys: list[float], template: str) -> None:
    """Each point's value just above it, on white so that the line does not cross the digits."""
    for x, y in zip(xs, ys, strict=True):
        axes.annotate(
            template.format(y),
            (x, y),
            textcoords="offset points",
            xytext=(0, 10),
            ha="center",
            fontsize=9,
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--output", type=Path, default=HERE / "render.png")
    args = parser.parse_args(argv)
    try:
        print(build_chart(args.results, args.output))
    except ChartError as error:
        parser.exit(2, f"bench.chart: {error}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
