"""What the handlers call: avatars, preferences and the render queue, all state in Redis.

Handlers never touch Redis or arq themselves; every replica of the bot shares this state.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from arq.connections import ArqRedis
from arq.jobs import deserialize_result

from bot.workers import any_worker_alive
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
)
from core.quotas import Decision, Quotas

_DAY = 24 * 3600
_BLOB_S = 10 * 60
_CHECK_POLL_S = 0.05
_LOOK_AROUND_S = 1.0  # how often a waiting check asks whether any worker is alive
_CHECK_MARK_EXTRA_S = 60  # a bot that died mid-check leaves its mark this much longer
# A text for the photo being checked is kept only while the check runs (atomically, so a text
# arriving as the check ends is either kept for it or sees the checked photo).
_KEEP_IF_CHECKING = """
if redis.call('exists', KEYS[1]) == 0 then return 0 end
redis.call('hset', KEYS[1], 'text', ARGV[1], 'message_id', ARGV[2])
return 1
"""
_UNAVAILABLE = PhotoCheck(ok=False, error="check_unavailable")

# KEYS: candidate, meta. ARGV: meta, ttl_s. The meta only beside its photo: a check that ends
# after /delete must not leave a description of a photo that is gone.
_DESCRIBE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return 1
"""

# KEYS: render queue, check queue, job, result, in-progress, erased. ARGV: job id, erased ttl_s.
# Returns QUEUED (taken out of its queue before it started), RUNNING (its result will be
# dropped when it ends, see worker.erasure) or 0 (ended: its result, if any, is deleted).
_FORGET_JOB = """
local queued = redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3], KEYS[4])
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('SET', KEYS[6], '1', 'EX', ARGV[2])
  return 2
end
if queued > 0 then return 1 end
return 0
"""
QUEUED, RUNNING = 1, 2


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
        self._describe = redis.register_script(_DESCRIBE)

    async def save_candidate(self, user_id: int, photo: bytes) -> str:
        """Keep a photo for checking; it becomes the avatar only after a face and consent."""
        key = keys.PHOTO_CANDIDATE(user_id=user_id)
        await self._redis.set(key, photo, ex=self._photo_ttl_s)
        return key

    async def describe_candidate(self, user_id: int, candidate: Candidate) -> bool:
        """Note what the check found; False when the photo is gone (``/delete`` meanwhile)."""
        meta = json.dumps(
            {
                "sha256": candidate.sha256,
                "embedding": candidate.embedding,
                "caption": candidate.caption,
                "message_id": candidate.message_id,
            }
        )
        names = [keys.PHOTO_CANDIDATE(user_id=user_id), keys.PHOTO_CANDIDATE_META(user_id=user_id)]
        return bool(await self._describe(keys=names, args=[meta, self._photo_ttl_s]))

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

    async def begin_check(self, user_id: int, timeout_s: float) -> None:
        """A photo of this user is being checked: a text sent meanwhile waits for it."""
        key = keys.PHOTO_CHECK(user_id=user_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, "checking", "1")
            pipe.expire(key, int(timeout_s) + _CHECK_MARK_EXTRA_S)
            await pipe.execute()

    async def keep_text(self, user_id: int, text: str, message_id: int) -> bool:
        """Keep a text for the photo being checked; False when no photo is being checked."""
        key = keys.PHOTO_CHECK(user_id=user_id)
        kept = self._redis.eval(_KEEP_IF_CHECKING, 1, key, text, str(message_id))
        return bool(await kept)  # type: ignore[misc]

    async def end_check(self, user_id: int) -> tuple[str, int] | None:
        """The check is over; the text kept for it and its message id, if one came."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.PHOTO_CHECK(user_id=user_id))
            pipe.delete(keys.PHOTO_CHECK(user_id=user_id))
            kept, _ = await pipe.execute()
        if b"text" not in kept:
            return None
        return kept[b"text"].decode(), int(kept[b"message_id"])

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

        Run after :meth:`RenderQueue.forget`, which needs the user's job index. A running
        job's marker stays so the job can finish; the audit log keeps only hashes.
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
        self._forget_job = redis.register_script(_FORGET_JOB)

    async def check_photo(
        self,
        user_id: int,
        job_id: str,
        key: str,
        timeout: float,
        on_moved: Callable[[], Awaitable[None]] | None = None,
    ) -> PhotoCheck:
        """The face check of the photo under ``key``; its result (a face descriptor) is read
        once and deleted.

        A check whose worker dies is run again by another worker (the worker's lease on it
        lapses, see worker.liveness), so the wait goes on while any worker is alive;
        ``on_moved`` is awaited once when the check has moved. ``check_unavailable`` comes
        when no worker is alive (a few seconds after the last one stopped beating), when
        every try crashed, or after ``timeout``.
        """
        check_id = f"check-{job_id}"
        await self._index(user_id, check_id)
        await self._redis.enqueue_job(
            CHECK_JOB_NAME, key, _job_id=check_id, _queue_name=CHECK_QUEUE_NAME
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        look_around, moved = started + _LOOK_AROUND_S, False
        while (now := loop.time()) - started < timeout:
            # The try counter with the result, every poll: a second try (the first one's
            # worker died) is seen before it can answer, so the user hears that it moved.
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.get(keys.ARQ_RETRY(job_id=check_id))
                pipe.get(keys.ARQ_RESULT(job_id=check_id))
                tries, stored = await pipe.execute()
            if not moved and on_moved is not None and int(tries or 0) > 1:
                moved = True
                await on_moved()
            if stored is not None:
                await self._redis.delete(keys.ARQ_RESULT(job_id=check_id))
                result = deserialize_result(stored)
                return PhotoCheck.model_validate(result.result) if result.success else _UNAVAILABLE
            if now >= look_around:
                look_around = now + _LOOK_AROUND_S
                if not await any_worker_alive(self._redis):
                    return _UNAVAILABLE
            await asyncio.sleep(_CHECK_POLL_S)
        return _UNAVAILABLE  # workers are alive but none answered in time: swamped

    async def store_blob(self, user_id: int, job_id: str, data: bytes) -> str:
        key = keys.BLOB(user_id=user_id, job_id=job_id)
        await self._redis.set(key, data, ex=_BLOB_S)
        return key

    async def store_audio(self, user_id: int, job_id: str, audio: bytes) -> str:
        key = keys.AUDIO(user_id=user_id, job_id=job_id)
        await self._redis.set(key, audio, ex=self._blob_ttl_s)
        return key

    async def drop(self, key: str) -> bool:
        """Delete a stored blob; False when it was gone already (``/delete`` meanwhile)."""
        return bool(await self._redis.delete(key))

    async def forget(self, user_id: int) -> int:
        """``/delete``'s part in the queue: the user's queued jobs are cancelled (their quota
        given back), the arguments and results of all their jobs deleted. A running job
        finishes, and its result is dropped when it ends; how many were running.
        """
        running = 0
        for member in await self._redis.smembers(keys.USER_JOBS(user_id=user_id)):  # type: ignore[misc]
            job_id = member.decode()
            names = [
                QUEUE_NAME,
                CHECK_QUEUE_NAME,
                keys.ARQ_JOB(job_id=job_id),
                keys.ARQ_RESULT(job_id=job_id),
                keys.ARQ_IN_PROGRESS(job_id=job_id),
                keys.ERASED_JOB(job_id=job_id),
            ]
            state = await self._forget_job(keys=names, args=[job_id, _DAY])
            if state == QUEUED:
                await self.release(user_id, job_id)
            running += state == RUNNING
        return running

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
        await self._index(job.user_id, job.job_id)
        queued = await self._redis.enqueue_job(
            JOB_NAME, job.model_dump(), _job_id=job.job_id, _queue_name=QUEUE_NAME
        )
        if queued is None:
            return None
        await self._redis.incr(keys.DAILY_COUNTER(name="jobs", day=keys.today()))
        return int(await self._redis.zcard(QUEUE_NAME))

    async def _index(self, user_id: int, job_id: str) -> None:
        """Remember the job as the user's, for :meth:`forget`."""
        index = keys.USER_JOBS(user_id=user_id)
        await self._redis.sadd(index, job_id)  # type: ignore[misc]
        await self._redis.expire(index, _DAY)
