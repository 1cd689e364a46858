"""Model files for the neural engines: manifest, verified downloads, and the local store.

Engines ask the store for a file with ``ModelStore.from_settings().require(NAME)``; that never
downloads and, when the file is absent, raises ``ModelMissing`` naming the command that fetches
it. The ``govorun models`` command line is ``govorun.models_cli``.
"""

from __future__ import annotations

from inference.models.download import DownloadError, download
from inference.models.manifest import (
    Manifest,
    ManifestError,
    ModelEntry,
    UnknownModelError,
    load_manifest,
)
from inference.models.store import (
    LOCK_NAME,
    Check,
    LockEntry,
    LockFileError,
    ModelMissing,
    ModelSettings,
    ModelStore,
)

__all__ = [
    "LOCK_NAME",
    "Check",
    "DownloadError",
    "LockEntry",
    "LockFileError",
    "Manifest",
    "ManifestError",
    "ModelEntry",
    "ModelMissing",
    "ModelSettings",
    "ModelStore",
    "UnknownModelError",
    "download",
    "load_manifest",
]
