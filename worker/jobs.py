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
from worker.liveness import hand_back, take_over
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
    name = context.services.name
    if (previous := await take_over(context.redis, job.job_id, name)) is not None:
        log.info("job %s: worker %s stopped; %s took the job over", job.job_id, previous, name)
        await status.show("status.moved")  # moved, not failed: the user keeps waiting
    try:
        outcome = await _run(context, job, status)
    except Retry:
        await hand_back(context.redis, job.job_id, name)  # the same job, later, maybe here
        job_ended(job.job_id, "retry, arq runs it again", "retry", time.perf_counter() - started)
        raise
    except asyncio.CancelledError:
        # The worker is stopping: arq runs the job again, and the record left behind tells
        # the next try that the job moved. The user's job stays active meanwhile.
        job_ended(job.job_id, "cancelled, arq runs it again", "cancelled", 0.0)
        raise
    except Exception:
        log.exception("job %s failed", job.job_id)
        await status.show("status.failed", force=True, ref=job.job_id[-8:])
        outcome = JobOutcome(kind="failed")
    await hand_back(context.redis, job.job_id, name)
    if outcome.kind in ("failed", "timeout"):
        await context.redis.incr(keys.DAILY_COUNTER(name="failed", day=keys.today()))
    # Whatever kept the note from the user gives them their quota back.
    await quotas.release(job.user_id, job.job_id, refund=not outcome.delivered)
    job_ended(job.job_id, str(outcome), outcome.kind, time.perf_counter() - started)
    return outcome.model_dump()


async def _run(ctx: JobContext, job: RenderJob, status: StatusMessage) -> JobOutcome:
    if await ctx.redis.get(keys.DELIVERED(job_id=job.job_id)) == b"sent":
        return JobOutcome(kind="duplicate")
    if ctx.job_try > ctx.services.settings.max_tries:
        # arq allows one try more than the setting so that this one can say so (runner.py)
        log.warning("job %s: %d tries used up", job.job_id, ctx.job_try - 1)
        await status.show("status.failed", force=True, ref=job.job_id[-8:])
        return JobOutcome(kind="failed")
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
    job_id, name = context.job_id, context.services.name
    await take_over(context.redis, job_id, name)  # the bot sees a move in arq's try counter
    check = await _check_photo(context, key)
    await hand_back(context.redis, job_id, name)
    return check.model_dump()


async def _check_photo(context: JobContext, key: str) -> PhotoCheck:
    renderer = context.services.renderer
    data = await context.redis.get(key)
    if data is None:
        return PhotoCheck(ok=False, error="image_unreadable")
    try:
        embedding = await asyncio.to_thread(
            describe_face,
            renderer.analyzer,
            data,
            max_pixels=renderer.settings.max_image_pixels,
        )
    except RenderError as error:
        return PhotoCheck(ok=False, error=error.code.value, params=error.params)
    blocked = await context.redis.hvals(keys.BLOCKLIST())  # type: ignore[misc]
    if any(face_distance(embedding, json.loads(b)) <= FACE_MATCH_THRESHOLD for b in blocked):
        # The descriptor still comes back: an admin unblocking a face needs it.
        return PhotoCheck(ok=False, error=ErrorCode.FACE_BLOCKED.value, embedding=embedding)
    return PhotoCheck(ok=True, embedding=embedding)
