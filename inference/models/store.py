"""Where model files live (MODELS_DIR) and what Govorun knows about them (``models.lock.json``).

The lock file records, per model, the sha256 and size of the file that was downloaded and
verified, the URL it came from and when. A file counts as present only when it exists and still
matches that record: engines call :meth:`ModelStore.require`, which never downloads anything
and, when the file is not there, raises :class:`ModelMissing` naming the command that fetches it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from inference.models.manifest import SHA256_PATTERN, Manifest, ModelEntry, load_manifest

LOCK_NAME = "models.lock.json"
# The lock file is replaced atomically, so writers serialise on a sidecar that stays put.
_LOCK_GUARD = ".models.lock.guard"


class ModelSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    models_dir: Path = Path("~/.cache/govorun/models")
    # Another manifest of the same shape, e.g. one that points at an internal mirror.
    models_manifest: Path | None = None

    @field_validator("models_dir", "models_manifest")
    @classmethod
    def _expand_user(cls, path: Path | None) -> Path | None:
        return path.expanduser() if path is not None else None


class ModelMissing(Exception):
    """A model file is absent or no longer matches its lock entry."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"model '{name}' is missing: run `govorun models download {name}`")


class LockFileError(ValueError):
    """``models.lock.json`` exists but cannot be read as a lock file."""


class LockEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    sha256: str = Field(pattern=SHA256_PATTERN)
    size: int = Field(ge=0)
    url: str
    downloaded_at: datetime


_LOCK_ADAPTER = TypeAdapter(dict[str, LockEntry])

CheckState = Literal["ok", "missing", "unverified", "mismatch"]


@dataclass(frozen=True)
class Check:
    """What ``verify`` found for one model."""

    name: str
    state: CheckState
    detail: str = ""


def sha256_file(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


class ModelStore:
    def __init__(self, models_dir: Path, manifest: Manifest | None = None) -> None:
        self.models_dir = models_dir.expanduser()
        self.manifest = manifest if manifest is not None else load_manifest()
        # Hashing a 700 MB checkpoint takes about a second; remember digests per file identity
        # so that `is_present` followed by `require` (or several engines) hash it only once.
        self._digests: dict[Path, tuple[tuple[int, int, int], str]] = {}

    @classmethod
    def from_settings(cls, settings: ModelSettings | None = None) -> ModelStore:
        settings = settings if settings is not None else ModelSettings()
        return cls(settings.models_dir, load_manifest(settings.models_manifest))

    @property
    def lock_path(self) -> Path:
        return self.models_dir / LOCK_NAME

    def entry(self, name: str) -> ModelEntry:
        return self.manifest.get(name)

    def path(self, name: str) -> Path:
        return self.models_dir / self.entry(name).filename

    def part_path(self, name: str) -> Path:
        return self.models_dir / f"{self.entry(name).name}.part"

    # --- the lock file -------------------------------------------------------------------

    def read_lock(self) -> dict[str, LockEntry]:
        try:
            raw = self.lock_path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            return _LOCK_ADAPTER.validate_json(raw)
        except ValidationError as exc:
            raise LockFileError(
                f"{self.lock_path} is not a valid lock file ({exc.error_count()} problems); "
                "move it away and download the models again"
            ) from None

    def locked(self, name: str) -> LockEntry | None:
        """The lock entry for ``name``, if it was recorded for the manifest's current URL."""
        entry = self.read_lock().get(name)
        # A new URL in the manifest means a different file: the old record no longer applies.
        if entry is None or entry.url != self.entry(name).url:
            return None
        return entry

    def record(self, name: str, entry: LockEntry) -> None:
        """Add or replace the lock entry for ``name`` (safe against concurrent writers)."""
        self.models_dir.mkdir(parents=True, exist_ok=True)
        with self._guard():
            current = self.read_lock()
            current[name] = entry
            payload = {key: value.model_dump(mode="json") for key, value in current.items()}
            _write_atomic(self.lock_path, json.dumps(payload, indent=2, sort_keys=True) + "\n")

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        with (self.models_dir / _LOCK_GUARD).open("a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            yield  # closing the file releases the flock

    # --- presence ------------------------------------------------------------------------

    def digest(self, path: Path) -> str:
        """sha256 of ``path``, cached while the file's inode, size and mtime stay the same."""
        st = path.stat()
        key = (st.st_ino, st.st_size, st.st_mtime_ns)
        cached = self._digests.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        value = sha256_file(path)
        self._digests[path] = (key, value)
        return value

    def is_present(self, name: str) -> bool:
        """True when the file exists and matches the lock's size and sha256 (and any pin)."""
        return self.check(name).state == "ok"

    def require(self, name: str) -> Path:
        """The path of a verified model file; never downloads."""
        if not self.is_present(name):
            raise ModelMissing(name)
        return self.path(name)

    def check(self, name: str) -> Check:
        entry = self.entry(name)
        path = self.path(name)
        if not path.is_file():
            return Check(name, "missing")
        lock = self.locked(name)
        if lock is None:
            return Check(name, "unverified", "no lock entry: run `govorun models download`")
        size = path.stat().st_size
        if size != lock.size:
            return Check(name, "mismatch", f"size {size} bytes, lock says {lock.size}")
        if entry.sha256 is not None and lock.sha256 != entry.sha256:
            # The manifest pinned a different file since this one was downloaded.
            return Check(name, "mismatch", f"lock sha256 {lock.sha256} is not the pinned one")
        got = self.digest(path)
        if got != lock.sha256:
            return Check(name, "mismatch", f"sha256 {got}, lock says {lock.sha256}")
        return Check(name, "ok")

    def verify(self) -> list[Check]:
        """Re-hash every present file against the lock (ignoring the digest cache)."""
        self._digests.clear()
        return [self.check(name) for name in self.manifest.names]


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
