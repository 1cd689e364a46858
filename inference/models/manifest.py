"""The model manifest: which weight files Govorun can fetch, from where, and what they must be.

``manifest.json`` beside this module is the shipped list. An operator with a mirror of their own
may point ``MODELS_MANIFEST`` at another file of the same shape. A digest or size may be null
where it could not be pinned when the entry was written: the first verified download then
records both in the lock file (trust on first use), and every later download is held to them.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

# Names become file names (``NAME.part``) and CLI arguments: keep them plain.
NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"


class ManifestError(ValueError):
    """The manifest file is unreadable or does not describe models the way this code expects."""


class UnknownModelError(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(f"unknown model '{name}'; known models: {', '.join(known)}")

    def __str__(self) -> str:
        # LookupError's str() quotes the message like a dict key; the CLI prints it as is.
        return str(self.args[0])


class ModelEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    url: str
    size: int | None = Field(default=None, gt=0)
    sha256: str | None = Field(default=None, pattern=SHA256_PATTERN)
    licence: str = Field(min_length=1)
    engines: list[str] = Field(min_length=1)
    filename: str
    description: str = ""
    # Opt-in entries (e.g. non-commercial licences) are skipped by `download --all`.
    opt_in: bool = False

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"not an http(s) URL: {url!r}")
        return url

    @field_validator("filename")
    @classmethod
    def _relative_path(cls, filename: str) -> str:
        # The file lands under MODELS_DIR; a manifest must never be able to write outside it.
        path = PurePosixPath(filename)
        if not filename or path.is_absolute() or ".." in path.parts or "\\" in filename:
            raise ValueError(f"filename must be a relative path inside MODELS_DIR: {filename!r}")
        return str(path)

    @field_validator("sha256", mode="before")
    @classmethod
    def _lower_hex(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


class Manifest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    models: list[ModelEntry]

    @model_validator(mode="after")
    def _unique(self) -> Manifest:
        for attr in ("name", "filename"):
            values = [getattr(entry, attr) for entry in self.models]
            duplicates = sorted({v for v in values if values.count(v) > 1})
            if duplicates:
                raise ValueError(f"duplicate model {attr}s: {', '.join(duplicates)}")
        return self

    @property
    def names(self) -> list[str]:
        return [entry.name for entry in self.models]

    def get(self, name: str) -> ModelEntry:
        for entry in self.models:
            if entry.name == name:
                return entry
        raise UnknownModelError(name, self.names)


def parse_manifest(text: str, source: str = "manifest") -> Manifest:
    try:
        return Manifest.model_validate(json.loads(text))
    except (json.JSONDecodeError, ValidationError) as exc:
        # One line per problem is enough for an operator editing JSON by hand.
        raise ManifestError(f"{source} is not a valid model manifest: {exc}") from None


def load_manifest(path: Path | None = None) -> Manifest:
    """The manifest at ``path``, or the one shipped with Govorun."""
    if path is None:
        text = resources.files(__package__ or "inference.models").joinpath("manifest.json")
        return parse_manifest(text.read_text(encoding="utf-8"), "the shipped manifest.json")
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"cannot read model manifest {path}: {exc.strerror}") from None
    return parse_manifest(raw, str(path))
