"""What the handlers call: avatars, preferences and the render queue, all state in Redis.

Handlers never touch Redis or arq themselves; every replica of the bot shares this state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from arq.connections import ArqRedis
from arq.jobs import Job

from govorun.quotas import Decision, Quotas
from inference.contract import (
    CHECK_JOB_NAME,
    CHECK_QUEUE_NAME,
    JOB_NAME,
    KEY_PREFIX,
    LOOKS,
    MIMIC_LEVELS,
    QUEUE_NAME,
    LookName,
    MimicLevel,
    PhotoCheck,
    RenderJob,
    audio_key,
    daily_counter,
    job_id_for,
    photo_key,
    request_key,
)

_DAY = 24 * 3600
_BLOB_S = 10 * 60


@dataclass(frozen=True)
class Preferences:
    voice: str | None
    language: str | None
    mimic: MimicLevel = "calm"
    look: LookName = "photo"


@dataclass(frozen=True)
class Candidate:
    """A checked photo waiting for the user's consent (the bytes sit under its own key)."""

    sha256: str
    embedding: list[float]
    caption: str | None
    message_id: int


class UserStore:
    """Per-user state: the avatar photo and its candidate (with TTLs) and preferences."""

    def __init__(self, redis: ArqRedis, photo_ttl_s: int) -> None:
        self._redis = redis
        self._photo_ttl_s = photo_ttl_s

    async def save_candidate(self, user_id: int, photo: bytes) -> str:
        """Keep a photo for checking; it becomes the avatar only after a face and consent."""
        key = self._candidate(user_id)
        await self._redis.set(key, photo, ex=self._photo_ttl_s)
        return key

    async def describe_candidate(self, user_id: int, candidate: Candidate) -> None:
        meta = json.dumps(
            {
                "sha256": candidate.sha256,
                "embedding": candidate.embedding,
                "caption": candidate.caption,
                "message_id": candidate.message_id,
            }
        )
        await self._redis.set(f"{self._candidate(user_id)}:meta", meta, ex=self._photo_ttl_s)

    async def candidate(self, user_id: int) -> Candidate | None:
        meta = await self._redis.get(f"{self._candidate(user_id)}:meta")
        if meta is None or not await self._redis.exists(self._candidate(user_id)):
            return None
        return Candidate(**json.loads(meta))

    async def promote_candidate(self, user_id: int, *, by_permission: bool = False) -> None:
        """The candidate becomes the avatar; ``by_permission``: it is another person's face."""
        await self._redis.rename(self._candidate(user_id), photo_key(user_id))
        await self._redis.expire(photo_key(user_id), self._photo_ttl_s)
        await self._redis.delete(f"{self._candidate(user_id)}:meta")
        if by_permission:
            await self._redis.set(self._by_permission(user_id), b"1", ex=self._photo_ttl_s)
        else:
            await self._redis.delete(self._by_permission(user_id))

    async def avatar_by_permission(self, user_id: int) -> bool:
        """The avatar was accepted with "I have permission" (someone else's face)."""
        return bool(await self._redis.exists(self._by_permission(user_id)))

    async def forget_candidate(self, user_id: int) -> None:
        await self._redis.delete(self._candidate(user_id), f"{self._candidate(user_id)}:meta")

    async def has_avatar(self, user_id: int) -> bool:
        return bool(await self._redis.exists(photo_key(user_id)))

    async def forget_avatar(self, user_id: int) -> None:
        await self._redis.delete(photo_key(user_id), self._by_permission(user_id))
        await self.forget_candidate(user_id)

    async def preferences(self, user_id: int) -> Preferences:
        stored = await self._redis.hgetall(self._prefs(user_id))  # type: ignore[misc]
        voice, language = stored.get(b"voice"), stored.get(b"language")
        chosen = (m for m in MIMIC_LEVELS if stored.get(b"mimic") == m.encode())
        mimic: MimicLevel = next(chosen, "calm")
        drawn = (name for name in LOOKS if stored.get(b"look") == name.encode())
        look: LookName = next(drawn, "photo")
        return Preferences(
            voice.decode() if voice else None,
            language.decode() if language else None,
            mimic,
            look,
        )

    async def set_preference(self, user_id: int, name: str, value: str) -> None:
        await self._redis.hset(self._prefs(user_id), name, value)  # type: ignore[misc]

    async def delete_everything(self, user_id: int) -> int:
        """Every key naming this user (ours and the FSM's); the audit log keeps only hashes.

        Keys are matched on the id as a whole ``:``-separated part, so user 12 never takes
        user 123's keys with it.
        """
        deleted = 0
        for pattern in (f"*:{user_id}", f"*:{user_id}:*"):
            async for key in self._redis.scan_iter(match=pattern, count=500):
                deleted += int(await self._redis.delete(key))
        return deleted

    @staticmethod
    def _candidate(user_id: int) -> str:
        return f"{photo_key(user_id)}:candidate"

    @staticmethod
    def _by_permission(user_id: int) -> str:
        return f"{photo_key(user_id)}:permission"

    @staticmethod
    def _prefs(user_id: int) -> str:
        return f"{KEY_PREFIX}:prefs:{user_id}"


class RenderQueue:
    """Enqueues render jobs and photo checks; job ids come from the request itself."""

    def __init__(self, redis: ArqRedis, quotas: Quotas, blob_ttl_s: int) -> None:
        self._redis = redis
        self._quotas = quotas
        self._blob_ttl_s = blob_ttl_s

    async def check_photo(
        self, chat_id: int, message_id: int, key: str, timeout: float
    ) -> PhotoCheck:
        job_id = f"check-{job_id_for(chat_id, message_id)}"
        job = await self._redis.enqueue_job(
            CHECK_JOB_NAME, key, _job_id=job_id, _queue_name=CHECK_QUEUE_NAME
        )
        job = job or Job(job_id, self._redis, _queue_name=CHECK_QUEUE_NAME)
        try:
            result = await job.result(timeout=timeout, poll_delay=0.05)
        except TimeoutError:
            # No worker answered in time (all down or swamped): say so instead of waiting.
            return PhotoCheck(ok=False, error="check_unavailable")
        return PhotoCheck.model_validate(result)

    async def store_blob(self, chat_id: int, message_id: int, data: bytes) -> str:
        key = f"{KEY_PREFIX}:blob:{job_id_for(chat_id, message_id)}"
        await self._redis.set(key, data, ex=_BLOB_S)
        return key

    async def store_audio(self, chat_id: int, message_id: int, audio: bytes) -> str:
        key = audio_key(job_id_for(chat_id, message_id))
        await self._redis.set(key, audio, ex=self._blob_ttl_s)
        return key

    async def claim(self, job_id: str, user_id: int) -> Decision | None:
        """Admit a request (quotas, one active job); None when this request was seen before."""
        if not await self._redis.set(request_key(job_id), b"1", nx=True, ex=_DAY):
            return None
        decision = await self._quotas.acquire(user_id, job_id)
        if not decision.allowed:
            await self._redis.delete(request_key(job_id))
        return decision

    async def release(self, user_id: int, job_id: str) -> None:
        await self._quotas.release(user_id, job_id, refund=True)
        await self._redis.delete(request_key(job_id))

    async def submit(self, job: RenderJob) -> int | None:
        """Queue ``job``; the queue position, or None when this request was queued already."""
        queued = await self._redis.enqueue_job(
            JOB_NAME, job.model_dump(), _job_id=job.job_id, _queue_name=QUEUE_NAME
        )
        if queued is None:
            return None
        await self._redis.incr(daily_counter("jobs"))
        return int(await self._redis.zcard(QUEUE_NAME))
