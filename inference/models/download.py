"""Fetch one model file: resumable, verified, atomic.

The bytes stream into ``MODELS_DIR/NAME.part`` while being hashed. An existing part is resumed
with ``Range: bytes=N-`` (its bytes are hashed first, so the digest still covers the whole file).
Only a file whose size and sha256 match what is expected is renamed into place, and only then
is the lock file written. This module is used by ``govorun models download`` alone: engines never
call it, so no job ever downloads anything.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import http.client
import json
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from inference.models.store import LockEntry, ModelStore

if TYPE_CHECKING:
    from inference.models.manifest import ModelEntry

Progress = Callable[[int, int | None], None]

CHUNK = 1 << 20
USER_AGENT = "govorun-models/0.1 (+urllib)"
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$")
_UNSATISFIED_RANGE = re.compile(r"^bytes\s+\*/(\d+)$")


class DownloadError(Exception):
    """A download failed or its result did not verify; the message says which and how."""


class _Transient(Exception):
    """A failure worth another attempt: the next one resumes from the bytes already kept."""


# Network failures that a retry may cure. HTTPError is handled before these (it is a URLError).
_RETRYABLE: tuple[type[BaseException], ...] = (
    _Transient,
    URLError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


class _Part:
    """The ``.part`` file being written, with the running hash of everything in it.

    A small sidecar (``NAME.part.json``) remembers the URL and the server's validator (a strong
    ETag or Last-Modified) of the kept bytes. Resuming sends it as ``If-Range``, so a server
    whose file changed in the meantime sends the new file whole instead of splicing its tail
    onto the old head: for entries without a pinned digest nothing else would notice.
    """

    def __init__(self, path: Path, url: str) -> None:
        self.path = path
        self.meta_path = path.with_name(path.name + ".json")
        self._fh: IO[bytes] = path.open("ab")
        try:
            # Two downloads appending to one part would interleave bytes: refuse the second.
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            self._fh.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise DownloadError(f"another download is writing {path}; wait for it") from None
            raise
        with path.open("rb") as existing:
            self.hasher = hashlib.file_digest(existing, "sha256")
        self.done = path.stat().st_size
        self.validator: str | None = None
        self._load_meta(url)

    def __enter__(self) -> _Part:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._fh.close()

    def _load_meta(self, url: str) -> None:
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return  # no sidecar: the size and digest checks are the only guard left
        if not isinstance(meta, dict) or meta.get("url") != url:
            self.restart()  # kept bytes of another URL (the manifest changed): useless
            return
        validator = meta.get("validator")
        self.validator = validator if isinstance(validator, str) else None

    def remember(self, url: str, validator: str | None) -> None:
        if validator != self.validator:
            self.validator = validator
            meta = {"url": url, "validator": validator}
            self.meta_path.write_text(json.dumps(meta), encoding="utf-8")

    def write(self, data: bytes) -> None:
        self._fh.write(data)
        self.hasher.update(data)
        self.done += len(data)

    def restart(self) -> None:
        """Drop the kept bytes: the server will send the file from its first byte."""
        self._fh.truncate(0)
        self.hasher = hashlib.sha256()
        self.done = 0
        self.validator = None

    def commit(self, final: Path) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, final)
        _fsync_dir(final.parent)
        self.meta_path.unlink(missing_ok=True)

    def discard(self) -> None:
        self._fh.close()
        self.path.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)


def download(
    entry: ModelEntry,
    store: ModelStore,
    *,
    progress: Progress | None = None,
    chunk: int = CHUNK,
    timeout: float = 30.0,
    retries: int = 3,
    backoff: float = 1.0,
    use_lock_digest: bool = True,
) -> Path:
    """Download ``entry`` into ``store``, verify it, record it in the lock; return its path.

    ``use_lock_digest=False`` accepts a new upstream file for an entry the manifest does not pin
    (the lock's earlier record is replaced); a digest pinned in the manifest always applies.
    """
    store.models_dir.mkdir(parents=True, exist_ok=True)
    lock = store.locked(entry.name) if use_lock_digest else None
    want_size = entry.size if entry.size is not None else (lock.size if lock else None)
    want_sha = entry.sha256 if entry.sha256 is not None else (lock.sha256 if lock else None)
    final = store.path(entry.name)
    with _Part(store.part_path(entry.name), entry.url) as part:
        fetch = _Fetch(entry.url, part, want_size, progress, chunk, timeout)
        try:
            server_size = _with_retries(fetch, retries, backoff)
        except DownloadError as exc:
            if part.done == 0:
                part.discard()  # an empty part would only clutter MODELS_DIR
            raise DownloadError(f"{entry.name}: {exc}") from None
        digest = part.hasher.hexdigest()
        size = want_size if want_size is not None else server_size
        problem = _mismatch(part.done, digest, size, want_sha)
        if problem:
            part.discard()
            hint = _lock_hint(entry, lock) if lock is not None and entry.sha256 is None else ""
            raise DownloadError(f"{entry.name}: {problem}; the download was discarded{hint}")
        part.commit(final)
    store.record(
        entry.name,
        LockEntry(sha256=digest, size=part.done, url=entry.url, downloaded_at=datetime.now(UTC)),
    )
    return final


class _Fetch:
    """One HTTP attempt at a time, each resuming where the part file ends."""

    def __init__(
        self,
        url: str,
        part: _Part,
        limit: int | None,
        progress: Progress | None,
        chunk: int,
        timeout: float,
    ) -> None:
        self.url = url
        self.part = part
        self.limit = limit
        self.progress = progress
        self.chunk = chunk
        self.timeout = timeout

    def attempt(self) -> int | None:
        """Fetch the rest of the file; return its total size when the server said it."""
        request = Request(self.url, headers={"User-Agent": USER_AGENT})
        # Compressed transfer would make byte offsets meaningless for resuming.
        request.add_header("Accept-Encoding", "identity")
        if self.part.done:
            request.add_header("Range", f"bytes={self.part.done}-")
            if self.part.validator:
                request.add_header("If-Range", self.part.validator)
        try:
            response = urlopen(request, timeout=self.timeout)
        except HTTPError as exc:
            with exc:
                return self._refused(exc)
        with response:
            end, total = self._span(response)
            self.part.remember(self.url, _validator(response))
            self._stream(response, total)
        if end is not None and self.part.done < end:
            raise _Transient(f"connection closed after {self.part.done} of {end} bytes")
        return total

    def _refused(self, exc: HTTPError) -> int | None:
        if exc.code == 416 and self.part.done:
            # Nothing left to send from our offset: the part is complete, or longer than the
            # file (a stale part of another version), in which case start over.
            match = _UNSATISFIED_RANGE.match(exc.headers.get("Content-Range", ""))
            total = int(match.group(1)) if match else None
            if total is None or total == self.part.done:
                return total
            kept = self.part.done
            self.part.restart()
            raise _Transient(f"kept {kept} bytes but the file has {total}")
        if exc.code >= 500 or exc.code in (408, 429):
            raise _Transient(f"HTTP {exc.code} {exc.reason}")
        raise DownloadError(f"{self.url} answered HTTP {exc.code} {exc.reason}") from None

    def _span(self, response: http.client.HTTPResponse) -> tuple[int | None, int | None]:
        """Where this response's body ends in the file, and the file's total size."""
        length = _int_header(response, "Content-Length")
        if response.status == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if match is None or int(match.group(1)) != self.part.done:
                # A range we did not ask for: start clean rather than splice wrong bytes.
                self.part.restart()
                raise _Transient("server answered a different byte range")
            total = None if match.group(3) == "*" else int(match.group(3))
            return int(match.group(2)) + 1, total
        if self.part.done:
            # 200 to a range request: the server ignores Range and sends the whole file.
            self.part.restart()
        return length, length

    def _stream(self, response: http.client.HTTPResponse, total: int | None) -> None:
        expected = self.limit if self.limit is not None else total
        self._report(expected)
        # read1 returns what has arrived: bytes received before a stall are kept for resuming.
        while data := response.read1(self.chunk):
            if self.limit is not None and self.part.done + len(data) > self.limit:
                # Stop early: a wrong file (an HTML error page, another version) may be huge,
                # and none of what was kept is worth resuming.
                self.part.discard()
                raise DownloadError(
                    f"size mismatch: the server sent more than the expected {self.limit} bytes; "
                    "the download was discarded"
                )
            self.part.write(data)
            self._report(expected)

    def _report(self, total: int | None) -> None:
        if self.progress is not None:
            self.progress(self.part.done, total)


def _with_retries(fetch: _Fetch, retries: int, backoff: float) -> int | None:
    for attempt in range(retries + 1):
        try:
            return fetch.attempt()
        except _RETRYABLE as exc:
            if attempt == retries:
                kept = fetch.part.done
                resume = f"; {kept} bytes are kept and the next run resumes there" if kept else ""
                raise DownloadError(
                    f"{fetch.url}: giving up after {retries + 1} attempts ({_describe(exc)})"
                    + resume
                ) from None
            time.sleep(backoff * 2**attempt)
    raise AssertionError("unreachable")  # the loop always returns or raises


def _mismatch(size: int, digest: str, want_size: int | None, want_sha: str | None) -> str:
    if want_size is not None and size != want_size:
        return f"size mismatch: expected {want_size} bytes, got {size}"
    if want_sha is not None and digest != want_sha:
        return f"sha256 mismatch: expected {want_sha}, got {digest}"
    return ""


def _lock_hint(entry: ModelEntry, lock: LockEntry) -> str:
    # The manifest does not pin this file; the expectation came from an earlier download.
    return (
        f" (the expected values were recorded in models.lock.json on "
        f"{lock.downloaded_at:%Y-%m-%d}; if upstream replaced the file on purpose, run "
        f"`govorun models download {entry.name} --force` to accept the new one)"
    )


def _validator(response: http.client.HTTPResponse) -> str | None:
    # If-Range accepts only a strong ETag or a date; a weak ETag cannot vouch for bytes.
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.headers.get("Last-Modified")


def _int_header(response: http.client.HTTPResponse, name: str) -> int | None:
    value = response.headers.get(name)
    return int(value) if value is not None and value.isdigit() else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _Transient):
        return str(exc)
    if isinstance(exc, URLError):
        return str(exc.reason)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; some filesystems refuse to open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
