"""What the live workers announce about themselves (their heartbeat keys in Redis)."""

from __future__ import annotations

from arq.connections import ArqRedis

from core import keys
from core.contract import VOICES, VoiceInfo, WorkerAnnouncement


async def live_workers(redis: ArqRedis) -> list[WorkerAnnouncement]:
    """Each live worker's announcement: its engines, capacity and voices; sorted by key."""
    workers = []
    found = sorted([key async for key in redis.scan_iter(match=keys.WORKERS.glob())])
    for key in found:
        info = await redis.get(key)
        if info:
            workers.append(WorkerAnnouncement.model_validate_json(info))
    return workers


async def any_worker_alive(redis: ArqRedis) -> bool:
    """Whether some worker has beaten lately (its announcement lapses three beats after its
    last one, a few seconds)."""
    async for _ in redis.scan_iter(match=keys.WORKERS.glob(), count=1000):
        return True
    return False


class VoiceCatalog:
    """The voices the running workers can speak, for /voice.

    Workers may run different TTS engines (a GPU host with Silero beside CPU hosts with
    eSpeak), so the keyboard offers every announced voice; a worker given a voice it lacks
    uses its default. With no worker announced yet, the default engine's voices are shown.
    """

    def __init__(self, redis: ArqRedis) -> None:
        self._redis = redis

    async def options(self) -> list[VoiceInfo]:
        seen: dict[str, str] = {}
        for worker in await live_workers(self._redis):
            for voice in worker.voices:
                seen.setdefault(voice.id, voice.name)
        return [VoiceInfo(id=id_, name=name) for id_, name in (seen or VOICES).items()]

    async def name_of(self, voice_id: str) -> str | None:
        return next((v.name for v in await self.options() if v.id == voice_id), None)
