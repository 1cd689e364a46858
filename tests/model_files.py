"""Model files the tests put in a ``ModelStore`` as if ``govorun models download`` had."""

from __future__ import annotations

from datetime import UTC, datetime

from inference.models import ModelStore
from inference.models.store import LockEntry, sha256_file


def record_in_lock(store: ModelStore, name: str) -> None:
    """Record the file already at ``store.path(name)`` in the lock, as a download does."""
    path = store.path(name)
    entry = LockEntry(
        sha256=sha256_file(path),
        size=path.stat().st_size,
        url=store.entry(name).url,
        downloaded_at=datetime.now(UTC),
    )
    store.record(name, entry)
