"""The packages lean one way: inference ← core ← bot, worker ← govorun (the CLI); bench and
testkit sit on top and nothing imports them from below. Function-level imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "inference": {
        "core",
        "bot",
        "worker",
        "govorun",
        "bench",
        "testkit",
        "tests",
        "aiogram",
        "arq",
        "redis",
    },
    "core": {"bot", "worker", "govorun", "bench", "testkit", "tests"},
    "bot": {"worker", "govorun", "bench", "testkit", "tests"},
    "worker": {"bot", "govorun", "bench", "testkit", "tests"},
    "govorun": {"bench", "testkit", "tests"},
    "bench": {"tests"},
    "testkit": {"tests"},
}


def imported(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_down_only(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    crossing = {
        str(path.relative_to(ROOT)): sorted(imported(path) & FORBIDDEN[package]) for path in files
    }
    assert {name: bad for name, bad in crossing.items() if bad} == {}


def test_the_check_finds_a_crossing(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from worker.jobs import render_note\n")
    assert "worker" in imported(module)
