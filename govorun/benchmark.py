"""Render benchmark: per-stage times, real-time factor and peak memory of the offline pipeline.

Run with ``make bench`` (or ``govorun bench [--engine sadtalker]``). Each case runs in a fresh
process so that peak RSS and cold start belong to that case alone; results go to
``bench/results.json`` and a Markdown table to ``bench/results.md`` (the warp animator's, which
the README quotes), or ``bench/results-<engine>.*`` for another animator.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from govorun.progress import ProgressBar

PASSAGE = (
    "Говорун — это бот, который превращает фотографию и текст в говорящий кружок. "
    "Вы присылаете снимок лица и пару фраз, а через несколько секунд получаете видео. "
    "Всё работает на обычном процессоре, без видеокарты и без доступа к интернету. "
    "Речь синтезирует движок eSpeak, а лицо оживляет наш собственный аниматор. "
    "Он находит на фото шестьдесят восемь точек лица и двигает губы, челюсть и веки. "
    "Внутри рта появляются тёмная полость и зубы, а голова слегка покачивается в такт речи. "
    "Фон и волосы остаются неподвижными и резкими, как на исходной фотографии. "
    "Каждый кадр проверяется тем же детектором лиц, которым пользуются наши тесты. "
    "Синхронность губ измеряется по громкости звука и раскрытию рта на каждом кадре. "
    "Если текст слишком длинный, он делится на серию кружков по границам предложений. "
    "Слова никогда не разрезаются посередине, а номера кружков идут по порядку. "
    "Кодирование видео идёт параллельно с анимацией, поэтому оба ядра заняты делом. "
    "Готовый файл появляется на диске только целиком, без недописанных кусков. "
    "Так мы бережём и время пользователя, и ресурсы оператора сервера. "
    "Спасибо, что дочитали до конца, и до новых встреч в Телеграме!"
)
TARGETS = (5.0, 15.0, 59.0)


def text_for(seconds: float) -> str:
    """The longest prefix of whole sentences that eSpeak speaks in at most ``seconds``."""
    from inference.text import normalize, split_sentences
    from inference.tts.espeak import EspeakEngine

    engine = EspeakEngine()
    chosen: list[str] = []
    for sentence in split_sentences(PASSAGE):
        candidate = " ".join([*chosen, sentence])
        if chosen and engine.synthesize(normalize(candidate)).duration > seconds:
            break
        chosen.append(sentence)
    return " ".join(chosen)


def run_case(seconds: float, engine: str = "warp") -> dict[str, object]:
    """One case, in this (fresh) process: cold start, a warm-up render, then the timed one."""
    from inference.demo import astronaut, png
    from inference.pipeline import Renderer
    from inference.settings import RenderSettings

    started = time.perf_counter()
    renderer = Renderer(RenderSettings(max_note_seconds=60.0, max_notes=1, animator=engine))
    cold_start = time.perf_counter() - started
    photo = png(astronaut())
    text = text_for(seconds)
    with tempfile.TemporaryDirectory() as folder:
        renderer.render(photo, Path(folder) / "warmup.mp4", text="Привет!")
        started = time.perf_counter()
        result = renderer.render(photo, Path(folder) / "note.mp4", text=text)
        wall = time.perf_counter() - started
        size = result.notes[0].path.stat().st_size
    return {
        "target_seconds": seconds,
        "speech_seconds": round(result.duration, 2),
        "wall_seconds": round(wall, 3),
        "rtf": round(wall / result.duration, 3),
        "stages": {stage: round(value, 3) for stage, value in result.timings.items()},
        "cold_start_seconds": round(cold_start, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "file_mb": round(size / 1e6, 2),
        "engines": result.engines,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=("auto", "warp", "sadtalker"), default="warp")
    parser.add_argument(
        "--output-dir", type=Path, default=Path("bench"), help="where results go (./bench)"
    )
    parser.add_argument("--case", type=float, help=argparse.SUPPRESS)  # child process mode
    args = parser.parse_args(argv)
    if args.case is not None:
        print(json.dumps(run_case(args.case, args.engine)))
        return
    results = []
    bar = ProgressBar("bench", total=len(TARGETS))
    for seconds in TARGETS:
        bar.update(status=f"{seconds:g} s of speech")
        child = subprocess.run(
            [
                sys.executable,
                "-m",
                "govorun.benchmark",
                "--case",
                str(seconds),
                "--engine",
                args.engine,
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:  # e.g. the engine cannot load here: show why, stop
            bar.close()
            sys.stderr.write(child.stderr[-3000:])
            raise SystemExit(child.returncode)
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
        bar.echo(json.dumps(results[-1]))
        bar.advance()
    bar.close()
    animator = results[0]["engines"]["animator"]
    report = {"machine": machine(), "size": 640, "fps": 25, "animator": animator, "cases": results}
    stem = "results" if animator == "warp" else f"results-{animator}"
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / f"{stem}.md").write_text(markdown(report))
    print(markdown(report))


def machine() -> str:
    """CPU, cores and Python; the GPU too where torch sees one (the SadTalker benchmark)."""
    described = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    try:
        import torch
    except ImportError:
        return described
    if torch.cuda.is_available():
        described += f", {torch.cuda.get_device_name(0)}"
    return described


def markdown(report: dict[str, object]) -> str:
    animator = report.get("animator", "warp")
    cases = report["cases"]
    assert isinstance(cases, list)
    stage_names = list(cases[0]["stages"])  # the pipeline's own order, kept by the JSON
    lines = [
        f"Machine: {report['machine']}; animator {animator}; 640×640 at 25 fps, warm process, "
        "astronaut portrait.",
        "",
        "| speech | wall | RTF | " + " | ".join(stage_names) + " | cold start | peak RSS | file |",
        "|---|---|---|" + "---|" * len(stage_names) + "---|---|---|",
    ]
    for case in cases:
        stages = case["stages"]
        lines.append(
            f"| {case['speech_seconds']} s | {case['wall_seconds']} s | {case['rtf']} | "
            + " | ".join(f"{stages[s]} s" for s in stage_names)
            + f" | {case['cold_start_seconds']} s | {case['peak_rss_mb']} MB"
            + f" | {case['file_mb']} MB |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
