"""Workers killed with SIGKILL mid-job: another worker takes the job over within one lease
(not the job's whole time budget), the user gets exactly one note and is told the job moved;
a slow worker that is alive keeps its job (issues #5, #15). Workers are real `govorun worker`
processes; the bot runs here against the fake Bot API."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from bot.settings import BotSettings
from core import keys
from core.contract import JobOutcome, job_id_for
from inference.demo import astronaut, png
from locales import translate
from testkit.bot_stack import TEXT, TOKEN, answer_consent, job_result, send_photo
from testkit.fake_telegram import FakeTelegram
from testkit.processes import ServiceProcess, bot_alone, job_owner, worker_processes
from worker.settings import WorkerSettings, function_timeout

LEASE_S = 3.0
WORKER_ENV = {
    "RENDER_SIZE": "320",
    "RENDER_MAX_NOTE_SECONDS": "30",
    "WORKER_SEND_TIMEOUT_S": "20",
    "WORKER_POLL_DELAY_S": "0.05",
    "WORKER_LEASE_S": str(LEASE_S),
}
# The time budget arq would wait out before the lease: a test passing within it proves
# the lease, not the budget, moved the job.
BUDGET_S = function_timeout(WorkerSettings(send_timeout_s=20))


@pytest.mark.parametrize("stage", ["animation", "upload"])
async def test_sigkill_mid_render_another_worker_takes_over_within_a_lease(
    redis_url: str, tmp_path: Path, stage: str
) -> None:
    assert BUDGET_S > 120  # the old recovery could not pass the waits below
    async with (
        bot_alone(redis_url, tmp_path, WORKER_ENV) as (stack, env, redis),
        worker_processes(env) as workers,
    ):
        await send_photo(stack)
        if stage == "upload":  # the first upload hangs: the kill lands while it is in flight
            stack.tg.hang_next("sendVideoNote", seconds=60)
        update = stack.tg.push_text(stack.user, TEXT * 5)  # ~12 s of speech
        job_id = job_id_for(stack.chat, update["message"]["message_id"])
        busy = await job_owner(redis, job_id, workers)
        if stage == "upload":
            await stack.tg.wait_for_call("sendVideoNote", stack.chat)
        else:
            await stack.wait_for_text(translate("status.animation"))
        killed = busy.kill_now()
        survivor = next(w for w in workers if w is not busy)
        await job_owner(redis, job_id, [survivor], timeout=LEASE_S + 20)
        took_over = time.monotonic() - killed
        notes = await stack.wait_for_notes(timeout=40)
        await stack.wait_for_text(translate("status.done"), timeout=20)
        assert took_over <= LEASE_S + 10, took_over
        assert len(notes) == 1 and survivor.took("render_note")
        assert await job_result(redis_url, job_id) == JobOutcome(kind="sent", notes=1)
        edits = [c.params.get("text") for c in stack.tg.calls_of("editMessageText")]
        assert translate("status.moved") in edits  # moved, never "failed"
        assert not any(str(e).startswith(translate("status.failed", ref="")[:20]) for e in edits)
        if stage == "upload":
            calls = stack.tg.calls_of("sendVideoNote", stack.chat)
            assert calls[0].failed and [c.failed for c in calls[1:]] == [False]


async def test_a_slow_render_that_is_alive_is_never_taken_over(
    redis_url: str, tmp_path: Path
) -> None:
    """The upload hangs for four leases; the job's lease is renewed meanwhile, so the idle
    second worker never starts it and Telegram gets one upload."""
    hang_s = 4 * LEASE_S
    async with (
        bot_alone(redis_url, tmp_path, WORKER_ENV) as (stack, env, redis),
        worker_processes(env) as workers,
    ):
        await send_photo(stack)
        stack.tg.hang_next("sendVideoNote", seconds=hang_s)
        update = stack.tg.push_text(stack.user, TEXT * 5)
        job_id = job_id_for(stack.chat, update["message"]["message_id"])
        owner = await job_owner(redis, job_id, workers)
        await stack.tg.wait_for_call("sendVideoNote", stack.chat)
        # arq would have set the key for the whole budget; a lease never exceeds LEASE_S
        ttl_ms = await redis.pttl(keys.ARQ_IN_PROGRESS(job_id=job_id))
        assert 0 < ttl_ms <= LEASE_S * 1000
        notes = await stack.wait_for_notes(timeout=hang_s + 20)
        await stack.wait_for_text(translate("status.done"))
        assert len(notes) == 1 and len(stack.tg.calls_of("sendVideoNote", stack.chat)) == 1
        other = next(w for w in workers if w is not owner)
        await other.stop()  # every line it wrote is in its log now
        assert owner.took("render_note") and not other.took("render_note")
        assert translate("status.moved") not in [
            c.params.get("text") for c in stack.tg.calls_of("editMessageText")
        ]


async def test_a_check_whose_worker_dies_is_run_again_before_the_user_hears(
    redis_url: str, tmp_path: Path
) -> None:
    async with (
        bot_alone(redis_url, tmp_path, WORKER_ENV) as (stack, env, redis),
        worker_processes(env) as workers,
    ):
        update = stack.tg.push_photo(stack.user, png(astronaut()))
        check_id = f"check-{job_id_for(stack.chat, update['message']['message_id'])}"
        busy = await job_owner(redis, check_id, workers)
        busy.process.send_signal(signal.SIGSTOP)  # caught mid-check, before it answers
        killed = busy.kill_now()
        await answer_consent(stack.tg, stack.user, update, timeout=LEASE_S + 20)
        asked_after = time.monotonic() - killed
        await stack.wait_for_text(translate("photo.accepted"))
        survivor = next(w for w in workers if w is not busy)
        assert survivor.took("check_photo")
        assert asked_after <= LEASE_S + 10, asked_after
        assert translate("error.check_unavailable") not in stack.texts()
        assert translate("photo.check_moved") in stack.texts()


async def test_with_no_worker_alive_the_user_hears_within_10_s(
    redis_url: str, tmp_path: Path
) -> None:
    """Nobody to check the photo: "try again" within 10 s (not after BOT_CHECK_TIMEOUT_S),
    with no worker at all and when the only worker dies mid-check."""
    unavailable = translate("error.check_unavailable")
    env_lease = {**WORKER_ENV, "WORKER_LEASE_S": "10"}  # the default lease
    settings = BotSettings(check_timeout_s=60)
    async with bot_alone(redis_url, tmp_path, env_lease, settings) as (stack, env, redis):
        sent = time.monotonic()
        stack.tg.push_photo(stack.user, png(astronaut()))
        await stack.wait_for_text(unavailable, timeout=15)
        assert time.monotonic() - sent < 10
        only = await ServiceProcess.start(env)
        try:
            update = stack.tg.push_photo(stack.user, png(astronaut()))
            check_id = f"check-{job_id_for(stack.chat, update['message']['message_id'])}"
            await job_owner(redis, check_id, [only])
            only.process.send_signal(signal.SIGSTOP)
            killed = only.kill_now()
            await stack.tg.wait_for(lambda tg: stack.texts().count(unavailable) == 2, timeout=15)
            assert time.monotonic() - killed < 10
        finally:
            await only.stop(signal.SIGKILL)


async def test_a_text_sent_while_its_photo_is_checked_is_kept_and_voiced(
    redis_url: str, tmp_path: Path
) -> None:
    async with bot_alone(redis_url, tmp_path, {**WORKER_ENV, "WORKER_LEASE_S": "10"}) as (
        stack,
        env,
        redis,
    ):
        worker = await ServiceProcess.start(env)
        try:
            photo = stack.tg.push_photo(stack.user, png(astronaut()))
            check_id = f"check-{job_id_for(stack.chat, photo['message']['message_id'])}"
            await job_owner(redis, check_id, [worker])
            worker.process.send_signal(signal.SIGSTOP)  # the check cannot end before the text
            await stack.wait_for_text(translate("photo.checking"))
            text = stack.tg.push_text(stack.user, TEXT)
            await stack.wait_for_text(translate("photo.text_kept"))
            worker.process.send_signal(signal.SIGCONT)
            await answer_consent(stack.tg, stack.user, photo)
            notes = await stack.wait_for_notes()
            job_id = job_id_for(stack.chat, text["message"]["message_id"])
            assert await job_result(redis_url, job_id) == JobOutcome(kind="sent", notes=1)
            assert len(notes) == 1
            assert translate("photo.needed") not in stack.texts()
        finally:
            await worker.stop(signal.SIGKILL)


async def test_sigterm_requeues_the_job_at_once_and_it_completes_once(
    redis_url: str, tmp_path: Path
) -> None:
    """Graceful shutdown: the render stops between frames, arq queues the job again."""
    async with bot_alone(redis_url, tmp_path, WORKER_ENV) as (stack, env, _):
        first = await ServiceProcess.start(env)
        second: ServiceProcess | None = None
        try:
            await send_photo(stack)
            stack.tg.push_text(stack.user, TEXT * 5)
            animation = translate("status.animation")
            await stack.tg.wait_for(lambda tg: animation in stack.texts())
            await first.stop(signal.SIGTERM)
            assert any("cancelled, will be run again" in line for line in first.log)
            second = await ServiceProcess.start(env)
            notes = await stack.wait_for_notes(timeout=30)
            assert len(notes) == 1 and second.took("render_note")
        finally:
            await first.stop(signal.SIGKILL)
            if second is not None:
                await second.stop()


async def test_the_bot_stops_cleanly_on_sigterm(redis_url: str) -> None:
    """`govorun bot` answers what it took, then exits 0 on SIGTERM (a rolling restart)."""
    async with FakeTelegram(token=TOKEN) as tg:
        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE": tg.base_url, "REDIS_URL": redis_url}
        bot = await ServiceProcess.start(env, "bot", ready="Run polling")
        try:
            user = tg.user(7300)
            tg.push_command(user, "/start")
            await tg.wait_for(
                lambda t: any(m.get("text") == translate("start") for m in t.chat_messages(7300))
            )
            bot.process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.process.wait(), 15) == 0
        finally:
            await bot.stop(signal.SIGKILL)
