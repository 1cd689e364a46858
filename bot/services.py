"""What the handlers call: avatars, preferences and the render queue, all state in Redis.

Handlers never touch Redis or arq themselves; every replica of the bot shares this state.
"""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis
from arq.jobs import Job

from inference.contract import (
    CHECK_JOB_NAME,
    CHECK_QUEUE_NAME,
    JOB_NAME,
    KEY_PREFIX,
    QUEUE_NAME,
    PhotoCheck,
    RenderJob,
    active_job_key,
    audio_key,
    job_id_for,
    photo_key,
    request_key,
)

_DAY = 24 * 3600
_ACTIVE_S = 15 * 60  # a crashed job cannot block its user for longer than this


@dataclass(frozen=True)
class Preferences:
    voice: str | None
    language: str | None


class UserStore:
    """Per-user state: the current avatar photo (with a TTL) and preferences."""

    def __init__(self, redis: ArqRedis, photo_ttl_s: int) -> None:
        self._redis = redis
        self._photo_ttl_s = photo_ttl_s

    async def save_candidate(self, user_id: int, photo: bytes) -> str:
        """Keep a photo for checking; it becomes the avatar only once a face is found."""
        key = f"{photo_key(user_id)}:candidate"
        await self._redis.set(key, photo, ex=self._photo_ttl_s)
        return key

    async def promote_candidate(self, user_id: int) -> None:
        await self._redis.rename(f"{photo_key(user_id)}:candidate", photo_key(user_id))
        await self._redis.expire(photo_key(user_id), self._photo_ttl_s)

    async def has_avatar(self, user_id: int) -> bool:
        return bool(await self._redis.exists(photo_key(user_id)))

    async def forget_avatar(self, user_id: int) -> None:
        await self._redis.delete(photo_key(user_id), f"{photo_key(user_id)}:candidate")

    async def preferences(self, user_id: int) -> Preferences:
        stored = await self._redis.hgetall(self._prefs(user_id))  # type: ignore[misc]
        voice, language = stored.get(b"voice"), stored.get(b"language")
        return Preferences(
            voice.decode() if voice else None, language.decode() if language else None
        )

    async def set_preference(self, user_id: int, name: str, value: str) -> None:
        await self._redis.hset(self._prefs(user_id), name, value)  # type: ignore[misc]

    @staticmethod
    def _prefs(user_id: int) -> str:
        return f"{KEY_PREFIX}:prefs:{user_id}"


class RenderQueue:
    """Enqueues render jobs and photo checks; job ids come from the request itself."""

    def __init__(self, redis: ArqRedis, blob_ttl_s: int) -> None:
        self._redis = redis
        self._blob_ttl_s = blob_ttl_s

    async def check_photo(
        self, chat_id: int, message_id: int, key: str, timeout: float
    ) -> PhotoCheck:
        job_id = f"check-{job_id_for(chat_id, message_id)}"
        job = await self._redis.enqueue_job(
            CHECK_JOB_NAME, key, _job_id=job_id, _queue_name=CHECK_QUEUE_NAME
        )
        job = job or Job(job_id, self._redis, _queue_name=CHECK_QUEUE_NAME)
        result = await job.result(timeout=timeout, poll_delay=0.05)
        return PhotoCheck.model_validate(result)

    async def store_audio(self, chat_id: int, message_id: int, audio: bytes) -> str:
        key = audio_key(job_id_for(chat_id, message_id))
        await self._redis.set(key, audio, ex=self._blob_ttl_s)
        return key

    async def claim(self, job_id: str, user_id: int) -> str:
        """``new``, ``duplicate`` (this request seen before) or ``busy`` (a job is running)."""
        if not await self._redis.set(request_key(job_id), b"1", nx=True, ex=_DAY):
            return "duplicate"
        if not await self._redis.set(active_job_key(user_id), job_id, nx=True, ex=_ACTIVE_S):
            await self._redis.delete(request_key(job_id))
            return "busy"
        return "new"

    async def submit(self, job: RenderJob) -> int | None:
        """Queue ``job``; the queue position, or None when this request was queued already."""
        queued = await self._redis.enqueue_job(
            JOB_NAME, job.model_dump(), _job_id=job.job_id, _queue_name=QUEUE_NAME
        )
        if queued is None:
            return None
        return int(await self._redis.zcard(QUEUE_NAME))
