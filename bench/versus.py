"""Render time of this tree against another checkout of Govorun, taken in turns.

``python -m bench.versus --other ../govorun-old`` renders the bench passage (the astronaut,
``warp``) in this tree and in the other one alternately, each case in a fresh process with a
warm-up render first, and writes ``bench/versus.md`` and ``bench/versus.json``: the wall time
and CPU time of each render and the ratio of each pair. Taking turns matters on a shared
machine, whose speed drifts by tens of percent within an hour: a pair ran under the same load.
The other checkout runs on this tree's Python environment.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.report import write_report
from govorun.benchmark import machine, text_for

# Run in the checkout under test: its own pipeline, the passage of this tree's benchmark.
# Written out rather than calling govorun.benchmark.run_case, which older checkouts keep
# elsewhere (bench/render.py) or lack.
_CASE = """
import json, sys, tempfile, time
from pathlib import Path
from inference.demo import astronaut, png
from inference.pipeline import Renderer
from inference.settings import RenderSettings
renderer = Renderer(RenderSettings(max_note_seconds=60.0, max_notes=1, animator="warp"))
with tempfile.TemporaryDirectory() as folder:
    renderer.render(png(astronaut()), Path(folder) / "warmup.mp4", text="Привет!")
    started, cpu = time.perf_counter(), time.process_time()
    renderer.render(png(astronaut()), Path(folder) / "note.mp4", text=sys.argv[1])
    print(json.dumps({"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu}))
"""


def render_once(tree: Path, text: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CASE, text],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    times: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--other", type=Path, required=True, help="the other checkout")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, nargs="+", default=[13.92])
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent)
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parents[1]
    commit = subprocess.run(
        ["git", "-C", str(args.other), "log", "-1", "--format=%h"], capture_output=True, text=True
    ).stdout.strip()
    label = f"`{args.other.name}` (commit {commit or 'unknown'})"
    cases = []
    for seconds in args.seconds:
        text = text_for(seconds)
        pairs = []
        for _ in range(args.rounds):
            other = render_once(args.other.resolve(), text)
            this = render_once(here, text)
            pairs.append({"other": other, "this": this, "ratio": this["wall"] / other["wall"]})
        cases.append({"seconds": seconds, "pairs": pairs})

    rows = []
    for case in cases:
        pairs = case["pairs"]
        walls = {side: [pair[side]["wall"] for pair in pairs] for side in ("other", "this")}
        cpus = {side: [pair[side]["cpu"] for pair in pairs] for side in ("other", "this")}
        ratios = sorted(pair["ratio"] for pair in pairs)
        rows.append(
            f"| {case['seconds']} s | {len(pairs)} "
            f"| {statistics.median(walls['other']):.2f} s ({min(walls['other']):.2f}) "
            f"| {statistics.median(walls['this']):.2f} s ({min(walls['this']):.2f}) "
            f"| {statistics.median(cpus['other']):.2f} s "
            f"| {statistics.median(cpus['this']):.2f} s "
            f"| {statistics.median(ratios):.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f}) |"
        )
    lines = [
        "# This tree against another, in turns",
        "",
        f"Machine: {machine()}; other tree: {label}; astronaut, warp, 640×640.",
        "",
        "| speech | pairs | other: wall median (min) | this: wall median (min) "
        "| other: CPU | this: CPU | this / other, median (range) |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]
    report: dict[str, object] = {"machine": machine(), "other": label, "cases": cases}
    write_report(args.output_dir, "versus", report, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
