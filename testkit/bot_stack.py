"""A running stack for bot tests: fake Bot API, real bot (polling), real arq workers, Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from arq import create_pool
from arq.connections import ArqRedis
from arq.connections import RedisSettings as ArqRedisSettings
from arq.jobs import Job
from redis import Redis

from bot.factory import create_dispatcher
from bot.settings import BotSettings
from core import keys
from core.config import RedisSettings, TelegramSettings
from core.contract import QUEUE_NAME, JobOutcome, job_id_for
from core.quotas import QuotaSettings
from core.telegram import create_bot
from inference.demo import astronaut, png
from inference.face import FaceAnalyzer
from inference.media import probe
from inference.pipeline import Renderer, RenderResult
from inference.provenance import SigningIdentity, read_credentials
from inference.settings import RenderSettings
from locales import translate
from testkit.fake_telegram import FakeTelegram, TgUser
from worker.context import WorkerServices
from worker.runner import create_workers, run_workers
from worker.settings import WorkerSettings
from worker.signing import worker_signer

TOKEN = "424242:TEST-TOKEN"
TEXT = "Привет! Меня зовут Говорун."


@dataclass
class Stack:
    tg: FakeTelegram
    user: TgUser
    tmp: Path
    services: WorkerServices
    redis: RedisSettings
    stop_worker: asyncio.Event
    worker_task: asyncio.Task[None]

    @property
    def chat(self) -> int:
        return self.user.id

    def texts(self) -> list[str]:
        return [str(m.get("text", "")) for m in self.tg.chat_messages(self.chat)]

    async def wait_for_text(self, expected: str, timeout: float = 30) -> None:
        await self.tg.wait_for(lambda tg: expected in self.texts(), timeout=timeout)

    async def wait_for_notes(self, count: int = 1, timeout: float = 40) -> list[bytes]:
        await self.tg.wait_for(
            lambda tg: len(tg.sent_video_notes(self.chat)) >= count, timeout=timeout
        )
        return [data for _, data in self.tg.sent_video_notes(self.chat)]

    async def restart_worker(self) -> None:
        self.stop_worker.set()
        await self.worker_task
        self.stop_worker = asyncio.Event()
        self.worker_task = start_workers(self.services, self.redis, self.stop_worker)


def start_workers(
    services: WorkerServices, redis: RedisSettings, stop: asyncio.Event
) -> asyncio.Task[None]:
    renders, checks = create_workers(services, redis)
    return asyncio.create_task(run_workers(renders, checks, stop))


@asynccontextmanager
async def running_stack(
    redis_url: str,
    analyzer: FaceAnalyzer,
    tmp_path: Path,
    bot_settings: BotSettings | None = None,
    quota_settings: QuotaSettings | None = None,
    worker_settings: WorkerSettings | None = None,
) -> AsyncIterator[Stack]:
    async with FakeTelegram(token=TOKEN) as tg:
        telegram = TelegramSettings(BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=tg.base_url)
        redis = RedisSettings(REDIS_URL=redis_url)
        services = WorkerServices(
            renderer=Renderer(
                RenderSettings(size=320, max_note_seconds=20),
                analyzer=analyzer,
                signer=await worker_signer(redis_url),
            ),
            bot=create_bot(telegram),
            settings=worker_settings or WorkerSettings(poll_delay_s=0.02),
            quotas=quota_settings or QuotaSettings(),
        )
        stop = asyncio.Event()
        worker_task = start_workers(services, redis, stop)
        pool: ArqRedis = await create_pool(ArqRedisSettings.from_dsn(redis_url))
        bot: Bot = create_bot(telegram)
        dispatcher: Dispatcher = create_dispatcher(
            bot, pool, bot_settings or BotSettings(), quota_settings
        )
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
        )
        stack = Stack(tg, tg.user(7001), tmp_path, services, redis, stop, worker_task)
        try:
            yield stack
        finally:
            await dispatcher.stop_polling()
            await polling
            stack.stop_worker.set()
            await stack.worker_task
            await bot.session.close()
            await pool.aclose()


async def consent(stack: Stack, photo_update: dict[str, Any], choice: str = "me") -> None:
    """Press a button under the bot's consent question about the photo in ``photo_update``."""
    await answer_consent(stack.tg, stack.user, photo_update, choice)


async def answer_consent(
    tg: FakeTelegram,
    user: TgUser,
    photo_update: dict[str, Any],
    choice: str = "me",
    timeout: float = 30,
) -> None:
    """As ``consent``, for any user of ``tg`` (the benchmarks drive many)."""
    after = photo_update["message"]["message_id"]
    ask = translate("consent.ask")

    def question() -> dict[str, Any] | None:
        found = [
            m
            for m in tg.chat_messages(user.id)
            if m.get("text") == ask and m["message_id"] > after
        ]
        return found[0] if found else None

    await tg.wait_for(lambda _: question() is not None, timeout=timeout)
    asked = question()
    assert asked is not None
    buttons = [b for row in asked["reply_markup"]["inline_keyboard"] for b in row]
    label = translate(f"consent.button.{choice}")
    button = next(b for b in buttons if b["text"] == label)
    tg.push_callback(user, button["callback_data"], asked["message_id"])


async def send_photo(stack: Stack, photo: bytes | None = None) -> None:
    update = stack.tg.push_photo(stack.user, photo or png(astronaut()))
    await consent(stack, update)
    await stack.wait_for_text(translate("photo.accepted"))


def check_note(stack: Stack, data: bytes) -> None:
    path = stack.tmp / "received.mp4"
    path.write_bytes(data)
    info = probe(path)
    assert (info.width, info.height) == (320, 320)
    assert (info.video_codec, info.pix_fmt, info.audio_codec) == ("h264", "yuv420p", "aac")
    assert info.faststart and 0.5 < info.duration <= 60
    # Signed by the installation's own identity, which the workers keep in Redis.
    with Redis.from_url(stack.redis.redis_url) as client:
        stored = client.get(keys.SIGNING_IDENTITY())
    assert isinstance(stored, bytes)
    credentials = read_credentials(path, SigningIdentity.from_pem(stored).root_pem)
    assert (credentials.state, credentials.ai_generated) == ("trusted", True)


async def job_result(redis_url: str, job_id: str) -> JobOutcome:
    """Wait for the worker to finish a render job; how it ended."""
    redis = await create_pool(ArqRedisSettings.from_dsn(redis_url))
    try:
        job = Job(job_id, redis, _queue_name=QUEUE_NAME)
        return JobOutcome.model_validate(await job.result(timeout=40, poll_delay=0.05))
    finally:
        await redis.aclose()


def record_renders(stack: Stack, option: str, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """What the stack's worker renders with for ``option`` (``mimic``, ``look``…), in order."""
    renderer = stack.services.renderer
    seen: list[object] = []
    real_render = renderer.render

    def render(*args: Any, **kwargs: Any) -> RenderResult:
        seen.append(kwargs[option])
        return real_render(*args, **kwargs)

    monkeypatch.setattr(renderer, "render", render)
    return seen


async def queued_job(stack: Stack, update: dict[str, Any], nth: int) -> dict[str, Any]:
    """The job the bot queued for the request in ``update``, the chat's ``nth`` note, as the
    worker received it (read back once the worker is done with it)."""
    done = translate("status.done")
    await stack.tg.wait_for(lambda tg: stack.texts().count(done) >= nth)  # it was queued
    job_id = job_id_for(stack.chat, update["message"]["message_id"])
    assert await job_result(stack.redis.redis_url, job_id) == JobOutcome(kind="sent", notes=1)
    redis = await create_pool(ArqRedisSettings.from_dsn(stack.redis.redis_url))
    info = await Job(job_id, redis, _queue_name=QUEUE_NAME).info()
    await redis.aclose()
    assert info is not None
    job = info.args[0]
    assert isinstance(job, dict)
    return job


async def choose_english(stack: Stack) -> None:
    """Press "English" under /lang (the fake client's own language is Russian)."""
    stack.tg.push_command(stack.user, "/lang")
    await stack.wait_for_text(translate("lang.pick"))
    message_id = stack.tg.chat_messages(stack.chat)[-1]["message_id"]
    keyboard = stack.tg.calls_of("sendMessage", stack.chat)[-1].params["reply_markup"]
    english = next(b for row in keyboard["inline_keyboard"] for b in row if b["text"] == "English")
    answered = len(stack.tg.calls_of("answerCallbackQuery"))
    stack.tg.push_callback(stack.user, english["callback_data"], message_id)
    await stack.tg.wait_for_call("answerCallbackQuery", count=answered + 1)  # stored by then
