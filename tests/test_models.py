"""Model manifest, store and downloader against a local HTTP server (no network, no sleeps)."""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from govorun.models_cli import ProgressLine, main
from inference.animate.sadtalker import engine as sadtalker_engine
from inference.models import (
    LOCK_NAME,
    DownloadError,
    Manifest,
    ManifestError,
    ModelEntry,
    ModelMissing,
    ModelSettings,
    ModelStore,
    download,
    load_manifest,
)
from inference.models.manifest import parse_manifest
from inference.models.store import LockFileError

DATA = os.urandom(300 * 1024)
DIGEST = hashlib.sha256(DATA).hexdigest()
HALF = len(DATA) // 2


@dataclass
class Served:
    """What the test server sends, and what it saw."""

    data: bytes = DATA
    ignore_range: bool = False
    cut_after: int | None = None  # the next response stops after this many body bytes
    errors: list[int] = field(default_factory=list)  # statuses answered before serving
    stall_after: int | None = None  # the next response sends this many bytes, then hangs
    release: threading.Event = field(default_factory=threading.Event)
    ranges: list[str | None] = field(default_factory=list)
    if_ranges: list[str | None] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.data).hexdigest()[:16] + '"'


class _Handler(BaseHTTPRequestHandler):
    served: Served

    def do_GET(self) -> None:
        state = self.served
        wanted = self.headers.get("Range")
        state.ranges.append(wanted)
        state.if_ranges.append(self.headers.get("If-Range"))
        if self.path == "/moved":  # like GitHub's release links, which redirect to a CDN
            self.send_response(302)
            self.send_header("Location", "/model.bin")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path != "/model.bin":
            self.send_error(404)
            return
        if self.headers.get("If-Range") not in (None, state.etag):
            wanted = None  # the kept bytes are of another version: send the whole file
        if state.errors:
            self.send_error(state.errors.pop(0))
            return
        start = 0
        if wanted and not state.ignore_range:
            match = re.fullmatch(r"bytes=(\d+)-", wanted)
            assert match, wanted
            start = int(match.group(1))
            if start >= len(state.data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(state.data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            end = len(state.data) - 1
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(state.data)}")
        else:
            self.send_response(200)
        body = state.data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", state.etag)
        self.end_headers()
        if state.cut_after is not None:
            # Promise the whole body, send a piece, and let the server close the connection.
            body, state.cut_after = body[: state.cut_after], None
        if state.stall_after is not None:
            # Send a piece, then hang (until the test ends) so that the client times out.
            piece, state.stall_after = body[: state.stall_after], None
            state.sent.append(len(piece))  # before writing: the client may finish first
            self.wfile.write(piece)
            self.wfile.flush()
            state.release.wait(10)
            return
        state.sent.append(len(body))  # before writing: the client may finish first
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


@dataclass
class Server:
    base: str
    served: Served

    @property
    def url(self) -> str:
        return f"{self.base}/model.bin"


@pytest.fixture
def server() -> Iterator[Server]:
    served = Served()
    handler = type("Handler", (_Handler,), {"served": served})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", served)
    finally:
        served.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _entry(url: str, **overrides: Any) -> ModelEntry:
    fields: dict[str, Any] = {
        "name": "tiny",
        "url": url,
        "size": len(DATA),
        "sha256": DIGEST,
        "licence": "MIT",
        "engines": ["test"],
        "filename": "sub/tiny.bin",
        "description": "test model",
    }
    fields.update(overrides)
    return ModelEntry.model_validate(fields)


def _store(tmp_path: Path, *entries: ModelEntry) -> ModelStore:
    return ModelStore(tmp_path / "models", Manifest(models=list(entries)))


def _fetch(entry: ModelEntry, store: ModelStore, **kwargs: Any) -> Path:
    return download(entry, store, timeout=5, backoff=0, **kwargs)


def _leftovers(store: ModelStore) -> list[str]:
    return sorted(p.name for p in store.models_dir.rglob("*") if p.is_file())


# --- downloads --------------------------------------------------------------------------------


def test_full_download_writes_file_and_lock(tmp_path: Path, server: Server) -> None:
    entry = _entry(server.url)
    store = _store(tmp_path, entry)
    seen: list[tuple[int, int | None]] = []

    path = _fetch(entry, store, progress=lambda done, total: seen.append((done, total)))

    assert path == store.models_dir / "sub" / "tiny.bin"
    assert path.read_bytes() == DATA
    lock = json.loads((store.models_dir / LOCK_NAME).read_text())
    assert lock["tiny"]["sha256"] == DIGEST
    assert lock["tiny"]["size"] == len(DATA)
    assert lock["tiny"]["url"] == server.url
    assert lock["tiny"]["downloaded_at"]
    assert store.is_present("tiny")
    assert store.require("tiny") == path
    assert not store.part_path("tiny").exists()
    assert server.served.ranges == [None]
    assert seen[-1] == (len(DATA), len(DATA))


def test_unpinned_entry_records_size_and_digest(tmp_path: Path, server: Server) -> None:
    entry = _entry(server.url, size=None, sha256=None)
    store = _store(tmp_path, entry)

    _fetch(entry, store)

    recorded = store.locked("tiny")
    assert recorded is not None
    assert (recorded.size, recorded.sha256) == (len(DATA), DIGEST)
    assert store.is_present("tiny")


def _half_downloaded(tmp_path: Path, server: Server) -> tuple[ModelEntry, ModelStore]:
    """A store holding the first half of the server's file, as an interrupted download left."""
    entry = _entry(server.url)
    store = _store(tmp_path, entry)
    store.models_dir.mkdir()
    store.part_path("tiny").write_bytes(DATA[:HALF])
    return entry, store


def test_existing_part_resumes_with_range(tmp_path: Path, server: Server) -> None:
    entry, store = _half_downloaded(tmp_path, server)

    path = _fetch(entry, store)

    assert server.served.ranges == [f"bytes={HALF}-"]
    assert server.served.sent == [len(DATA) - HALF]
    assert path.read_bytes() == DATA
    assert store.is_present("tiny")


def test_interrupted_connection_resumes_where_it_stopped(tmp_path: Path, server: Server) -> None:
    server.served.cut_after = 100_000
    entry = _entry(server.url)
    store = _store(tmp_path, entry)

    path = _fetch(entry, store)

    assert server.served.ranges == [None, "bytes=100000-"]
    assert server.served.sent == [100_000, len(DATA) - 100_000]
    assert path.read_bytes() == DATA


def test_resume_sends_if_range_and_survives_a_redirect(tmp_path: Path, server: Server) -> None:
    server.served.cut_after = 100_000
    entry = _entry(f"{server.base}/moved")
    store = _store(tmp_path, entry)

    path = _fetch(entry, store)

    # Each attempt: the redirect, then the file; the Range header survives the redirect.
    assert server.served.ranges == [None, None, "bytes=100000-", "bytes=100000-"]
    assert server.served.if_ranges[2:] == [server.served.etag] * 2
    assert path.read_bytes() == DATA
    assert not list(store.models_dir.glob("tiny.part*"))  # the part and its sidecar are gone


def test_part_of_a_changed_upstream_file_restarts(tmp_path: Path, server: Server) -> None:
    entry = _entry(server.url)
    store = _store(tmp_path, entry)
    store.models_dir.mkdir()
    store.part_path("tiny").write_bytes(DATA[::-1][:HALF])  # the head of the old version
    meta = {"url": server.url, "validator": '"old-version"'}
    (store.models_dir / "tiny.part.json").write_text(json.dumps(meta))

    path = _fetch(entry, store)

    assert server.served.ranges == [f"bytes={HALF}-"]
    assert server.served.if_ranges == ['"old-version"']
    assert server.served.sent == [len(DATA)]
    assert path.read_bytes() == DATA


def test_part_of_another_url_is_dropped(tmp_path: Path, server: Server) -> None:
    entry, store = _half_downloaded(tmp_path, server)
    meta = {"url": "https://example.invalid/old.bin", "validator": None}
    (store.models_dir / "tiny.part.json").write_text(json.dumps(meta))

    assert _fetch(entry, store).read_bytes() == DATA
    assert server.served.ranges == [None]


def test_stalled_transfer_times_out_and_resumes(tmp_path: Path, server: Server) -> None:
    server.served.stall_after = 50_000
    entry = _entry(server.url)
    store = _store(tmp_path, entry)

    # Spare retries: on a loaded machine a later attempt may time out too, and just resumes.
    path = download(entry, store, timeout=0.3, retries=3, backoff=0)

    assert server.served.ranges[:2] == [None, "bytes=50000-"]
    assert path.read_bytes() == DATA


def test_server_ignoring_range_restarts_and_verifies(tmp_path: Path, server: Server) -> None:
    server.served.ignore_range = True
    entry, store = _half_downloaded(tmp_path, server)

    path = _fetch(entry, store)

    assert server.served.ranges == [f"bytes={HALF}-"]
    assert server.served.sent == [len(DATA)]
    assert path.read_bytes() == DATA
    assert store.is_present("tiny")


def test_complete_part_answered_416_is_verified(tmp_path: Path, server: Server) -> None:
    entry = _entry(server.url)
    store = _store(tmp_path, entry)
    store.models_dir.mkdir()
    store.part_path("tiny").write_bytes(DATA)

    path = _fetch(entry, store)

    assert server.served.ranges == [f"bytes={len(DATA)}-"]
    assert server.served.sent == []
    assert path.read_bytes() == DATA


@pytest.mark.parametrize("size", [len(DATA) + 1, len(DATA) - 1])
def test_size_mismatch_leaves_nothing(tmp_path: Path, server: Server, size: int) -> None:
    entry = _entry(server.url, size=size)
    store = _store(tmp_path, entry)

    with pytest.raises(DownloadError, match=rf"tiny: size mismatch: .*expected {size} bytes"):
        _fetch(entry, store)

    assert _leftovers(store) == []


def test_wrong_sha256_leaves_nothing(tmp_path: Path, server: Server) -> None:
    entry = _entry(server.url, sha256="0" * 64)
    store = _store(tmp_path, entry)

    with pytest.raises(DownloadError) as caught:
        _fetch(entry, store)

    message = str(caught.value)
    assert f"expected {'0' * 64}, got {DIGEST}" in message
    assert "Traceback" not in message
    assert _leftovers(store) == []
    assert not store.is_present("tiny")


def test_corrupt_part_is_caught_by_the_digest(tmp_path: Path, server: Server) -> None:
    entry = _entry(server.url)
    store = _store(tmp_path, entry)
    store.models_dir.mkdir()
    store.part_path("tiny").write_bytes(b"\0" * HALF)  # right length, wrong bytes

    with pytest.raises(DownloadError, match="sha256 mismatch"):
        _fetch(entry, store)

    assert _leftovers(store) == []
    # The next run starts clean and succeeds.
    assert _fetch(entry, store).read_bytes() == DATA


def test_lock_digest_guards_unpinned_entries(tmp_path: Path, server: Server) -> None:
    entry = _entry(server.url, size=None, sha256=None)
    store = _store(tmp_path, entry)
    _fetch(entry, store)
    store.path("tiny").unlink()
    server.served.data = DATA[::-1]  # upstream silently replaced the file

    with pytest.raises(DownloadError, match=r"models\.lock\.json.*--force"):
        _fetch(entry, store)
    assert not store.path("tiny").exists()

    _fetch(entry, store, use_lock_digest=False)
    assert store.is_present("tiny")
    recorded = store.locked("tiny")
    assert recorded is not None and recorded.sha256 == hashlib.sha256(DATA[::-1]).hexdigest()


def test_server_errors_are_retried_then_resumed(tmp_path: Path, server: Server) -> None:
    server.served.errors = [503, 502]
    entry = _entry(server.url)
    store = _store(tmp_path, entry)

    assert _fetch(entry, store).read_bytes() == DATA
    assert len(server.served.ranges) == 3


def test_retries_run_out_with_a_clear_error(tmp_path: Path, server: Server) -> None:
    server.served.errors = [503] * 3
    entry = _entry(server.url)
    store = _store(tmp_path, entry)

    with pytest.raises(DownloadError, match=r"tiny: .*giving up after 3 attempts \(HTTP 503"):
        _fetch(entry, store, retries=2)


def test_not_found_is_not_retried(tmp_path: Path, server: Server) -> None:
    entry = _entry(f"{server.base}/nope.bin")
    store = _store(tmp_path, entry)

    with pytest.raises(DownloadError, match="HTTP 404"):
        _fetch(entry, store)
    assert len(server.served.ranges) == 1
    assert _leftovers(store) == []


def test_a_second_download_of_the_same_model_is_refused(tmp_path: Path, server: Server) -> None:
    entry = _entry(server.url)
    store = _store(tmp_path, entry)
    store.models_dir.mkdir()
    with store.part_path("tiny").open("ab") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(DownloadError, match="another download"):
            _fetch(entry, store)
    assert server.served.ranges == []


def test_progress_line_redraws_on_a_terminal_only() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, log = Terminal(), io.StringIO()
    for stream in (terminal, log):
        line = ProgressLine("tiny", stream, interval=0)
        line(0, 2 * 1024 * 1024)
        line(1024 * 1024, 2 * 1024 * 1024)
        line.close()
    assert terminal.getvalue().endswith("\rtiny: 1.0 MiB / 2.0 MiB (50%)\033[K\n")
    assert log.getvalue() == ""


# --- the store --------------------------------------------------------------------------------


def test_require_on_a_missing_model_names_the_command(tmp_path: Path) -> None:
    store = _store(tmp_path, _entry("https://example.invalid/x"))

    with pytest.raises(ModelMissing) as caught:
        store.require("tiny")

    assert str(caught.value) == "model 'tiny' is missing: run `govorun models download tiny`"
    assert caught.value.__cause__ is None and caught.value.__context__ is None


def test_file_without_lock_entry_is_not_present(tmp_path: Path) -> None:
    store = _store(tmp_path, _entry("https://example.invalid/x"))
    store.path("tiny").parent.mkdir(parents=True)
    store.path("tiny").write_bytes(DATA)  # copied by hand: nothing vouches for it

    assert not store.is_present("tiny")
    assert store.check("tiny").state == "unverified"


def test_verify_detects_a_file_changed_after_download(tmp_path: Path, server: Server) -> None:
    entry = _entry(server.url)
    store = _store(tmp_path, entry)
    path = _fetch(entry, store)
    assert [c.state for c in store.verify()] == ["ok"]

    changed = bytearray(DATA)
    changed[1234] ^= 0xFF
    path.write_bytes(bytes(changed))  # same size, different content

    [check] = store.verify()
    assert check.state == "mismatch"
    assert DIGEST in check.detail
    assert not store.is_present("tiny")
    with pytest.raises(ModelMissing):
        store.require("tiny")


def test_corrupt_lock_file_is_a_clear_error(tmp_path: Path) -> None:
    store = _store(tmp_path, _entry("https://example.invalid/x"))
    store.models_dir.mkdir()
    (store.models_dir / LOCK_NAME).write_text("{not json")
    store.path("tiny").parent.mkdir()
    store.path("tiny").write_bytes(b"x")

    with pytest.raises(LockFileError, match="not a valid lock file"):
        store.is_present("tiny")


def test_settings_read_models_dir_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELS_DIR", str(tmp_path / "weights"))
    store = ModelStore.from_settings()
    assert store.models_dir == tmp_path / "weights"
    assert "silero-v5-cis-base" in store.manifest.names

    monkeypatch.delenv("MODELS_DIR")
    assert ModelSettings(_env_file=None).models_dir == Path.home() / ".cache/govorun/models"


# --- the manifest -----------------------------------------------------------------------------


def test_shipped_manifest_is_valid_and_complete() -> None:
    manifest = load_manifest()
    by_name = {entry.name: entry for entry in manifest.models}

    assert by_name["silero-v5-cis-base"].licence == "MIT"
    assert by_name["silero-v5-cis-base"].url.endswith("/tts/ru/v5_cis_base.pt")
    assert by_name["silero-v4-ru"].opt_in and "NC" in by_name["silero-v4-ru"].licence
    # Exactly what the SadTalker engine loads: nothing is fetched that it would not use.
    sadtalker = {entry.name for entry in manifest.models if "sadtalker" in entry.engines}
    assert sadtalker == {sadtalker_engine.CHECKPOINT, sadtalker_engine.MAPPING}
    assert by_name[sadtalker_engine.MAPPING].filename.endswith("mapping_00229-model.pth.tar")
    for entry in manifest.models:
        assert entry.url.startswith("https://")
        # Unpinned entries must say so, so that an operator knows the lock is the reference.
        if entry.sha256 is None or entry.size is None:
            assert "not pinned" in entry.description


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"filename": "../escape.bin"}, "relative path inside MODELS_DIR"),
        ({"filename": "/etc/passwd"}, "relative path inside MODELS_DIR"),
        ({"url": "ftp://host/x"}, "not an http"),
        ({"sha256": "abc"}, "sha256"),
        ({"name": "Bad Name"}, "name"),
    ],
)
def test_manifest_rejects_bad_entries(change: dict[str, Any], problem: str) -> None:
    fields = _entry("https://example.invalid/x").model_dump() | change
    with pytest.raises(ManifestError, match=problem):
        parse_manifest(json.dumps({"models": [fields]}))


def test_manifest_rejects_duplicate_names() -> None:
    fields = _entry("https://example.invalid/x").model_dump()
    twin = fields | {"filename": "other.bin"}
    with pytest.raises(ManifestError, match="duplicate model names: tiny"):
        parse_manifest(json.dumps({"models": [fields, twin]}))


# --- the command line -------------------------------------------------------------------------


def _cli_setup(tmp_path: Path, server: Server) -> list[str]:
    entries = [
        _entry(server.url).model_dump(),
        _entry(
            f"{server.base}/nope.bin", name="restricted", filename="r.bin", opt_in=True
        ).model_dump(),
    ]
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"models": entries}))
    return ["--models-dir", str(tmp_path / "models"), "--manifest", str(manifest)]


def test_cli_list_download_verify(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    opts = _cli_setup(tmp_path, server)

    assert main([*opts, "list"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^tiny\s+MIT\s+test\s+300 KiB\s+missing$", out, re.M)
    assert re.search(r"^restricted\s.*missing \(opt-in\)$", out, re.M)

    # --all skips the opt-in entry, whose URL would fail.
    assert main([*opts, "download", "--all"]) == 0
    assert f"sha256 {DIGEST}" in capsys.readouterr().out
    assert main([*opts, "download", "tiny"]) == 0
    assert "already present" in capsys.readouterr().out

    assert main([*opts, "list"]) == 0
    assert re.search(r"^tiny\s.*present$", capsys.readouterr().out, re.M)
    assert main([*opts, "verify"]) == 0
    assert "tiny: ok" in capsys.readouterr().out

    (tmp_path / "models" / "sub" / "tiny.bin").write_bytes(DATA[::-1])
    assert main([*opts, "verify"]) == 1
    captured = capsys.readouterr()
    assert "tiny: mismatch" in captured.out
    assert "changed since download: tiny" in captured.err


def test_cli_failed_download_exits_1(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    opts = _cli_setup(tmp_path, server)
    assert main([*opts, "download", "restricted"]) == 1
    err = capsys.readouterr().err
    assert "licence MIT" in err and "HTTP 404" in err


@pytest.mark.parametrize(
    "args",
    [[], ["download"], ["download", "no-such-model"], ["frobnicate"], ["list", "--bogus"]],
)
def test_cli_usage_errors_exit_2(
    tmp_path: Path, server: Server, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*_cli_setup(tmp_path, server), *args]) == 2
    assert capsys.readouterr().err


def test_cli_bad_lock_file_exits_1(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    opts = _cli_setup(tmp_path, server)
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / LOCK_NAME).write_text("[]")
    (tmp_path / "models" / "sub").mkdir()
    (tmp_path / "models" / "sub" / "tiny.bin").write_bytes(DATA)
    assert main([*opts, "verify"]) == 1
    assert "not a valid lock file" in capsys.readouterr().err


def test_cli_downloads_an_engines_models(
    tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    opts = _cli_setup(tmp_path, server)  # both entries serve the "test" engine
    # The opt-in entry (whose URL would fail) is skipped here too.
    assert main([*opts, "download", "--engine", "test"]) == 0
    assert f"sha256 {DIGEST}" in capsys.readouterr().out
    assert main([*opts, "download", "--engine", "nosuch"]) == 2
    assert "--engine ENGINE" in capsys.readouterr().err
