"""Text stage benchmark: how much of the corpus is read right, how fast, and what it costs in RSS.

Run with ``python -m bench.text``; results go to ``bench/text.json`` and ``bench/text.md`` (the
README quotes them). Memory is measured in fresh processes, so each number belongs to that case:
the text stage alone (what the morphology dictionary adds), and the bot's process with its text
check (``core.contract.check_text``) before and after its first text.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.report import write_report
from bench.text_corpus import CORPUS, KNOWN_FAILURES, read_right
from govorun.benchmark import PASSAGE, machine

HERE = Path(__file__).resolve().parent
# A note's worth of text with the things the text stage reads: ~60 s of speech.
NOTE = (
    "Встреча 1 марта в 14:30, около 300 человек, билет 1500 руб. "
    "Скидка 15% на iPhone до 31.12.2026 — см. https://example.com. " + PASSAGE[:560]
)
# Telegram's longest message: the most the bot's check is ever asked to read.
LONGEST_MESSAGE = 4096

_RSS_PROBE = """
import json, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
which = sys.argv[1]
if which == "text":
    base = rss()
    from inference.text import normalize
    imported = rss()
    normalize("Встреча 1 марта в 14:30, 21 кошка, iPhone.")
    print(json.dumps({"base": base, "imported": imported, "after_first_text": rss()}))
else:
    import bot.main, bot.conversation
    from core.contract import check_text
    base = rss()
    check_text("Встреча 1 марта в 14:30, 21 кошка, iPhone.")
    print(json.dumps({"base": base, "after_first_text": rss()}))
"""


def corpus_report() -> dict[str, object]:
    from inference.text import normalize

    groups = {}
    wrong = []
    for group, cases in CORPUS.items():
        right = 0
        for case in cases:
            spoken = normalize(case.written)
            if read_right(spoken, case):
                right += 1
            else:
                wrong.append({"group": group, "written": case.written, "spoken": spoken})
        groups[group] = {"right": right, "total": len(cases)}
    right = sum(int(g["right"]) for g in groups.values())
    total = sum(int(g["total"]) for g in groups.values())
    return {
        "right": right,
        "total": total,
        "share": round(right / total, 4),
        "groups": groups,
        "wrong": wrong,
        "known_failures": sorted(KNOWN_FAILURES),
    }


def _times_ms(function: Callable[[str], object], argument: str, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(argument)
        times.append((time.perf_counter() - started) * 1000)
    return times


def speed_report() -> dict[str, object]:
    from core.contract import check_text
    from inference.settings import RenderSettings
    from inference.text import estimate_duration, normalize, plan_notes
    from inference.tts.espeak import EspeakEngine

    sentences = [case.written for cases in CORPUS.values() for case in cases]
    normalize("Прогрев.")  # the dictionary loads on first use; a worker has it loaded
    per_sentence = []
    for sentence in sentences:
        per_sentence.extend(_times_ms(normalize, sentence, 3))
    note = plan_notes(NOTE, max_seconds=60, max_notes=3)
    planned = _times_ms(lambda text: plan_notes(text, max_seconds=60, max_notes=3), NOTE, 20)
    spoken = EspeakEngine().synthesize(" ".join(note)).duration
    longest = (PASSAGE * 10)[:LONGEST_MESSAGE]
    limits = RenderSettings()
    checked = _times_ms(
        lambda text: _refused_or_checked(lambda t: check_text(t, limits), text), longest, 5
    )
    return {
        "sentences": len(sentences),
        "per_sentence_ms_median": round(statistics.median(per_sentence), 2),
        "note_chars": len(NOTE),
        "note_estimated_seconds": round(sum(estimate_duration(c) for c in note), 1),
        "note_spoken_seconds": round(spoken, 1),
        "per_note_ms_median": round(statistics.median(planned), 1),
        "bot_check_4096_chars_ms_median": round(statistics.median(checked), 1),
    }


def _refused_or_checked(check: Callable[[str], object], text: str) -> None:
    from inference.errors import RenderError

    # A 4096-character text is over the limit: the refusal is the work measured.
    with contextlib.suppress(RenderError):
        check(text)


def rss_report() -> dict[str, object]:
    def probe(which: str) -> dict[str, float]:
        child = subprocess.run(
            [sys.executable, "-c", _RSS_PROBE, which],
            check=True,
            capture_output=True,
            text=True,
            cwd=HERE.parent,
        )
        return {k: round(v, 1) for k, v in json.loads(child.stdout).items()}

    text, bot = probe("text"), probe("bot")
    return {
        "text_stage_mb": round(text["after_first_text"] - text["base"], 1),
        "first_text_mb": round(text["after_first_text"] - text["imported"], 1),
        "bot_before_text_mb": bot["base"],
        "bot_after_first_text_mb": bot["after_first_text"],
        "bot_added_mb": round(bot["after_first_text"] - bot["base"], 1),
    }


def markdown(report: dict[str, object]) -> str:
    corpus, speed, rss = report["corpus"], report["speed"], report["rss"]
    assert isinstance(corpus, dict) and isinstance(speed, dict) and isinstance(rss, dict)
    lines = [
        f"Machine: {report['machine']}.",
        "",
        f"**Corpus** (`bench/text_corpus.py`): {corpus['right']} of {corpus['total']} sentences"
        f" read right ({float(corpus['share']):.1%}).",
        "",
        "| group | right |",
        "|---|---|",
        *(f"| {name} | {g['right']} / {g['total']} |" for name, g in corpus["groups"].items()),
        "",
        "Read wrong:",
        "",
        *(f"- {w['written']} → {w['spoken']}" for w in corpus["wrong"]),
        "",
        f"**Speed** (warm process): {speed['per_sentence_ms_median']} ms a corpus sentence"
        f" (median); {speed['per_note_ms_median']} ms to normalize and plan a note of"
        f" {speed['note_chars']} characters ({speed['note_spoken_seconds']} s of eSpeak"
        f" speech); the bot's check of a {LONGEST_MESSAGE}-character message:"
        f" {speed['bot_check_4096_chars_ms_median']} ms.",
        "",
        f"**Memory** (VmRSS, fresh processes): the text stage adds {rss['text_stage_mb']} MB,"
        f" {rss['first_text_mb']} MB of it on the first text (the library and its morphology"
        f" dictionary). The bot: {rss['bot_before_text_mb']} MB with its imports,"
        f" {rss['bot_after_first_text_mb']} MB after its first text check"
        f" (+{rss['bot_added_mb']} MB).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output-dir", type=Path, default=HERE)
    args = parser.parse_args(argv)
    report: dict[str, object] = {
        "machine": machine(),
        "corpus": corpus_report(),
        "speed": speed_report(),
        "rss": rss_report(),
    }
    write_report(args.output_dir, "text", report, markdown(report))


if __name__ == "__main__":
    main()
