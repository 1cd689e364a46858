"""Faults on the way back to the user: Telegram errors, blocked users, jobs out of time
(issue #5). Real bot, real workers, real Redis; Telegram's failures come from the fake."""

from __future__ import annotations

from pathlib import Path

from core.contract import JobOutcome, job_id_for
from core.quotas import Quotas, QuotaSettings
from inference.face import FaceAnalyzer
from locales import translate
from testkit.bot_stack import TEXT, Stack, check_note, job_result, running_stack, send_photo
from worker.settings import WorkerSettings

POLL = 0.02


async def _job_result(stack: Stack, update: dict[str, object], redis_url: str) -> JobOutcome:
    """Wait for the arq job of a text update to finish; its result says how it ended."""
    message = update["message"]
    assert isinstance(message, dict)
    await stack.tg.wait_for_call("sendChatAction", stack.chat)  # a worker has the job
    return await job_result(redis_url, job_id_for(stack.chat, int(message["message_id"])))


async def test_429_then_5xx_are_retried_and_the_note_arrives_once(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        await send_photo(stack)
        stack.tg.fail_next("sendVideoNote", status=429, retry_after=1)
        stack.tg.fail_next("sendVideoNote", status=500, count=2)
        stack.tg.push_text(stack.user, TEXT)
        notes = await stack.wait_for_notes()
        await stack.wait_for_text(translate("status.done"))
        assert len(notes) == 1
        check_note(stack, notes[0])
        calls = stack.tg.calls_of("sendVideoNote", stack.chat)
        assert [c.status for c in calls] == [429, 500, 500, 200]
        # retry_after was honoured: the second try came at least a second after the 429
        assert calls[1].at - calls[0].at >= 1.0


async def test_a_timed_out_upload_is_retried(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    settings = WorkerSettings(send_timeout_s=1, poll_delay_s=POLL)
    async with running_stack(redis_url, analyzer, tmp_path, worker_settings=settings) as stack:
        await send_photo(stack)
        stack.tg.hang_next("sendVideoNote", seconds=5)
        stack.tg.push_text(stack.user, TEXT)
        notes = await stack.wait_for_notes()
        assert len(notes) == 1
        calls = stack.tg.calls_of("sendVideoNote", stack.chat)
        assert calls[0].failed and not calls[-1].failed


async def test_a_user_who_blocked_the_bot_ends_the_job_without_retries(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        await send_photo(stack)
        stack.tg.fail_next("sendVideoNote", status=403, count=5)
        update = stack.tg.push_text(stack.user, TEXT)
        assert await _job_result(stack, update, redis_url) == JobOutcome(kind="blocked")
        assert len(stack.tg.calls_of("sendVideoNote", stack.chat)) == 1


async def test_a_job_out_of_time_tells_the_user_and_refunds(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    settings = WorkerSettings(
        base_timeout_s=0.2, timeout_per_speech_second=0, max_timeout_s=0.2, poll_delay_s=POLL
    )
    async with running_stack(redis_url, analyzer, tmp_path, worker_settings=settings) as stack:
        await send_photo(stack)
        update = stack.tg.push_text(stack.user, TEXT * 6)
        assert await _job_result(stack, update, redis_url) == JobOutcome(kind="timeout")
        expected = translate("status.timeout", ref=job_id_for(stack.chat, 0)[-8:])
        assert any(t.startswith(expected[:40]) for t in stack.texts())
        assert not stack.tg.sent_video_notes(stack.chat)
        from arq import create_pool
        from arq.connections import RedisSettings as ArqRedisSettings

        redis = await create_pool(ArqRedisSettings.from_dsn(redis_url))
        usage = await Quotas(redis, QuotaSettings()).usage(stack.user.id)
        await redis.aclose()
        assert usage["hourly_used"] == 0 and usage["active_job"] is None
