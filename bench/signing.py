"""What C2PA signing adds to a note: seconds of render time and bytes of file size.

Renders the render benchmark's 5, 15 and 59 s notes with the embedded engines, timing the
signing step inside each render (the file is hashed whole, so it grows with the note). Writes
``bench/signing.json`` and ``bench/signing.md``. Run: ``python -m bench.signing``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from bench.report import write_report
from govorun.benchmark import TARGETS, machine, text_for
from inference import __version__
from inference.demo import astronaut, png
from inference.pipeline import Renderer
from inference.provenance import NoteSigner, issue_identity

HERE = Path(__file__).resolve().parent
RUNS = 3


class TimedSigner(NoteSigner):
    """Signs as usual, and keeps how long each signature took and how many bytes it added."""

    def __init__(self) -> None:
        super().__init__(issue_identity(), __version__)
        self.seconds: list[float] = []
        self.added: list[int] = []

    def sign(self, path: Path, *, job_id: str, engines: dict[str, str]) -> None:
        before = path.stat().st_size
        started = time.perf_counter()
        super().sign(path, job_id=job_id, engines=engines)
        self.seconds.append(time.perf_counter() - started)
        self.added.append(path.stat().st_size - before)


def run() -> dict[str, object]:
    signer = TimedSigner()
    renderer = Renderer(signer=signer)
    photo = png(astronaut())
    cases = []
    with tempfile.TemporaryDirectory() as folder:
        for target in TARGETS:
            text = text_for(target)
            walls, sizes, signing, added = [], [], [], []
            for run_index in range(RUNS):
                out = Path(folder) / f"note-{target:.0f}-{run_index}.mp4"
                first = len(signer.seconds)
                started = time.perf_counter()
                result = renderer.render(photo, out, text=text)
                walls.append(time.perf_counter() - started)
                # A long text may become a series: its notes are summed.
                sizes.append(sum(note.path.stat().st_size for note in result.notes))
                signing.append(sum(signer.seconds[first:]))
                added.append(sum(signer.added[first:]))
            cases.append(
                {
                    "seconds_of_video": round(result.duration, 1),
                    "notes": len(result.notes),
                    "render_s": round(statistics.median(walls), 3),
                    "sign_s": round(statistics.median(signing), 4),
                    "sign_share": round(statistics.median(signing) / statistics.median(walls), 4),
                    "file_bytes": statistics.median(sizes),
                    "added_bytes": statistics.median(added),
                }
            )
    return {"machine": machine(), "runs": RUNS, "cases": cases}


def markdown(report: dict[str, object]) -> str:
    lines = [
        "# C2PA signing: what it adds to a note",
        "",
        f"Machine: {report['machine']}. Embedded engines (eSpeak NG, warp); median of "
        f"{report['runs']} renders per note. Produced by `python -m bench.signing`.",
        "",
        "| video | notes | render | signing | share of render | file | added by the manifests |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in report["cases"]:  # type: ignore[attr-defined]
        lines.append(
            f"| {case['seconds_of_video']} s | {case['notes']} | {case['render_s']:.2f} s "
            f"| {case['sign_s'] * 1000:.0f} ms | {case['sign_share']:.1%} "
            f"| {case['file_bytes'] / 1024:.0f} KiB | {case['added_bytes'] / 1024:.1f} KiB |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    report = run()
    write_report(HERE, "signing", report, markdown(report))


if __name__ == "__main__":
    main()
