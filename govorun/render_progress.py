"""``govorun render``'s progress: the pipeline's stages on a :class:`ProgressBar`, notes counted.

The pipeline reports stages (``speech``, ``animation``, then ``encoding`` as each note's last
frame is made); a text long enough for a series shows a bar over its notes.
"""

from __future__ import annotations

import time
from typing import TextIO

from govorun.progress import Clock, ClosedOnExit, ProgressBar
from inference.pipeline import Progress


class RenderProgress(Progress, ClosedOnExit):
    """Stage callbacks drawn on stderr; the pipeline says how many notes it planned (may grow)."""

    def __init__(
        self,
        notes: int | None = None,
        *,
        stream: TextIO | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__()
        self.series = False
        self.encoded = 0
        self.bar = ProgressBar("render", stream=stream, describe=self._describe, clock=clock)
        if notes is not None:
            self.planned(notes)

    def planned(self, notes: int) -> None:
        self.series = notes > 1
        self.bar.total = notes if self.series else None

    def stage(self, name: str) -> None:
        if name == "encoding":
            self.encoded += 1
            total = self.bar.total
            if total is not None and self.encoded > total:
                self.bar.total = self.encoded  # a note re-split after synthesis
            following = self.encoded + 1
            status = f"note {following}" if total and following <= total else "encoding"
            self.bar.update(self.encoded, status=status)
        elif name == "animation":
            self.bar.update(status="note 1" if self.series else "animation")
        else:
            self.bar.update(status=name)

    def finish(self, notes: int) -> None:
        """The render returned ``notes`` notes: draw the end state."""
        self.bar.update(notes, total=notes if self.series else None, status="done")

    def close(self) -> None:
        self.bar.close()

    def _describe(self, done: float, total: float | None) -> str:
        if not self.series or not total:
            return ""
        return f"{done:g}/{total:g} notes ({100 * done // total:.0f}%)"
