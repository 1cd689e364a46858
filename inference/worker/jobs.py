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
from arq.connections import ArqRedis

from govorun.metrics import count_refusal
from govorun.quotas import Quotas, QuotaSettings
from inference.contract import (
    BLOCKLIST_KEY,
    FACE_MATCH_THRESHOLD,
    PhotoCheck,
    RenderJob,
    daily_counter,
    delivery_key,
    face_distance,
)
from inference.errors import ErrorCode, RenderError
from inference.identity import describe_face
from inference.pipeline import Renderer
from inference.worker.delivery import SENT_TTL_S, deliver_once, record_job
from inference.worker.report import (
    job_ended,
    observe_queue_wait,
    outcome_kind,
    stage_done,
    stages_done,
)
from inference.worker.settings import WorkerSettings, job_timeout
from inference.worker.status import ChatProgress, StatusMessage, keep_chat_action
from locales import translate

log = logging.getLogger("govorun.worker")


async def render_note(ctx: dict[str, Any], payload: dict[str, Any]) -> str:
    job = RenderJob.model_validate(payload)
    started = time.perf_counter()
    observe_queue_wait(ctx)
    redis: ArqRedis = ctx["redis"]
    status = StatusMessage(ctx["bot"], job)
    quotas = Quotas(redis, QuotaSettings())
    await quotas.touch(job.user_id, job.job_id)  # queue wait does not count against the job
    try:
        outcome = await _run(ctx, job, status)
    except (Retry, asyncio.CancelledError) as interruption:
        # arq runs the job again; the user's job stays active meanwhile
        kind = "retry" if isinstance(interruption, Retry) else "cancelled"
        said = f"{kind}, arq runs it again"
        job_ended(job.job_id, said, kind, time.perf_counter() - started)
        raise
    except Exception:
        log.exception("job %s failed", job.job_id)
        await status.show("status.failed", force=True, ref=job.job_id[-8:])
        outcome = "failed"
    if outcome in ("failed", "timed out"):
        await redis.incr(daily_counter("failed"))
    # Whatever kept the note from the user gives them their quota back.
    delivered = outcome.startswith("sent") or outcome == "already delivered"
    await quotas.release(job.user_id, job.job_id, refund=not delivered)
    job_ended(job.job_id, outcome, outcome_kind(outcome), time.perf_counter() - started)
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
    action = asyncio.create_task(keep_chat_action(ctx["bot"], job.chat_id))
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
        stages_done(job.job_id, result)
        await status.show("status.sending", force=True)
        sending = time.perf_counter()
        for index, note in enumerate(result.notes):
            if not await deliver_once(ctx, job, index, note.path, note.duration):
                return "blocked by the user"
        stage_done(job.job_id, "send", time.perf_counter() - sending)
    await ctx["redis"].set(delivery_key(job.job_id), b"sent", ex=SENT_TTL_S)
    await record_job(ctx["redis"], job, result.engines, len(result.notes))
    await status.show("status.done", force=True)
    return f"sent {len(result.notes)}"


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
