"""Where every benchmark's results go: ``<stem>.json`` for machines, ``<stem>.md`` for the
README (also printed)."""

from __future__ import annotations

import json
from pathlib import Path


def write_report(folder: Path, stem: str, report: dict[str, object], markdown: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    (folder / f"{stem}.md").write_text(markdown)
    print(markdown)
