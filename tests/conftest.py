from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator

import pytest
from redis import Redis
from redis.asyncio import Redis as AsyncRedis

from inference.demo import astronaut, png
from inference.face import FaceAnalyzer
from testkit.redis_server import PersistentRedis, redis_base_url


@pytest.fixture(autouse=True)
def _signing_identity_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command line's self-issued C2PA identity goes to a temporary folder, not $HOME."""
    path = tmp_path_factory.getbasetemp() / "c2pa-identity.pem"
    monkeypatch.setenv("C2PA_IDENTITY_FILE", str(path))


@pytest.fixture(scope="session")
def astronaut_png() -> bytes:
    return png(astronaut())


@pytest.fixture(scope="session")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="session")
def redis_base() -> Iterator[str]:
    with redis_base_url() as url:
        yield url


@pytest.fixture
def redis_url(redis_base: str, worker_id: str) -> str:
    """A Redis database of its own for this test: one per xdist worker, flushed first."""
    index = 1 + (int(worker_id[2:]) if worker_id.startswith("gw") else 0) % 15
    url = f"{redis_base}/{index}"
    Redis.from_url(url).flushdb()
    return url


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[AsyncRedis]:
    """An asyncio client on this test's own database."""
    client = AsyncRedis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def persistent_redis() -> Iterator[PersistentRedis]:
    """A Redis server of this test's own with AOF persistence on, restartable."""
    with tempfile.TemporaryDirectory() as folder:
        server = PersistentRedis(folder)
        server.start()
        try:
            yield server
        finally:
            server.stop()
