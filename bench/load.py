"""Load: 200 simulated users send photo + text within a minute; two worker processes.

``python -m bench.load`` runs the real bot (polling a local fake Bot API, in this process)
and two real ``govorun worker`` processes on one Redis, then writes ``bench/load.md``:
answered / lost / duplicated requests, queue wait and end-to-end percentiles, throughput,
peak memory of the bot and the workers, and what the global cap and quotas did.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from arq import create_pool
from arq.connections import RedisSettings as ArqRedisSettings

from bot.factory import create_dispatcher
from bot.settings import BotSettings
from core.config import TelegramSettings
from core.quotas import QuotaSettings
from core.telegram import create_bot
from inference.demo import astronaut, png
from locales import translate
from testkit.bot_stack import answer_consent
from testkit.fake_telegram import FakeTelegram
from testkit.redis_server import redis_base_url

HERE = Path(__file__).resolve().parent
USERS = 200
SPREAD_S = 60.0
TEXT = "Привет! Это проверка нагрузки."
TOKEN = "555:LOAD"
WORKER_ENV = {"RENDER_SIZE": "640", "WORKER_MAX_JOBS": "1", "WORKER_POLL_DELAY_S": "0.05"}


@dataclass
class UserRun:
    chat: int
    sent_at: float = 0.0
    started_at: float | None = None  # first stage edit: the job left the queue
    note_at: float | None = None
    refusal: str | None = None
    notes: int = 0
    events: list[str] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def _worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "govorun.cli",
        "worker",
        env={**os.environ, **env},
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    while line := await process.stderr.readline():
        if b"Starting worker for 1 functions: render_note" in line:
            break
    asyncio.get_running_loop().create_task(_drain(process))
    return process


async def _drain(process: asyncio.subprocess.Process) -> None:
    assert process.stderr is not None
    while await process.stderr.readline():
        pass


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def main() -> None:
    with redis_base_url() as base:
        url = f"{base}/14"
        async with FakeTelegram(token=TOKEN) as tg:
            env = {
                **WORKER_ENV,
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE": tg.base_url,
                "REDIS_URL": url,
            }
            pool = await create_pool(ArqRedisSettings.from_dsn(url))
            await pool.flushdb()
            workers = await asyncio.gather(_worker(env), _worker(env))
            bot = create_bot(TelegramSettings(BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=tg.base_url))
            quotas = QuotaSettings()
            dispatcher = create_dispatcher(bot, pool, BotSettings(), quotas)
            polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
            runs = [UserRun(100_000 + i) for i in range(USERS)]
            photo = png(astronaut())
            started = time.perf_counter()
            await asyncio.gather(
                *(_user(tg, run, photo, i * SPREAD_S / USERS) for i, run in enumerate(runs))
            )
            wall = time.perf_counter() - started
            peaks = [_peak_rss_mb(w.pid) for w in workers]
            await dispatcher.stop_polling()
            await polling
            for worker in workers:
                worker.terminate()
                await worker.wait()
            await bot.session.close()
            await pool.flushdb()
            await pool.aclose()
    report(runs, wall, peaks, quotas)


async def _user(tg: FakeTelegram, run: UserRun, photo: bytes, delay: float) -> None:
    await asyncio.sleep(delay)  # pacing the simulated users, not synchronisation
    user = tg.user(run.chat)
    await answer_consent(tg, user, tg.push_photo(user, photo), timeout=300)
    accepted = translate("photo.accepted")
    await tg.wait_for(lambda t: _said(t, run.chat, accepted), timeout=300)
    run.sent_at = time.perf_counter()
    tg.push_text(user, TEXT)
    done, refused = translate("status.done"), "Попробуйте"
    await tg.wait_for(
        lambda t: _said(t, run.chat, done) or _contains(t, run.chat, refused), timeout=600
    )
    run.notes = len(tg.sent_video_notes(run.chat))
    if run.notes:
        run.note_at = max(c.at for c in tg.calls_of("sendVideoNote", run.chat))
        speech = translate("status.speech")  # the first stage: the job has left the queue
        edits = [
            c for c in tg.calls_of("editMessageText", run.chat) if c.params.get("text") == speech
        ]
        run.started_at = min((c.at for c in edits), default=None)
        run.sent_at = [
            c.at
            for c in tg.calls
            if c.method == "sendMessage" and c.params.get("chat_id") == run.chat
        ][-1]  # the "queued" message
    else:
        run.refusal = next(
            m["text"] for m in tg.chat_messages(run.chat) if refused in str(m.get("text"))
        )


def _said(tg: FakeTelegram, chat: int, text: str) -> bool:
    return any(m.get("text") == text for m in tg.chat_messages(chat))


def _contains(tg: FakeTelegram, chat: int, part: str) -> bool:
    return any(part in str(m.get("text")) for m in tg.chat_messages(chat))


def report(
    runs: list[UserRun], wall: float, worker_peaks: list[float], quotas: QuotaSettings
) -> None:
    delivered = [r for r in runs if r.notes]
    refused = [r for r in runs if r.refusal]
    lost = [r for r in runs if not r.notes and not r.refusal]
    duplicates = [r for r in runs if r.notes > 1]
    waits = [r.started_at - r.sent_at for r in delivered if r.started_at]
    e2e = [r.note_at - r.sent_at for r in delivered if r.note_at]
    span = (
        (max(r.note_at for r in delivered if r.note_at) - min(r.sent_at for r in delivered))
        if delivered
        else 1
    )
    bot_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def stats(values: list[float]) -> str:
        return (
            f"p50 {percentile(values, 0.5):.1f} s, p95 {percentile(values, 0.95):.1f} s, "
            f"max {max(values, default=0):.1f} s"
        )

    lines = [
        f"Machine: the development machine (x86_64, 2 cores). {len(runs)} users, photo + consent"
        f" + text, spread over {SPREAD_S:.0f} s; 2 worker processes (WORKER_MAX_JOBS=1 each),"
        f" 640×640; global queue cap {quotas.queue_cap}. Wall time {wall:.0f} s.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| answered | {len(delivered) + len(refused)} of {len(runs)} |",
        f"| notes delivered | {len(delivered)} |",
        f"| refused with a retry time (global cap) | {len(refused)} |",
        f"| lost (no note, no answer) | {len(lost)} |",
        f"| duplicate notes | {len(duplicates)} |",
        f"| queue wait | {stats(waits)} |",
        f"| text → note | {stats(e2e)} |",
        f"| throughput | {len(delivered) / span * 60:.0f} notes/min |",
        f"| peak RSS: bot (+ fake Telegram, same process) | {bot_peak:.0f} MB |",
        f"| peak RSS: workers | {', '.join(f'{p:.0f} MB' for p in worker_peaks)} |",
    ]
    if refused:
        lines.append(f"| a refusal, as the user saw it | {refused[0].refusal} |")
    text = "\n".join(lines) + "\n"
    (HERE / "load.md").write_text(text)
    print(text)


if __name__ == "__main__":
    asyncio.run(main())
