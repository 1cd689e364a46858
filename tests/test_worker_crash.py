"""A worker killed with SIGKILL in the middle of a render: another worker finishes the job
and the user gets exactly one note (issue #5). Workers are real `govorun worker` processes."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiogram import Dispatcher
from arq import create_pool
from arq.connections import RedisSettings as ArqRedisSettings

from bot.factory import create_dispatcher
from bot.settings import BotSettings
from core.config import TelegramSettings
from core.telegram import create_bot
from locales import translate
from testkit.bot_stack import TEXT, TOKEN, Stack, send_photo
from testkit.fake_telegram import FakeTelegram
from worker.settings import WorkerSettings, function_timeout

ROOT = Path(__file__).resolve().parents[1]
WORKER_ENV = {
    "RENDER_SIZE": "320",
    "RENDER_MAX_NOTE_SECONDS": "30",
    "WORKER_MAX_TIMEOUT_S": "4",
    "WORKER_SEND_TIMEOUT_S": "2",
    "WORKER_SEND_ATTEMPTS": "2",
    "WORKER_POLL_DELAY_S": "0.05",
}


class ServiceProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.log: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls,
        env: dict[str, str],
        command: str = "worker",
        ready: str = "Starting worker for 1 functions: render_note",
    ) -> ServiceProcess:
        """``govorun COMMAND`` in a child process, once its log says ``ready``."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "govorun.cli",
            command,
            cwd=ROOT,
            env={**os.environ, **env},
            stderr=asyncio.subprocess.PIPE,
        )
        service = cls(process)
        await service.until_logged(ready)
        return service

    async def until_logged(self, marker: str) -> None:
        """Block on the worker's own log until it says it is ready."""
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            if marker in line.decode(errors="replace"):
                self._reader = asyncio.get_running_loop().create_task(self._drain())
                return
        raise RuntimeError(f"worker exited with {await self.process.wait()} before it was ready")

    async def _drain(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode(errors="replace"))

    def took(self, function: str) -> bool:
        """Whether this worker logged the start of a job of ``function``."""
        return any(f":{function}(" in line and " → " in line for line in self.log)

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        await self.process.wait()
        if self._reader is not None:
            await self._reader  # every line the worker wrote is in ``log`` now


@asynccontextmanager
async def bot_only(redis_url: str, tmp_path: Path) -> AsyncIterator[tuple[Stack, dict[str, str]]]:
    """The fake Bot API and the bot; workers are up to the test."""
    async with FakeTelegram(token=TOKEN) as tg:
        env = {
            **WORKER_ENV,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": tg.base_url,
            "REDIS_URL": redis_url,
        }
        pool = await create_pool(ArqRedisSettings.from_dsn(redis_url))
        bot = create_bot(TelegramSettings(BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=tg.base_url))
        dispatcher: Dispatcher = create_dispatcher(bot, pool, BotSettings())
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
        )
        stop = asyncio.Event()
        idle = asyncio.create_task(stop.wait())
        stack = Stack(tg, tg.user(7001), tmp_path, {}, None, stop, idle)  # type: ignore[arg-type]
        try:
            yield stack, env
        finally:
            stop.set()
            await dispatcher.stop_polling()
            await polling
            await bot.session.close()
            await pool.aclose()


async def test_sigkill_mid_render_the_survivor_delivers_exactly_one_note(
    redis_url: str, tmp_path: Path
) -> None:
    settings = WorkerSettings(max_timeout_s=4, send_timeout_s=2, send_attempts=2)
    assert function_timeout(settings) + 10 <= 25  # recovery must fit in the test
    async with bot_only(redis_url, tmp_path) as (stack, env):
        workers = list(await asyncio.gather(ServiceProcess.start(env), ServiceProcess.start(env)))
        try:
            await send_photo(stack)
            stack.tg.push_text(stack.user, TEXT * 5)  # ~12 s of speech: about a second of work
            animation = translate("status.animation")
            await stack.tg.wait_for(lambda tg: animation in stack.texts())
            busy = next(w for w in workers if w.took("render_note"))
            await busy.stop(signal.SIGKILL)
            notes = await stack.wait_for_notes(timeout=55)
            await stack.wait_for_text(translate("status.done"), timeout=20)
            assert len(notes) == 1
            assert len(stack.tg.sent_video_notes(stack.chat)) == 1
            survivor = next(w for w in workers if w is not busy)
            assert survivor.took("render_note")
        finally:
            for worker in workers:
                await worker.stop(signal.SIGKILL)


async def test_sigterm_requeues_the_job_at_once_and_it_completes_once(
    redis_url: str, tmp_path: Path
) -> None:
    """Graceful shutdown: the render stops between frames, arq queues the job again."""
    async with bot_only(redis_url, tmp_path) as (stack, env):
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
