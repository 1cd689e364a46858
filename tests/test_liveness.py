"""The pieces behind quick takeovers, against a real Redis and real arq workers: leases on
arq's in-progress keys, the announcement the bot reads, who runs a job, the note claim that
resends what a dead worker was uploading, and the text kept for a photo being checked
(issue #15). The crash tests with killed worker processes are in test_worker_crash.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

from arq import create_pool
from arq.connections import ArqRedis
from arq.connections import RedisSettings as ArqRedisSettings
from arq.worker import Worker, func

from bot.services import UserStore
from core import keys
from core.config import TelegramSettings
from core.contract import JOB_NAME, QUEUE_NAME, JobOutcome, RenderJob
from core.quotas import QuotaSettings
from core.telegram import create_bot
from inference.face import FaceAnalyzer
from inference.pipeline import Renderer
from inference.settings import RenderSettings
from locales import translate
from testkit.bot_stack import TEXT, TOKEN, job_result, running_stack, send_photo
from testkit.fake_telegram import FakeTelegram
from worker.context import JobContext, WorkerServices
from worker.delivery import deliver_once
from worker.liveness import BEATS_PER_LEASE, Liveness, hand_back, lease, take_over
from worker.settings import WorkerSettings


async def _pool(redis_url: str) -> ArqRedis:
    return await create_pool(ArqRedisSettings.from_dsn(redis_url))


async def _idle(ctx: dict[str, object]) -> None:
    await asyncio.Event().wait()


async def test_a_beat_renews_the_leases_of_running_jobs_only(redis_url: str) -> None:
    redis = await _pool(redis_url)
    worker = Worker(
        [func(_idle, name="idle")],
        redis_settings=ArqRedisSettings.from_dsn(redis_url),
        handle_signals=False,
    )
    assert worker.in_progress_timeout_s > 300  # arq's rule: the whole budget + 10 s
    lease([worker], 2.0)
    assert worker.in_progress_timeout_s == 2.0
    running = asyncio.create_task(asyncio.Event().wait())
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    worker.tasks.update({"running": running, "done": done})
    for job_id in ("running", "done"):
        await redis.set(keys.ARQ_IN_PROGRESS(job_id=job_id), b"1", px=100)
    liveness = Liveness([worker], "host-1", '{"x": 1}', lease_s=2.0)
    try:
        await liveness.start()  # the first beat
        assert liveness.period_s == 2.0 / BEATS_PER_LEASE
        assert 1500 < await redis.pttl(keys.ARQ_IN_PROGRESS(job_id="running")) <= 2000
        assert await redis.pttl(keys.ARQ_IN_PROGRESS(job_id="done")) <= 100
        announced = keys.WORKERS(worker="host-1")
        assert await redis.get(announced) == b'{"x": 1}'
        assert 0 < await redis.pttl(announced) <= 3 * liveness.period_s * 1000
        # a finished job's key, gone, is not brought back by a renewal
        await redis.delete(keys.ARQ_IN_PROGRESS(job_id="running"))
        await liveness.beat()
        assert not await redis.exists(keys.ARQ_IN_PROGRESS(job_id="running"))
    finally:
        running.cancel()
        await liveness.close()
    assert not await redis.exists(keys.WORKERS(worker="host-1"))  # a clean stop says so
    await redis.aclose()


async def test_a_try_left_behind_marks_the_job_as_moved(redis_url: str) -> None:
    redis = await _pool(redis_url)
    assert await take_over(redis, "job-1", "host-1") is None
    assert await take_over(redis, "job-1", "host-2") == "host-1"  # host-1 never ended its try
    await hand_back(redis, "job-1", "host-1")  # a stale try cannot erase its successor
    assert await redis.get(keys.JOB_OWNER(job_id="job-1")) == b"host-2"
    await hand_back(redis, "job-1", "host-2")
    assert await take_over(redis, "job-1", "host-3") is None
    await redis.aclose()


async def test_a_note_claimed_by_a_dead_try_is_sent_again_by_the_next(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    redis = await _pool(redis_url)
    async with FakeTelegram(token=TOKEN) as tg:
        bot = create_bot(TelegramSettings(BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=tg.base_url))
        renderer = Renderer(RenderSettings(size=320), analyzer=analyzer)
        services = WorkerServices(renderer, bot, WorkerSettings(), QuotaSettings())
        job = RenderJob(
            job_id="note-1", chat_id=tg.user(1).id, user_id=1, request_message_id=1,
            status_message_id=2, photo_key="p",
        )  # fmt: skip
        note = tmp_path / "note.mp4"
        note.write_bytes(b"mp4")

        async def deliver(job_try: int) -> int:
            context = JobContext(services, redis, job_try, None, job.job_id)
            assert await deliver_once(context, job, 0, note, 1.0)
            return len(tg.sent_video_notes(job.chat_id))

        key = keys.DELIVERED_NOTE(job_id="note-1", index=0)
        await redis.set(key, b"sending:1")  # try 1 died mid-upload
        assert await deliver(2) == 1
        assert await redis.get(key) == b"sent"
        assert await deliver(3) == 1  # sent is never sent again
        await redis.set(key, b"sending:3")  # a later try is sending: an outlived try defers
        assert await deliver(2) == 1
        await bot.session.close()
    await redis.aclose()


async def test_a_text_is_kept_only_while_its_photo_is_checked(redis_url: str) -> None:
    redis = await _pool(redis_url)
    users = UserStore(redis, photo_ttl_s=60)
    assert not await users.keep_text(5, "раз", 10)  # no check running: not kept
    await users.begin_check(5, timeout_s=30)
    assert 30 < await redis.ttl(keys.PHOTO_CHECK(user_id=5)) <= 90
    assert await users.keep_text(5, "два", 11)
    assert await users.keep_text(5, "три", 12)  # the latest text wins
    assert await users.end_check(5) == ("три", 12)
    assert not await redis.exists(keys.PHOTO_CHECK(user_id=5))
    assert not await users.keep_text(5, "четыре", 13)
    await users.begin_check(5, timeout_s=30)
    assert await users.end_check(5) is None
    await redis.aclose()


async def test_a_job_whose_tries_are_used_up_tells_the_user_and_ends(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """A job whose worker died on every try: the last try arq allows says so, not silence."""
    settings = WorkerSettings(max_tries=2, poll_delay_s=0.02)
    async with running_stack(redis_url, analyzer, tmp_path, worker_settings=settings) as stack:
        await send_photo(stack)
        status = stack.tg.chat_messages(stack.chat)[-1]["message_id"]
        job = RenderJob(
            job_id="note-tries", chat_id=stack.chat, user_id=stack.user.id,
            request_message_id=1, status_message_id=status,
            photo_key=keys.PHOTO(user_id=stack.user.id), text=TEXT,
        )  # fmt: skip
        redis = await _pool(redis_url)
        await redis.set(keys.JOB_OWNER(job_id=job.job_id), "gone-1")  # its last worker died
        await redis.enqueue_job(
            JOB_NAME, job.model_dump(), _job_id=job.job_id, _queue_name=QUEUE_NAME, _job_try=3
        )
        assert await job_result(redis_url, job.job_id) == JobOutcome(kind="failed")
        await redis.aclose()
        failed = translate("status.failed", ref=job.job_id[-8:])
        await stack.wait_for_text(failed)
        assert not stack.tg.sent_video_notes(stack.chat)
