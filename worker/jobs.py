"""The two arq functions: render a note and send it, and check a new photo's face."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from arq import Retry

from core import keys
from core.contract import (
    FACE_MATCH_THRESHOLD,
    JobOutcome,
    PhotoCheck,
    RenderJob,
    face_distance,
)
from core.metrics import count_refusal
from core.quotas import Quotas
from inference.errors import ErrorCode, RenderError
from inference.identity import describe_face
from locales import translate
from worker.context import JobContext
from worker.delivery import SENT_TTL_S, deliver_once, record_job
from worker.report import (
    job_ended,
    observe_queue_wait,
    stage_done,
    stages_done,
)
from worker.settings import job_timeout
from worker.status import ChatProgress, StatusMessage, keep_chat_action

log = logging.getLogger("govorun.worker")


async def render_note(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """Render a queued note and send it; the :class:`JobOutcome` (as a dict, for arq)."""
    context = JobContext.of(ctx)
    job = RenderJob.model_validate(payload)
    started = time.perf_counter()
    observe_queue_wait(context)
    status = StatusMessage(context.services.bot, job)
    quotas = Quotas(context.redis, context.services.quotas)
    await quotas.touch(job.user_id, job.job_id)  # queue wait does not count against the job
    try:
        outcome = await _run(context, job, status)
    except (Retry, asyncio.CancelledError) as interruption:
        # arq runs the job again; the user's job stays active meanwhile
        kind = "retry" if isinstance(interruption, Retry) else "cancelled"
        job_ended(job.job_id, f"{kind}, arq runs it again", kind, time.perf_counter() - started)
        raise
    except Exception:
        log.exception("job %s failed", job.job_id)
        await status.show("status.failed", force=True, ref=job.job_id[-8:])
        outcome = JobOutcome(kind="failed")
    if outcome.kind in ("failed", "timeout"):
        await context.redis.incr(keys.DAILY_COUNTER(name="failed", day=keys.today()))
    # Whatever kept the note from the user gives them their quota back.
    await quotas.release(job.user_id, job.job_id, refund=not outcome.delivered)
    job_ended(job.job_id, str(outcome), outcome.kind, time.perf_counter() - started)
    return outcome.model_dump()


async def _run(ctx: JobContext, job: RenderJob, status: StatusMessage) -> JobOutcome:
    if await ctx.redis.get(keys.DELIVERED(job_id=job.job_id)) == b"sent":
        return JobOutcome(kind="duplicate")
    photo = await ctx.redis.get(job.photo_key)
    audio = await ctx.redis.get(job.audio_key) if job.audio_key else None
    if photo is None or (job.audio_key and audio is None):
        await status.show("status.expired", force=True)
        return JobOutcome(kind="expired")
    return await _render_and_send(ctx, job, status, photo, audio)


async def _render_and_send(
    ctx: JobContext, job: RenderJob, status: StatusMessage, photo: bytes, audio: bytes | None
) -> JobOutcome:
    renderer, settings = ctx.services.renderer, ctx.services.settings
    loop = asyncio.get_running_loop()

    async def on_stage(name: str) -> None:
        await status.show(f"status.{name}")

    progress = ChatProgress(loop, on_stage)
    action = asyncio.create_task(keep_chat_action(ctx.services.bot, job.chat_id))
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
                    mimic=job.mimic,
                    look=job.look,
                    progress=progress,
                    job_id=job.job_id,
                    mark_label="AI" if job.language == "en" else "ИИ",
                ),
                timeout=job_timeout(settings, job),
            )
        except RenderError as error:
            count_refusal(error.code.value)
            message = translate(f"error.{error.code.value}", job.language, **error.params)
            await status.show("status.refused", force=True, message=message)
            return JobOutcome(kind="refused", refusal=error.code.value)
        except TimeoutError:
            progress.cancelled.set()
            await status.show("status.timeout", force=True, ref=job.job_id[-8:])
            return JobOutcome(kind="timeout")
        except asyncio.CancelledError:
            progress.cancelled.set()  # the worker is stopping: arq runs the job again
            raise
        finally:
            action.cancel()
        stages_done(job.job_id, result)
        await status.show("status.sending", force=True)
        sending = time.perf_counter()
        for index, note in enumerate(result.notes):
            if not await deliver_once(ctx, job, index, note.path, note.duration):
                return JobOutcome(kind="blocked")
        stage_done(job.job_id, "send", time.perf_counter() - sending)
    await ctx.redis.set(keys.DELIVERED(job_id=job.job_id), b"sent", ex=SENT_TTL_S)
    await record_job(ctx.redis, job, result.engines, len(result.notes))
    await status.show("status.done", force=True)
    return JobOutcome(kind="sent", notes=len(result.notes))


async def check_photo(ctx: dict[str, Any], key: str) -> dict[str, Any]:
    """Find the one face of a stored photo (or verification video) and describe it.

    The bot's answer to a new photo: refusals as codes, a blocked face refused for everyone.
    """
    context = JobContext.of(ctx)
    renderer = context.services.renderer
    data = await context.redis.get(key)
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
    blocked = await context.redis.hvals(keys.BLOCKLIST())  # type: ignore[misc]
    if any(face_distance(embedding, json.loads(b)) <= FACE_MATCH_THRESHOLD for b in blocked):
        # The descriptor still comes back: an admin unblocking a face needs it.
        blocked_check = PhotoCheck(
            ok=False, error=ErrorCode.FACE_BLOCKED.value, embedding=embedding
        )
        return blocked_check.model_dump()
    return PhotoCheck(ok=True, embedding=embedding).model_dump()
