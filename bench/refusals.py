"""How long the pipeline takes to refuse the heaviest bad inputs.

The tests prove these refusals come early (from an image's or a recording's header, from the
text's length estimate before any speech); this measures what early costs, through a warm
:class:`~inference.pipeline.Renderer` as a worker holds it. Writes ``bench/refusals.json`` and
``bench/refusals.md``. Run: ``python -m bench.refusals``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.report import write_report
from govorun.benchmark import machine
from inference.demo import astronaut, png
from inference.errors import RenderError
from inference.pipeline import Renderer
from testkit.bad_input import (
    five_minute_voice,
    five_minutes_hollowed,
    ten_thousand_characters,
    twenty_megabytes,
)
from testkit.face_assets import png_bomb, png_header_only

HERE = Path(__file__).resolve().parent
RUNS = 5
TEXT = "Привет! Это проверка."

# name -> (photo, text, audio), each built once
Inputs = tuple[bytes | None, str | None, bytes | None]
CASES: dict[str, Callable[[], Inputs]] = {
    "PNG bomb 30000×30000": lambda: (png_bomb(30000, 30000), TEXT, None),
    "PNG bomb 7000×7000": lambda: (png_bomb(7000, 7000), TEXT, None),
    "PNG bomb, header only": lambda: (png_header_only(7000, 7000), TEXT, None),
    "20 MB random document": lambda: (twenty_megabytes(), TEXT, None),
    "10 000-character text": lambda: (None, ten_thousand_characters(), None),
    "5-minute voice message": lambda: (None, None, five_minute_voice()),
    "5 minutes, the middle missing": lambda: (None, None, five_minutes_hollowed()),
}


def run() -> dict[str, object]:
    load = os.getloadavg()[0]  # other work on the machine slows everything down
    renderer = Renderer()
    portrait = png(astronaut())
    cases = []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "note.mp4"
        for name, build in CASES.items():
            photo, text, audio = build()
            seconds, code = [], ""
            for _ in range(RUNS):
                started = time.perf_counter()
                try:
                    renderer.render(photo or portrait, out, text=text, audio=audio)
                except RenderError as error:
                    code = error.code.value
                else:
                    raise AssertionError(f"{name}: rendered, a refusal was expected")
                seconds.append(time.perf_counter() - started)
            cases.append(
                {
                    "input": name,
                    "refusal": code,
                    "median_s": round(statistics.median(seconds), 5),
                    "max_s": round(max(seconds), 5),
                }
            )
    return {"machine": machine(), "load": round(load, 1), "runs": RUNS, "cases": cases}


def markdown(report: dict[str, object]) -> str:
    lines = [
        "# Refusals: how long the heaviest bad inputs take to refuse",
        "",
        f"Machine: {report['machine']}, load average {report['load']} at the start. Warm "
        f"renderer, default settings; median and slowest of {report['runs']} runs each (the "
        "first run of a case warms caches). Produced by `python -m bench.refusals`.",
        "",
        "| input | refusal | median | slowest |",
        "| --- | --- | ---: | ---: |",
    ]
    for case in report["cases"]:  # type: ignore[attr-defined]
        lines.append(
            f"| {case['input']} | `{case['refusal']}` | {case['median_s'] * 1000:.1f} ms "
            f"| {case['max_s'] * 1000:.1f} ms |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    report = run()
    write_report(HERE, "refusals", report, markdown(report))


if __name__ == "__main__":
    main()
