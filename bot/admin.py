"""What the admin commands call: statistics, bans and the face blocklist."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from arq.connections import ArqRedis

from bot.workers import live_workers
from core import keys
from core.contract import (
    FACE_MATCH_THRESHOLD,
    QUEUE_NAME,
    face_distance,
)
from core.quotas import Quotas


@dataclass(frozen=True)
class Stats:
    queued: int
    active: int
    jobs_today: int
    failed_today: int
    workers: list[str]  # one line per live worker: its engines


class AdminService:
    def __init__(self, redis: ArqRedis, quotas: Quotas) -> None:
        self._redis = redis
        self._quotas = quotas

    async def stats(self) -> Stats:
        workers = [
            ", ".join(f"{k}={v}" for k, v in worker.engines.items())
            for worker in await live_workers(self._redis)
        ]
        jobs, failed = (keys.DAILY_COUNTER(name=n, day=keys.today()) for n in ("jobs", "failed"))
        return Stats(
            queued=int(await self._redis.zcard(QUEUE_NAME)),
            active=await self._quotas.active_jobs(),
            jobs_today=int(await self._redis.get(jobs) or 0),
            failed_today=int(await self._redis.get(failed) or 0),
            workers=workers,
        )

    async def ban(self, user_id: int) -> None:
        await self._quotas.ban(user_id)

    async def unban(self, user_id: int) -> None:
        await self._quotas.unban(user_id)

    async def block_face(self, embedding: list[float]) -> str:
        face_id = hashlib.sha256(json.dumps(embedding).encode()).hexdigest()[:10]
        await self._redis.hset(keys.BLOCKLIST(), face_id, json.dumps(embedding))  # type: ignore[misc]
        return face_id

    async def unblock_face(self, embedding: list[float]) -> int:
        """Remove every blocklist entry of this person; how many were removed."""
        entries = await self._redis.hgetall(keys.BLOCKLIST())  # type: ignore[misc]
        matching = [
            face_id
            for face_id, stored in entries.items()
            if face_distance(embedding, json.loads(stored)) <= FACE_MATCH_THRESHOLD
        ]
        if matching:
            await self._redis.hdel(keys.BLOCKLIST(), *matching)  # type: ignore[misc]
        return len(matching)
