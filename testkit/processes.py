"""Real ``govorun`` processes for crash tests and the fault benchmark: workers that can be
killed, the bot in this process against the fake Bot API, and waits on Redis keys."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from aiogram import Dispatcher
from arq import create_pool
from arq.connections import ArqRedis
from arq.connections import RedisSettings as ArqRedisSettings

from bot.factory import create_dispatcher
from bot.settings import BotSettings
from core import keys
from core.config import TelegramSettings
from core.telegram import create_bot
from testkit.bot_stack import TOKEN, Stack
from testkit.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
WORKER_READY = "Starting worker for 1 functions: render_note"
_KEY_POLL_S = 0.005


class ServiceProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.log: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(
        cls, env: dict[str, str], command: str = "worker", ready: str = WORKER_READY
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

    @property
    def pid(self) -> int:
        return self.process.pid

    async def until_logged(self, marker: str) -> None:
        """Block on the process's own log until it says it is ready."""
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            if marker in line.decode(errors="replace"):
                self._reader = asyncio.get_running_loop().create_task(self._drain())
                return
        raise RuntimeError(f"process exited with {await self.process.wait()} before it was ready")

    async def _drain(self) -> None:
        assert self.process.stderr is not None
        while line := await self.process.stderr.readline():
            self.log.append(line.decode(errors="replace"))

    def took(self, function: str) -> bool:
        """Whether this worker logged the start of a job of ``function``."""
        return any(f":{function}(" in line and " → " in line for line in self.log)

    def kill_now(self) -> float:
        """SIGKILL, sent at once (no await in between); when it was sent."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        return time.monotonic()

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.returncode is None:
            self.process.send_signal(sig)
        await self.process.wait()
        if self._reader is not None:
            await self._reader  # every line the process wrote is in ``log`` now


async def job_owner(
    redis: ArqRedis, job_id: str, workers: Sequence[ServiceProcess], timeout: float = 30
) -> ServiceProcess:
    """The one of ``workers`` running ``job_id``, once one does: its record names the worker
    as host-pid. Polled every few ms, since crash tests must catch a job in the act."""
    key = keys.JOB_OWNER(job_id=job_id)
    async with asyncio.timeout(timeout):
        while True:
            name = (await redis.get(key) or b"").decode()
            found = [w for w in workers if name.endswith(f"-{w.pid}")]
            if found:
                return found[0]
            await asyncio.sleep(_KEY_POLL_S)


def process_env(settings: dict[str, str], tg: FakeTelegram, redis_url: str) -> dict[str, str]:
    """A worker process's environment: ``settings``, and the way to this fake Bot API and Redis."""
    return {
        **settings,
        "BOT_TOKEN": tg.token,
        "TELEGRAM_API_BASE": tg.base_url,
        "REDIS_URL": redis_url,
    }


@asynccontextmanager
async def worker_processes(
    env: dict[str, str], count: int = 2
) -> AsyncIterator[list[ServiceProcess]]:
    """``count`` real worker processes, killed (SIGKILL) whatever the block did; the list may be
    changed inside (a killed worker replaced), and whatever it holds at the end is killed."""
    workers = list(await asyncio.gather(*(ServiceProcess.start(env) for _ in range(count))))
    try:
        yield workers
    finally:
        for worker in workers:
            await worker.stop(signal.SIGKILL)


@asynccontextmanager
async def bot_alone(
    redis_url: str, tmp_path: Path, worker_env: dict[str, str], settings: BotSettings | None = None
) -> AsyncIterator[tuple[Stack, dict[str, str], ArqRedis]]:
    """The fake Bot API and the bot; workers are up to the caller (the env to start them
    with, and a Redis pool, come with the stack)."""
    async with FakeTelegram(token=TOKEN) as tg:
        env = process_env(worker_env, tg, redis_url)
        pool = await create_pool(ArqRedisSettings.from_dsn(redis_url))
        bot = create_bot(TelegramSettings(BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=tg.base_url))
        dispatcher: Dispatcher = create_dispatcher(bot, pool, settings or BotSettings())
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
        )
        stop = asyncio.Event()
        idle = asyncio.create_task(stop.wait())
        stack = Stack(tg, tg.user(7001), tmp_path, {}, None, stop, idle)  # type: ignore[arg-type]
        try:
            yield stack, env, pool
        finally:
            stop.set()
            await dispatcher.stop_polling()
            await polling
            await bot.session.close()
            await pool.aclose()
