"""The arq worker: renders queued notes and sends them back through the Bot API.

Engines load once in ``on_startup``. A job runs its CPU-bound render in a thread so the event
loop keeps the user informed (status edits, chat action). arq runs a job at least once; the
delivery key makes sending happen once: a note is marked ``sending`` before the upload and
``sent`` after it, and a re-run skips what is marked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile
from arq import Retry, create_pool
from arq.connections import ArqRedis
from arq.connections import RedisSettings as ArqRedisSettings
from arq.worker import Worker, func
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from govorun.config import RedisSettings, TelegramSettings
from govorun.quotas import Quotas, QuotaSettings
from govorun.telegram import create_bot
from inference.contract import (
    BLOCKLIST_KEY,
    CHECK_JOB_NAME,
    CHECK_QUEUE_NAME,
    FACE_MATCH_THRESHOLD,
    JOB_NAME,
    QUEUE_NAME,
    WORKERS_KEY,
    PhotoCheck,
    RenderJob,
    daily_counter,
    delivery_key,
    face_distance,
    job_record_key,
    user_ref,
)
from inference.errors import ErrorCode, RenderError
from inference.identity import describe_face
from inference.pipeline import Progress, Renderer
from inference.settings import RenderSettings
from locales import translate

log = logging.getLogger("govorun.worker")

_SENDING_TTL_S = 120  # a crashed upload frees its note for the re-run after this
_SENT_TTL_S = 7 * 24 * 3600
_HEARTBEAT_S = 10
_RECORD_TTL_S = 90 * 24 * 3600
_MAX_RETRY_AFTER_S = 60
_RETRY_JOB_AFTER_S = 30
_CHAT_ACTION_EVERY_S = 4.5  # Telegram shows an action for about 5 s


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKER_", env_file=".env", extra="ignore")

    max_jobs: int = Field(1, ge=1, description="concurrent renders: 1 per GPU; CPU: cores/2")
    poll_delay_s: float = Field(0.05, gt=0)
    keep_result_s: int = Field(60, ge=0)
    max_tries: int = Field(3, ge=1)
    base_timeout_s: float = Field(30.0, gt=0)
    timeout_per_speech_second: float = Field(1.0, ge=0)
    max_timeout_s: float = Field(90.0, gt=0)
    send_timeout_s: float = Field(20.0, gt=0)
    send_attempts: int = Field(3, ge=1)


def function_timeout(settings: WorkerSettings) -> float:
    """arq's hard limit for one run: the longest render plus every send attempt and backoff.

    arq keeps a job's in-progress key for this plus 10 s, so it is also how long a job of a
    killed worker waits before another worker takes it: keep it tight.
    """
    sends = settings.send_attempts * settings.send_timeout_s
    backoff = sum(min(2**attempt, 8) for attempt in range(settings.send_attempts - 1))
    return settings.max_timeout_s + sends + backoff + 2


def job_timeout(settings: WorkerSettings, job: RenderJob) -> float:
    """A timeout that grows with the text: a long series gets longer than a short note."""
    grown = settings.base_timeout_s + settings.timeout_per_speech_second * job.estimated_seconds
    return min(grown, settings.max_timeout_s)


class ChatProgress(Progress):
    """Turns render stages into status-message edits, from the render thread to the loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        notify: Callable[[str], Coroutine[Any, Any, None]],
    ) -> None:
        super().__init__()
        self._loop = loop
        self._notify = notify

    def stage(self, name: str) -> None:
        asyncio.run_coroutine_threadsafe(self._notify(name), self._loop)


class StatusMessage:
    """The bot's "queued" message, edited through the stages; never edited twice the same.

    A job makes at most five edits (speech, animation, encoding, sending, done), well inside
    Telegram's per-chat limits, so edits are not throttled further.

    Stage edits come from the render thread and may lag; once a final state is shown (a
    forced edit), late stage edits are dropped so they cannot overwrite it.
    """

    def __init__(self, bot: Bot, job: RenderJob) -> None:
        self._bot, self._job = bot, job
        self._shown = ""
        self._final = False
        self._lock = asyncio.Lock()

    async def show(self, key: str, *, force: bool = False, **params: object) -> None:
        text = translate(key, self._job.language, **params)
        async with self._lock:
            if text == self._shown or (self._final and not force):
                return
            self._final = self._final or force
            self._shown = text
            # A status edit is a courtesy: a deleted message or a rate limit must not fail the job.
            with contextlib.suppress(
                TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
            ):
                await self._bot.edit_message_text(
                    text=text, chat_id=self._job.chat_id, message_id=self._job.status_message_id
                )


async def render_note(ctx: dict[str, Any], payload: dict[str, Any]) -> str:
    job = RenderJob.model_validate(payload)
    redis: ArqRedis = ctx["redis"]
    status = StatusMessage(ctx["bot"], job)
    quotas = Quotas(redis, QuotaSettings())
    await quotas.touch(job.user_id, job.job_id)  # queue wait does not count against the job
    try:
        outcome = await _run(ctx, job, status)
    except (Retry, asyncio.CancelledError):
        raise  # arq runs the job again; the user's job stays active meanwhile
    except Exception:
        log.exception("job %s failed", job.job_id)
        await status.show("status.failed", force=True, ref=job.job_id[-8:])
        outcome = "failed"
    if outcome in ("failed", "timed out"):
        await redis.incr(daily_counter("failed"))
    # Whatever kept the note from the user gives them their quota back.
    delivered = outcome.startswith("sent") or outcome == "already delivered"
    await quotas.release(job.user_id, job.job_id, refund=not delivered)
    return outcome


async def _run(ctx: dict[str, Any], job: RenderJob, status: StatusMessage) -> str:
    redis: ArqRedis = ctx["redis"]
    if await redis.get(delivery_key(job.job_id)) == b"sent":
        return "already delivered"
    photo = await redis.get(job.photo_key)
    audio = await redis.get(job.audio_key) if job.audio_key else None
    if photo is None or (job.audio_key and audio is None):
        await status.show("status.expired", force=True)
        return "inputs expired"
    return await _render_and_send(ctx, job, status, photo, audio)


async def _render_and_send(
    ctx: dict[str, Any], job: RenderJob, status: StatusMessage, photo: bytes, audio: bytes | None
) -> str:
    renderer: Renderer = ctx["renderer"]
    settings: WorkerSettings = ctx["settings"]
    loop = asyncio.get_running_loop()

    async def on_stage(name: str) -> None:
        await status.show(f"status.{name}")

    progress = ChatProgress(loop, on_stage)
    action = asyncio.create_task(_keep_chat_action(ctx["bot"], job.chat_id))
    with tempfile.TemporaryDirectory(prefix="govorun-job-") as folder:
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(
                    renderer.render,
                    photo,
                    Path(folder) / "note.mp4",
                    text=job.text,
                    audio=audio,
                    voice=job.voice,
                    progress=progress,
                    job_id=job.job_id,
                    mark_label="AI" if job.language == "en" else "ИИ",
                ),
                timeout=job_timeout(settings, job),
            )
        except RenderError as error:
            message = translate(f"error.{error.code.value}", job.language, **error.params)
            await status.show("status.refused", force=True, message=message)
            return f"refused: {error.code.value}"
        except TimeoutError:
            progress.cancelled.set()
            await status.show("status.timeout", force=True, ref=job.job_id[-8:])
            return "timed out"
        except asyncio.CancelledError:
            progress.cancelled.set()  # the worker is stopping: arq runs the job again
            raise
        finally:
            action.cancel()
        await status.show("status.sending", force=True)
        for index, note in enumerate(result.notes):
            if not await _deliver_once(ctx, job, index, note.path, note.duration):
                return "blocked by the user"
    await ctx["redis"].set(delivery_key(job.job_id), b"sent", ex=_SENT_TTL_S)
    await _record_job(ctx["redis"], job, result.engines, len(result.notes))
    await status.show("status.done", force=True)
    return f"sent {len(result.notes)}"


async def _record_job(
    redis: ArqRedis, job: RenderJob, engines: dict[str, str], notes: int
) -> None:
    """What `govorun verify` can tell about a note: when, how, for whom (hashed)."""
    record = {
        "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "engines": ", ".join(f"{k}={v}" for k, v in engines.items()),
        "notes": str(notes),
        "user": user_ref(job.user_id),
    }
    await redis.hset(job_record_key(job.job_id), mapping=record)  # type: ignore[misc]
    await redis.expire(job_record_key(job.job_id), _RECORD_TTL_S)


async def _deliver_once(
    ctx: dict[str, Any], job: RenderJob, index: int, path: Path, duration: float
) -> bool:
    """Send note ``index`` unless it was sent before; False when the user blocked the bot."""
    redis: ArqRedis = ctx["redis"]
    settings: WorkerSettings = ctx["settings"]
    key = f"{delivery_key(job.job_id)}:{index}"
    if not await redis.set(key, b"sending", nx=True, ex=_SENDING_TTL_S):
        log.info("note %s/%d already delivered or being delivered", job.job_id, index)
        return True
    video = BufferedInputFile(path.read_bytes(), filename=f"note-{index + 1}.mp4")
    size = ctx["renderer"].settings.size
    try:
        await _with_retries(
            lambda: ctx["bot"].send_video_note(
                job.chat_id, video, duration=round(duration), length=size
            ),
            attempts=settings.send_attempts,
            timeout=settings.send_timeout_s,
        )
    except TelegramForbiddenError:
        await redis.set(key, b"sent", ex=_SENT_TTL_S)  # blocked: nobody to deliver to
        log.info("chat of job %s blocked the bot; delivery dropped", job.job_id)
        return False
    except (TelegramRetryAfter, TelegramNetworkError, TelegramServerError, TimeoutError) as error:
        await redis.delete(key)
        raise Retry(defer=_RETRY_JOB_AFTER_S) from error  # the whole job, later
    await redis.set(key, b"sent", ex=_SENT_TTL_S)
    return True


async def _with_retries(send: Callable[[], Awaitable[Any]], attempts: int, timeout: float) -> Any:
    """Transient Bot API failures are retried with backoff, honouring 429's retry_after.

    A timed-out upload may still have reached Telegram; that rare duplicate is the price of
    not losing notes, and a re-run never resends a note marked sent.
    """
    for attempt in range(attempts):
        try:
            return await asyncio.wait_for(send(), timeout)
        except TelegramRetryAfter as error:
            if attempt + 1 == attempts:
                raise
            await asyncio.sleep(min(error.retry_after, _MAX_RETRY_AFTER_S))
        except (TelegramNetworkError, TelegramServerError, TimeoutError):
            if attempt + 1 == attempts:
                raise
            await asyncio.sleep(min(2**attempt, 8))
    raise AssertionError("unreachable")


async def _keep_chat_action(bot: Bot, chat_id: int) -> None:
    with contextlib.suppress(Exception):
        while True:
            await bot.send_chat_action(chat_id, ChatAction.RECORD_VIDEO_NOTE)
            await asyncio.sleep(_CHAT_ACTION_EVERY_S)


async def check_photo(ctx: dict[str, Any], key: str) -> dict[str, Any]:
    """Find the one face of a stored photo (or verification video) and describe it.

    The bot's answer to a new photo: refusals as codes, a blocked face refused for everyone.
    """
    redis: ArqRedis = ctx["redis"]
    renderer: Renderer = ctx["renderer"]
    data = await redis.get(key)
    if data is None:
        return PhotoCheck(ok=False, error="image_unreadable").model_dump()
    try:
        embedding = await asyncio.to_thread(
            describe_face,
            renderer.analyzer,
            data,
            max_pixels=renderer.settings.max_image_pixels,
        )
    except RenderError as error:
        return PhotoCheck(ok=False, error=error.code.value, params=error.params).model_dump()
    blocked = await redis.hvals(BLOCKLIST_KEY)  # type: ignore[misc]
    if any(face_distance(embedding, json.loads(b)) <= FACE_MATCH_THRESHOLD for b in blocked):
        # The descriptor still comes back: an admin unblocking a face needs it.
        blocked_check = PhotoCheck(
            ok=False, error=ErrorCode.FACE_BLOCKED.value, embedding=embedding
        )
        return blocked_check.model_dump()
    return PhotoCheck(ok=True, embedding=embedding).model_dump()


async def load_engines(settings: WorkerSettings | None = None) -> dict[str, Any]:
    """Everything a job needs, loaded once per process and shared by both queues."""
    renderer = await asyncio.to_thread(Renderer, RenderSettings())
    log.info("worker ready: engines %s", renderer.engines)
    return {
        "renderer": renderer,
        "bot": create_bot(TelegramSettings()),
        "settings": settings or WorkerSettings(),
    }


async def _heartbeat(renders: Worker) -> None:
    """Announce this worker and its engines, for /stats; the key lapses if the process dies."""
    renderer: Renderer = renders.ctx["renderer"]
    key = f"{WORKERS_KEY}:{socket.gethostname()}-{os.getpid()}"
    info = json.dumps({"engines": renderer.engines, "max_jobs": renders.max_jobs})
    redis = await create_pool(renders.redis_settings)
    try:
        while True:
            await redis.set(key, info, ex=_HEARTBEAT_S * 3)
            await asyncio.sleep(_HEARTBEAT_S)
    finally:
        await redis.delete(key)
        await redis.aclose()


def create_workers(
    engines: dict[str, Any], redis: RedisSettings | None = None
) -> tuple[Worker, Worker]:
    """The render worker and the photo-check worker, sharing one set of loaded engines."""
    settings: WorkerSettings = engines["settings"]
    redis_settings = ArqRedisSettings.from_dsn((redis or RedisSettings()).redis_url)
    common: dict[str, Any] = {
        "redis_settings": redis_settings,
        "poll_delay": settings.poll_delay_s,
        "keep_result": settings.keep_result_s,
        "handle_signals": False,
    }
    renders = Worker(
        functions=[func(render_note, name=JOB_NAME, timeout=function_timeout(settings))],
        queue_name=QUEUE_NAME,
        max_jobs=settings.max_jobs,
        max_tries=settings.max_tries,
        ctx=dict(engines),
        **common,
    )
    checks = Worker(
        functions=[func(check_photo, name=CHECK_JOB_NAME, timeout=30)],
        queue_name=CHECK_QUEUE_NAME,
        max_jobs=4,
        max_tries=1,
        ctx=dict(engines),
        **common,
    )
    return renders, checks


async def run_workers(renders: Worker, checks: Worker, stop: asyncio.Event) -> None:
    """Run both until ``stop`` is set; a job cut short by stopping is queued again by arq."""
    tasks = [
        asyncio.create_task(renders.main()),
        asyncio.create_task(checks.main()),
        asyncio.create_task(_heartbeat(renders)),
    ]
    await stop.wait()
    await asyncio.gather(renders.close(), checks.close())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await renders.ctx["bot"].session.close()
