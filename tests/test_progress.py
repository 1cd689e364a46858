"""Progress bars: plain throttled lines off a terminal, a redrawn bar on one, unknown totals."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from govorun.cli import main
from govorun.progress import ProgressBar, count, elapsed
from govorun.render_progress import RenderProgress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_off_a_terminal_lines_come_one_per_interval_and_a_last_one_at_the_end() -> None:
    log, clock = io.StringIO(), Clock()
    with ProgressBar("job", total=100, stream=log, line_interval=10, clock=clock) as bar:
        for done in range(1, 36):
            clock.now += 1
            bar.update(done)
    lines = log.getvalue().splitlines(keepends=True)
    assert "\r" not in log.getvalue() and "\033" not in log.getvalue()
    assert all(line.endswith("\n") for line in lines)
    assert [line.rstrip("\n") for line in lines] == [
        "job: 10/100 (10%) · 10 s",
        "job: 20/100 (20%) · 20 s",
        "job: 30/100 (30%) · 30 s",
        "job: 35/100 (35%) · 35 s",  # held back by the throttle, written by close
    ]


def test_off_a_terminal_quick_work_writes_nothing() -> None:
    log, clock = io.StringIO(), Clock()
    with ProgressBar("job", total=3, stream=log, line_interval=10, clock=clock) as bar:
        for _ in range(3):
            clock.now += 0.5
            bar.advance(status="working")
    assert log.getvalue() == ""


def test_silent_off_a_terminal_when_asked() -> None:
    log, clock = io.StringIO(), Clock()
    with ProgressBar("job", total=5, stream=log, line_interval=None, clock=clock) as bar:
        for done in range(6):
            clock.now += 60
            bar.update(done)
    assert log.getvalue() == ""


def test_on_a_terminal_a_bar_is_redrawn_in_place_and_throttled() -> None:
    terminal, clock = Terminal(), Clock()
    with ProgressBar("job", total=4, stream=terminal, interval=0.2, width=8, clock=clock) as bar:
        bar.advance()  # the first draw is immediate
        clock.now += 0.1
        bar.advance()  # too soon: held back
        clock.now += 0.1
        bar.advance()  # an interval since the last draw
        bar.advance()  # the end is always drawn
    drawn = terminal.getvalue()
    assert drawn.endswith("\n") and drawn.count("\n") == 1
    frames = [frame.removesuffix("\033[K") for frame in drawn.rstrip("\n").split("\r")[1:]]
    assert frames == [
        "job: [##------] 1/4 (25%) · 0 s",
        "job: [######--] 3/4 (75%) · 0 s",
        "job: [########] 4/4 (100%) · 0 s",
    ]


def test_on_a_terminal_a_new_status_is_drawn_at_once() -> None:
    terminal, clock = Terminal(), Clock()
    bar = ProgressBar("job", stream=terminal, interval=5, clock=clock)
    bar.update(status="speech")
    bar.update(status="speech")  # same status, within the interval: nothing new
    bar.update(status="animation")
    bar.close()
    assert terminal.getvalue().count("\r") == 2
    assert terminal.getvalue().endswith("\rjob: 0 · animation · 0 s\033[K\n")


def test_unknown_total_shows_counts_without_a_bar_until_the_total_is_known() -> None:
    terminal, clock = Terminal(), Clock()
    bar = ProgressBar("files", stream=terminal, interval=0, width=4, clock=clock)
    bar.update(3)
    assert terminal.getvalue().endswith("\rfiles: 3 · 0 s\033[K")
    clock.now += 75
    bar.update(3, total=6)
    assert terminal.getvalue().endswith("\rfiles: [##--] 3/6 (50%) · 1:15\033[K")
    assert count(2.5, None) == "2.5" and count(1, 3) == "1/3 (33%)"
    assert elapsed(59.4) == "59 s" and elapsed(3600) == "60:00"


def test_echo_prints_above_the_bar_and_redraws_it(capsys: pytest.CaptureFixture[str]) -> None:
    terminal, clock = Terminal(), Clock()
    with ProgressBar("bench", total=2, stream=terminal, clock=clock) as bar:
        bar.echo("not drawn yet: nothing to clear")
        bar.advance()
        bar.echo('{"case": 1}')
    assert capsys.readouterr().out == 'not drawn yet: nothing to clear\n{"case": 1}\n'
    redraws = terminal.getvalue().split("\r")[1:]
    assert redraws[1] == "\033[K"  # cleared before the echo
    assert redraws[2].startswith("bench: [") and terminal.getvalue().endswith("\n")


def test_render_progress_counts_the_notes_of_a_series() -> None:
    terminal, clock = Terminal(), Clock()
    with RenderProgress(2, stream=terminal, clock=clock) as progress:
        for stage in ("speech", "animation", "encoding", "encoding", "encoding"):
            clock.now += 1
            progress.stage(stage)  # three notes where two were planned: the plan grew
        progress.finish(3)
    frames = [f.removesuffix("\033[K") for f in terminal.getvalue().rstrip("\n").split("\r")[1:]]
    assert [re.sub(r"\[[#-]+\] ", "", frame) for frame in frames] == [
        "render: 0/2 notes (0%) · speech · 1 s",
        "render: 0/2 notes (0%) · note 1 · 2 s",
        "render: 1/2 notes (50%) · note 2 · 3 s",
        "render: 2/2 notes (100%) · encoding · 4 s",
        "render: 3/3 notes (100%) · encoding · 5 s",
        "render: 3/3 notes (100%) · done · 5 s",
    ]


@pytest.mark.slow
def test_govorun_render_draws_its_progress_on_a_terminal(
    astronaut_png: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RENDER_MAX_NOTE_SECONDS", "3")  # a short text becomes a series
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    photo = tmp_path / "me.png"
    photo.write_bytes(astronaut_png)
    text = "Привет! Меня зовут Говорун. Я говорю по-русски. Пришлите мне фото."
    args = ["render", "--photo", str(photo), "--text", text, "-o", str(tmp_path / "n.mp4")]
    assert main([*args, "--size", "240"]) == 0
    drawn = terminal.getvalue()
    assert "\rrender: [" in drawn and "· speech ·" in drawn
    assert re.search(r"\rrender: \[#+\] 2/2 notes \(100%\) · done · \d+ s\033\[K\n$", drawn)
    assert "n-2of2.mp4" in capsys.readouterr().out
