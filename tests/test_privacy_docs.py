"""The README's privacy table says exactly what is kept and for how long: one row for every
key that names a user, carries their hash or belongs to one of their jobs, with the lifetime
``core/keys.py`` declares (issue #17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import keys

ROOT = Path(__file__).resolve().parent.parent
TABLES = {"README.md": "### What is kept", "README.ru.md": "### Что хранится"}
ABOUT_USERS = [key for key in keys.REGISTRY if key.names != "none"]


def _table(doc: str) -> list[str]:
    text = (ROOT / doc).read_text(encoding="utf-8")
    section = text[text.index(TABLES[doc]) :]
    rows = section[: section.index("\n\n", section.index("|"))].splitlines()
    return [row.replace("`", "") for row in rows if row.startswith("| ")]


@pytest.mark.parametrize("doc", TABLES)
def test_every_key_about_a_user_has_a_row(doc: str) -> None:
    rows = _table(doc)
    missing = [key.shape for key in ABOUT_USERS if not any(_shows(row, key) for row in rows)]
    assert not missing, f"{doc} does not say how long these live: {missing}"
    assert len(rows) >= 10


def test_the_english_rows_give_the_declared_lifetime_and_whether_delete_takes_it() -> None:
    for key in ABOUT_USERS:
        row = next(row for row in _table("README.md") if _shows(row, key))
        _, _, _, kept, on_delete, _ = row.split("|")
        assert kept.strip() == key.ttl, key.shape
        erased = key.erase or key.carries_user
        assert on_delete.strip().startswith("deleted") == erased, key.shape


def _shows(row: str, key: keys.Key) -> bool:
    """The row's key column names this key (``a`` is not found inside ``a:b``)."""
    listed = row.split("|")[2]
    return key.shape in [part.strip() for part in listed.split(",")]
