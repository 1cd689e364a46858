"""Sending notes once: delivery markers in Redis, retries honouring Telegram's limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile
from arq import Retry
from arq.connections import ArqRedis

from core import keys
from core.contract import RenderJob, user_ref
from core.metrics import NOTES_SENT
from worker.context import JobContext

log = logging.getLogger("govorun.worker")

_SENDING_TTL_S = 120  # longer than every send attempt of one try together
SENT_TTL_S = 7 * 24 * 3600
_RECORD_TTL_S = 90 * 24 * 3600
_MAX_RETRY_AFTER_S = 60
_RETRY_JOB_AFTER_S = 30


async def record_job(redis: ArqRedis, job: RenderJob, engines: dict[str, str], notes: int) -> None:
    """What `govorun verify` can tell about a note: when, how, for whom (hashed)."""
    record = {
        "made": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "engines": ", ".join(f"{k}={v}" for k, v in engines.items()),
        "notes": str(notes),
        "look": job.look,
        "user": user_ref(job.user_id),
    }
    await redis.hset(keys.JOB_RECORD(job_id=job.job_id), mapping=record)  # type: ignore[misc]
    await redis.expire(keys.JOB_RECORD(job_id=job.job_id), _RECORD_TTL_S)


# A note is claimed for sending by one try. A claim of an earlier try means that try's worker
# died mid-upload (a live one would hold its lease and no later try would exist): whether
# Telegram got that upload cannot be known, and losing the note is worse than the rare
# duplicate, so the later try sends it again. A claim of a later try means this try lost its
# lease while alive (a frozen process): it leaves the note to its successor.
_CLAIM = """
local current = redis.call('get', KEYS[1])
if current == 'sent' then return 0 end
if current then
  local try = tonumber(string.match(current, '^sending:(%d+)$'))
  if try and try >= tonumber(ARGV[1]) then return 0 end
end
redis.call('set', KEYS[1], 'sending:' .. ARGV[1], 'EX', ARGV[2])
return 1
"""


async def deliver_once(
    ctx: JobContext, job: RenderJob, index: int, path: Path, duration: float
) -> bool:
    """Send note ``index`` unless it was sent before; False when the user blocked the bot."""
    redis, settings, bot = ctx.redis, ctx.services.settings, ctx.services.bot
    key = keys.DELIVERED_NOTE(job_id=job.job_id, index=index)
    claimed = redis.eval(_CLAIM, 1, key, str(ctx.job_try), str(_SENDING_TTL_S))
    if not await claimed:  # type: ignore[misc]
        log.info("note %s/%d already delivered or being delivered", job.job_id, index)
        return True
    video = BufferedInputFile(path.read_bytes(), filename=f"note-{index + 1}.mp4")
    size = ctx.services.renderer.settings.size
    try:
        await _with_retries(
            lambda: bot.send_video_note(job.chat_id, video, duration=round(duration), length=size),
            attempts=settings.send_attempts,
            timeout=settings.send_timeout_s,
        )
    except TelegramForbiddenError:
        await redis.set(key, b"sent", ex=SENT_TTL_S)  # blocked: nobody to deliver to
        log.info("chat of job %s blocked the bot; delivery dropped", job.job_id)
        return False
    except (TelegramRetryAfter, TelegramNetworkError, TelegramServerError, TimeoutError) as error:
        await redis.delete(key)
        raise Retry(defer=_RETRY_JOB_AFTER_S) from error  # the whole job, later
    await redis.set(key, b"sent", ex=SENT_TTL_S)
    NOTES_SENT.inc()
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
