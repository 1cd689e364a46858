"""End-to-end latency through the fake Bot API, and bot dispatch throughput.

``python -m bench.e2e``: a warm worker, the real bot polling a local fake Telegram, real
Redis (REDIS_URL or a throwaway server). Measures text message → sendVideoNote for about
15 s of speech at 640×640, and how many text updates per second the dispatcher handles (with
Redis storage and the full middleware chain, answering "send a photo first"). Writes
``bench/e2e.md``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from functools import partial
from pathlib import Path

from aiogram.types import Update
from arq import create_pool
from arq.connections import RedisSettings as ArqRedisSettings

from bot.factory import create_dispatcher
from bot.settings import BotSettings
from core.config import RedisSettings, TelegramSettings
from core.telegram import create_bot
from inference.demo import astronaut, png
from inference.media import probe
from locales import translate
from testkit.bot_stack import answer_consent
from testkit.fake_telegram import FakeTelegram
from testkit.redis_server import redis_base_url
from worker.runner import create_workers, load_engines, run_workers
from worker.settings import WorkerSettings

HERE = Path(__file__).resolve().parent
TEXT = (
    "Говорун превращает фотографию и текст в говорящий кружок. Вы присылаете снимок лица "
    "и пару фраз, а через несколько секунд получаете видео. Всё работает на обычном "
    "процессоре, без видеокарты. Попробуйте сами, это совсем несложно."
)
TOKEN = "777:BENCH"


async def main() -> None:
    with redis_base_url() as base:
        url = f"{base}/15"
        async with FakeTelegram(token=TOKEN) as tg:
            os.environ.update(BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=tg.base_url, REDIS_URL=url)
            pool = await create_pool(ArqRedisSettings.from_dsn(url))
            await pool.flushdb()
            services = await load_engines(WorkerSettings(), RedisSettings())
            stop = asyncio.Event()
            worker = asyncio.create_task(
                run_workers(*create_workers(services, RedisSettings()), stop)
            )
            bot = create_bot(TelegramSettings())
            dispatcher = create_dispatcher(bot, pool, BotSettings())
            polling = asyncio.create_task(
                dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
            )
            latencies = []
            speech = 0.0
            accepted = translate("photo.accepted")
            for run in range(4):
                chat = 9000 + run
                user = tg.user(chat)
                await answer_consent(tg, user, tg.push_photo(user, png(astronaut())))
                await tg.wait_for(partial(_said, chat=chat, text=accepted))
                started = time.perf_counter()
                tg.push_text(user, TEXT)
                await tg.wait_for(partial(_has_note, chat=chat), timeout=60)
                latencies.append(time.perf_counter() - started)
                note = HERE / ".e2e-note.mp4"
                note.write_bytes(tg.sent_video_notes(user.id)[0][1])
                speech = probe(note).duration
                note.unlink()
            await dispatcher.stop_polling()
            await polling
            throughput = await _dispatch_rate(dispatcher, bot, tg, 2000)
            stop.set()
            await worker
            await bot.session.close()
            await pool.flushdb()
            await pool.aclose()
    warm = latencies[1:]  # the first run warms caches
    report = (
        "Machine: the development machine (x86_64, 2 cores); fake Bot API on loopback.\n\n"
        "| measure | value |\n|---|---|\n"
        f"| text → sendVideoNote, {speech:.1f} s of speech, 640×640, warm (median of {len(warm)}) "
        f"| {statistics.median(warm):.2f} s (runs: {', '.join(f'{x:.2f}' for x in warm)}) |\n"
        f"| dispatcher throughput, text updates (Redis storage, replies over HTTP) "
        f"| {throughput:.0f} updates/s |\n"
    )
    (HERE / "e2e.md").write_text(report)
    print(report)


def _said(tg: FakeTelegram, *, chat: int, text: str) -> bool:
    return any(message.get("text") == text for message in tg.chat_messages(chat))


def _has_note(tg: FakeTelegram, *, chat: int) -> bool:
    return bool(tg.sent_video_notes(chat))


async def _dispatch_rate(dispatcher: object, bot: object, tg: FakeTelegram, count: int) -> float:
    """Feed updates straight into the dispatcher (no polling): handler, middleware, Redis."""
    from aiogram import Bot, Dispatcher

    assert isinstance(dispatcher, Dispatcher) and isinstance(bot, Bot)
    updates = [
        Update.model_validate(
            tg.push_text(tg.user(50_000 + i % 100), "Привет"), context={"bot": bot}
        )
        for i in range(count)
    ]
    started = time.perf_counter()
    await asyncio.gather(*(dispatcher.feed_update(bot, update) for update in updates))
    return count / (time.perf_counter() - started)


if __name__ == "__main__":
    asyncio.run(main())
