"""Progress of long command-line work: a redrawn bar on a terminal, plain lines elsewhere.

On a terminal the line is redrawn in place (``\\r``) at most every ``interval`` seconds. Where
the stream is a file or a pipe (a log, ``docker build``), redraws would leave one line per update,
so quick work says nothing there and long work writes a plain line every ``line_interval``
seconds, and a last one when it ends.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Self, TextIO

Describe = Callable[[float, float | None], str]
Clock = Callable[[], float]
_CLEAR_TO_END = "\033[K"


def count(done: float, total: float | None) -> str:
    """``3/10 (30%)``, or ``3`` while the total is unknown."""
    if not total:
        return f"{done:g}"
    return f"{done:g}/{total:g} ({100 * done // total:.0f}%)"


def elapsed(seconds: float) -> str:
    """``7 s`` or ``2:05``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


class ClosedOnExit:
    """``with`` closes it: ``close`` runs however the block ends."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ProgressBar(ClosedOnExit):
    """A throttled progress display for one task; use it as a context manager or ``close`` it.

    ``line_interval=None`` keeps it silent off a terminal. ``width=0`` draws no bar, only the
    ``describe``d counts, and ``show_elapsed=False`` leaves the running time out.
    """

    def __init__(
        self,
        label: str,
        total: float | None = None,
        *,
        stream: TextIO | None = None,
        interval: float = 0.2,
        line_interval: float | None = 10.0,
        width: int = 24,
        describe: Describe = count,
        show_elapsed: bool = True,
        clock: Clock = time.monotonic,
    ) -> None:
        self.label = label
        self.total = total
        self.done: float = 0
        self.status = ""
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.line_interval = line_interval
        self.width = width
        self.describe = describe
        self.show_elapsed = show_elapsed
        self.clock = clock
        self.live = self.stream.isatty()
        self._started = self._last = clock()
        self._drawn = False  # anything written yet
        self._pending = False  # an update not written yet

    def update(
        self, done: float | None = None, total: float | None = None, status: str | None = None
    ) -> None:
        """Set what is done (and the total, and a short status); redraw when it is due."""
        changed_status = status is not None and status != self.status
        if done is not None:
            self.done = done
        if total is not None:
            self.total = total
        if status is not None:
            self.status = status
        self._pending = True
        finished = self.total is not None and self.done >= self.total
        self._draw_if_due(forced=changed_status or finished)

    def advance(self, step: float = 1, status: str | None = None) -> None:
        self.update(self.done + step, status=status)

    def echo(self, text: str, file: TextIO | None = None) -> None:
        """Print ``text`` (to stdout by default) on a line of its own, above a terminal's bar."""
        cleared = self.live and self._drawn
        if cleared:
            self.stream.write("\r" + _CLEAR_TO_END)
            self.stream.flush()
        out = file if file is not None else sys.stdout
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()
        if cleared:
            self._write()

    def close(self) -> None:
        """Write the last state if it was held back, and end a terminal's line."""
        if self._pending and self._drawn:
            self._write()
        if self.live and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
        self._drawn = False

    def line(self) -> str:
        """The current state as text, without control characters."""
        parts = [f"{self.label}:"]
        if self.live and self.width and self.total:
            filled = round(self.width * min(self.done / self.total, 1.0))
            parts.append("[" + "#" * filled + "-" * (self.width - filled) + "]")
        counts = self.describe(self.done, self.total)
        parts.append(" · ".join(p for p in (counts, self.status) if p))
        if self.show_elapsed:
            parts.append(f"· {elapsed(self.clock() - self._started)}")
        return " ".join(p for p in parts if p)

    def _draw_if_due(self, *, forced: bool) -> None:
        since = self.clock() - self._last
        if self.live:
            due = forced or not self._drawn or since >= self.interval
        else:
            # Off a terminal the first line waits a whole interval: quick work stays quiet.
            due = self.line_interval is not None and since >= self.line_interval
        if due:
            self._write()

    def _write(self) -> None:
        if self.live:
            self.stream.write(f"\r{self.line()}{_CLEAR_TO_END}")
        elif self.line_interval is not None:
            self.stream.write(self.line() + "\n")
        else:
            return
        self.stream.flush()
        self._last = self.clock()
        self._drawn = True
        self._pending = False
