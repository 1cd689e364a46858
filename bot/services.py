"""What the handlers call: avatars, preferences and the render queue, all state in Redis.

Handlers never touch Redis or arq themselves; every replica of the bot shares this state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from arq.connections import ArqRedis
from arq.jobs import Job

from core import keys
from core.contract import (
    CHECK_JOB_NAME,
    CHECK_QUEUE_NAME,
    JOB_NAME,
    LOOKS,
    MIMIC_LEVELS,
    QUEUE_NAME,
    LookName,
    MimicLevel,
    PhotoCheck,
    RenderJob,
    job_id_for,
)
from core.quotas import Decision, Quotas

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
        key = keys.PHOTO_CANDIDATE(user_id=user_id)
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
        meta_key = keys.PHOTO_CANDIDATE_META(user_id=user_id)
        await self._redis.set(meta_key, meta, ex=self._photo_ttl_s)

    async def candidate(self, user_id: int) -> Candidate | None:
        meta = await self._redis.get(keys.PHOTO_CANDIDATE_META(user_id=user_id))
        if meta is None or not await self._redis.exists(keys.PHOTO_CANDIDATE(user_id=user_id)):
            return None
        return Candidate(**json.loads(meta))

    async def promote_candidate(self, user_id: int, *, by_permission: bool = False) -> None:
        """The candidate becomes the avatar; ``by_permission``: it is another person's face."""
        photo, flag = keys.PHOTO(user_id=user_id), keys.PHOTO_BY_PERMISSION(user_id=user_id)
        await self._redis.rename(keys.PHOTO_CANDIDATE(user_id=user_id), photo)
        await self._redis.expire(photo, self._photo_ttl_s)
        await self._redis.delete(keys.PHOTO_CANDIDATE_META(user_id=user_id))
        if by_permission:
            await self._redis.set(flag, b"1", ex=self._photo_ttl_s)
        else:
            await self._redis.delete(flag)

    async def avatar_by_permission(self, user_id: int) -> bool:
        """The avatar was accepted with "I have permission" (someone else's face)."""
        return bool(await self._redis.exists(keys.PHOTO_BY_PERMISSION(user_id=user_id)))

    async def forget_candidate(self, user_id: int) -> None:
        await self._redis.delete(
            keys.PHOTO_CANDIDATE(user_id=user_id), keys.PHOTO_CANDIDATE_META(user_id=user_id)
        )

    async def has_avatar(self, user_id: int) -> bool:
        return bool(await self._redis.exists(keys.PHOTO(user_id=user_id)))

    async def forget_avatar(self, user_id: int) -> None:
        await self._redis.delete(
            keys.PHOTO(user_id=user_id), keys.PHOTO_BY_PERMISSION(user_id=user_id)
        )
        await self.forget_candidate(user_id)

    async def preferences(self, user_id: int) -> Preferences:
        stored = await self._redis.hgetall(keys.PREFERENCES(user_id=user_id))  # type: ignore[misc]
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
        await self._redis.hset(keys.PREFERENCES(user_id=user_id), name, value)  # type: ignore[misc]

    async def delete_everything(self, user_id: int) -> int:
        """Every key ``core.keys`` declares erasable for this user (ours and the FSM's).

        A running job's marker stays so the job can finish; the audit log keeps only hashes.
        """
        deleted = 0
        for pattern in keys.user_keys(user_id):
            async for key in self._redis.scan_iter(match=pattern, count=500):
                deleted += int(await self._redis.delete(key))
        return deleted


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
        key = keys.BLOB(job_id=job_id_for(chat_id, message_id))
        await self._redis.set(key, data, ex=_BLOB_S)
        return key

    async def store_audio(self, chat_id: int, message_id: int, audio: bytes) -> str:
        key = keys.AUDIO(job_id=job_id_for(chat_id, message_id))
        await self._redis.set(key, audio, ex=self._blob_ttl_s)
        return key

    async def claim(self, job_id: str, user_id: int) -> Decision | None:
        """Admit a request (quotas, one active job); None when this request was seen before."""
        if not await self._redis.set(keys.REQUEST(job_id=job_id), b"1", nx=True, ex=_DAY):
            return None
        decision = await self._quotas.acquire(user_id, job_id)
        if not decision.allowed:
            await self._redis.delete(keys.REQUEST(job_id=job_id))
        return decision

    async def release(self, user_id: int, job_id: str) -> None:
        await self._quotas.release(user_id, job_id, refund=True)
        await self._redis.delete(keys.REQUEST(job_id=job_id))

    async def submit(self, job: RenderJob) -> int | None:
        """Queue ``job``; the queue position, or None when this request was queued already."""
        queued = await self._redis.enqueue_job(
            JOB_NAME, job.model_dump(), _job_id=job.job_id, _queue_name=QUEUE_NAME
        )
        if queued is None:
            return None
        await self._redis.incr(keys.DAILY_COUNTER(name="jobs", day=keys.today()))
        return int(await self._redis.zcard(QUEUE_NAME))
