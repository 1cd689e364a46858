"""Signs of life: the worker's announcement, the leases on the jobs it runs, who runs a job.

By arq's own rule a running job's in-progress key lives as long as the function's whole time
budget plus 10 s, so the job of a killed worker waits that long (165 s with the defaults)
before another worker may take it. Here the key is a lease instead: it lives ``lease_s`` and
this worker renews it every fifth of that while the job runs. A job therefore outlives a dead
worker by one lease at most, then arq's ordinary polling hands it to a live worker; a render
that is slow but alive keeps renewing and is never taken over. The same beat renews the
worker's announcement (``keys.WORKERS``, three beats long), which the bot reads to know
whether any worker is alive at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Sequence

from arq import create_pool
from arq.connections import ArqRedis
from arq.worker import Worker
from redis.exceptions import RedisError

from core import keys

log = logging.getLogger("govorun.worker")

BEATS_PER_LEASE = 5  # a lease survives four missed renewals (a busy host, a slow Redis)
_OWNER_TTL_S = 24 * 3600


def worker_name() -> str:
    """This process among the workers: its host and pid, as its keys and logs name it."""
    return f"{socket.gethostname()}-{os.getpid()}"


def lease(workers: Sequence[Worker], lease_s: float) -> None:
    """Make arq's in-progress keys leases: set for ``lease_s``, renewed by :class:`Liveness`.

    arq reads ``in_progress_timeout_s`` only when it marks a job started (``start_jobs``).
    """
    for worker in workers:
        worker.in_progress_timeout_s = lease_s


class Liveness:
    """Renews this worker's announcement and its running jobs' leases every ``lease_s / 5``."""

    def __init__(
        self, workers: Sequence[Worker], name: str, announcement: str, lease_s: float
    ) -> None:
        self._workers = workers
        self._key = keys.WORKERS(worker=name)
        self._announcement = announcement
        self._lease_ms = int(lease_s * 1000)
        self.period_s = lease_s / BEATS_PER_LEASE
        self._redis: ArqRedis | None = None

    async def start(self) -> None:
        """The first beat, before any job is taken: the bot must never see a silent fleet."""
        redis_settings = self._workers[0].redis_settings
        self._redis = await create_pool(redis_settings)
        await self.beat()

    async def beat(self) -> None:
        assert self._redis is not None
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._key, self._announcement, px=int(self.period_s * 3 * 1000))
            for job_id in self.running():
                # PEXPIRE leaves a key that is already gone alone: a finished job stays finished.
                pipe.pexpire(keys.ARQ_IN_PROGRESS(job_id=job_id), self._lease_ms)
            await pipe.execute()

    def running(self) -> list[str]:
        return [
            job_id
            for worker in self._workers
            for job_id, task in worker.tasks.items()
            if not task.done()
        ]

    async def run(self) -> None:
        """Beat until cancelled; a Redis outage is waited out, not fatal (it reconnects)."""
        while True:
            await asyncio.sleep(self.period_s)
            try:
                await self.beat()
            except (RedisError, OSError) as error:
                log.warning("heartbeat failed (%s); retrying", type(error).__name__)

    async def close(self) -> None:
        """A clean stop: the announcement goes at once (else it lapses in three beats)."""
        assert self._redis is not None
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._key)
        await self._redis.aclose()


async def take_over(redis: ArqRedis, job_id: str, name: str) -> str | None:
    """Record ``name`` as the job's runner; the runner of an earlier try that never ended."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.get(keys.JOB_OWNER(job_id=job_id))
        pipe.set(keys.JOB_OWNER(job_id=job_id), name, ex=_OWNER_TTL_S)
        previous, _ = await pipe.execute()
    return previous.decode() if previous else None


_DELETE_IF_OURS = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


async def hand_back(redis: ArqRedis, job_id: str, name: str) -> None:
    """This try ended by itself (a result, or a retry arq schedules): nothing was moved.

    Only our own record goes: a try that outlived its lease must not erase its successor's.
    """
    await redis.eval(_DELETE_IF_OURS, 1, keys.JOB_OWNER(job_id=job_id), name)  # type: ignore[misc]
