"""``govorun models``: list, download and verify the neural engines' weight files.

Exit codes: 0 ok, 1 a download or verification failed, 2 a usage error (or an unknown model).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from govorun.progress import ProgressBar
from inference.models.download import DownloadError, download
from inference.models.manifest import ManifestError, ModelEntry, UnknownModelError, load_manifest
from inference.models.store import LockFileError, ModelSettings, ModelStore

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_MIB = 1 << 20

Handler = Callable[[ModelStore, argparse.Namespace], int]


def main(argv: list[str]) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on bad usage and 0 after --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler: Handler = args.handler
    try:
        return handler(_store(args), args)
    except UnknownModelError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except (ManifestError, LockFileError, DownloadError) as exc:
        _err(str(exc))
        return EXIT_FAILED
    except OSError as exc:  # disk full, permissions: one line, not a traceback
        _err(f"{exc.filename or 'models'}: {exc.strerror or exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("interrupted; run the same command again to resume")
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="govorun models",
        description="Model files for the neural engines (Silero TTS, SadTalker).",
    )
    parser.add_argument("--models-dir", type=Path, help="default: $MODELS_DIR")
    parser.add_argument("--manifest", type=Path, help="another manifest (default: the shipped)")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    listing = commands.add_parser("list", help="show each model, its licence and whether present")
    listing.set_defaults(handler=_list)

    fetch = commands.add_parser("download", help="download and verify model files")
    fetch.add_argument("names", nargs="*", metavar="NAME")
    fetch.add_argument(
        "--all", action="store_true", help="every model that is not opt-in (licence)"
    )
    fetch.add_argument(
        "--engine", action="append", default=[], help="every model of ENGINE that is not opt-in"
    )
    fetch.add_argument(
        "--force",
        action="store_true",
        help="download again even if present, accepting a new upstream file for unpinned entries",
    )
    fetch.set_defaults(handler=_download)

    verify = commands.add_parser("verify", help="re-hash present files against the lock")
    verify.set_defaults(handler=_verify)
    return parser


def _store(args: argparse.Namespace) -> ModelStore:
    settings = ModelSettings()
    models_dir = args.models_dir or settings.models_dir
    manifest = load_manifest(args.manifest or settings.models_manifest)
    return ModelStore(models_dir, manifest)


def _list(store: ModelStore, args: argparse.Namespace) -> int:
    lock = store.read_lock()
    rows = [("NAME", "LICENCE", "ENGINES", "SIZE", "STATUS")]
    for entry in store.manifest.models:
        recorded = lock.get(entry.name)
        size = entry.size if entry.size is not None else (recorded.size if recorded else None)
        status = "present" if store.is_present(entry.name) else "missing"
        rows.append(
            (
                entry.name,
                entry.licence,
                ",".join(entry.engines),
                _human(size),
                status + (" (opt-in)" if entry.opt_in else ""),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    print(f"\nmodels dir: {store.models_dir}")
    return EXIT_OK


def _download(store: ModelStore, args: argparse.Namespace) -> int:
    names: list[str] = list(args.names)
    for entry in store.manifest.models:
        wanted = args.all or any(engine in entry.engines for engine in args.engine)
        if wanted and not entry.opt_in and entry.name not in names:
            names.append(entry.name)
    if not names:
        _err("name a model, --engine ENGINE or --all (see `govorun models list`)")
        return EXIT_USAGE
    entries = [store.entry(name) for name in names]  # unknown names fail before any download
    failures = sum(not _download_one(store, entry, force=args.force) for entry in entries)
    return EXIT_FAILED if failures else EXIT_OK


def _download_one(store: ModelStore, entry: ModelEntry, *, force: bool) -> bool:
    if not force and store.is_present(entry.name):
        print(f"{entry.name}: already present at {store.path(entry.name)}")
        return True
    if entry.opt_in:
        _err(f"{entry.name}: licence {entry.licence}; check that your use is allowed")
    line = ProgressLine(entry.name, sys.stderr)
    try:
        path = download(entry, store, progress=line, use_lock_digest=not force)
    except DownloadError as exc:
        line.close()
        _err(str(exc))
        return False
    line.close()
    recorded = store.locked(entry.name)
    digest = recorded.sha256 if recorded else "?"
    print(f"{entry.name}: ok, {_human(path.stat().st_size)}, sha256 {digest} -> {path}")
    return True


def _verify(store: ModelStore, args: argparse.Namespace) -> int:
    checks = store.verify()
    for check in checks:
        detail = f": {check.detail}" if check.detail else ""
        print(f"{check.name}: {check.state}{detail}")
    bad = [check.name for check in checks if check.state == "mismatch"]
    if bad:
        _err(f"{len(bad)} model file(s) changed since download: {', '.join(bad)}")
        return EXIT_FAILED
    return EXIT_OK


class ProgressLine(ProgressBar):
    """A download's progress callback: bytes on one redrawn terminal line, nothing in a log."""

    def __init__(self, name: str, stream: TextIO, interval: float = 0.2) -> None:
        # Carriage-return redraws would fill a log file with one line per megabyte.
        super().__init__(
            name,
            stream=stream,
            interval=interval,
            line_interval=None,
            width=0,
            describe=_sizes,
            show_elapsed=False,
        )

    def __call__(self, done: int, total: int | None) -> None:
        self.update(done, total)


def _sizes(done: float, total: float | None) -> str:
    of = f" / {_human(int(total))} ({100 * int(done) // int(total)}%)" if total else ""
    return f"{_human(int(done))}{of}"


def _human(size: int | None) -> str:
    if size is None:
        return "unknown"
    if size < _MIB:
        return f"{size / 1024:.0f} KiB" if size >= 1024 else f"{size} B"
    return f"{size / _MIB:.1f} MiB"


def _err(message: str) -> None:
    print(f"govorun models: {message}", file=sys.stderr)
