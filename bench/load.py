"""Load: simulated users send photo + text; real worker processes; how it scales.

``python -m bench.load`` runs the real bot (polling a local fake Bot API, in this process)
and two real ``govorun worker`` processes on one Redis while 200 users send a photo and a
text within a minute, then writes ``bench/load.md``: answered / lost / duplicated requests,
queue wait and end-to-end percentiles, throughput, peak memory of the bot and the workers,
and what the global cap and quotas did.

``python -m bench.load --scaling 1 2 4`` offers the same load (60 users a minute, for 40 s)
to 1, 2 and 4 worker processes in turn and writes ``bench/scaling.md`` and
``bench/scaling.json``: notes and seconds of video per minute, queue wait p50/p95.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
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
from testkit.processes import ServiceProcess, process_env
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
    seconds: float = 0.0  # of video delivered
    events: list[str] = field(default_factory=list)


@dataclass
class LoadRun:
    workers: int
    runs: list[UserRun]
    wall: float
    worker_peaks: list[float]
    quotas: QuotaSettings
    worker_cpu_s: float  # user + system time of the worker processes, all of the run


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process: what it cost, whatever else shares the cores."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_load(workers: int, users: int, spread_s: float) -> LoadRun:
    """``users`` users, starting evenly over ``spread_s``, against ``workers`` processes."""
    with redis_base_url() as base:
        url = f"{base}/14"
        async with FakeTelegram(token=TOKEN) as tg:
            env = process_env(WORKER_ENV, tg, url)
            pool = await create_pool(ArqRedisSettings.from_dsn(url))
            await pool.flushdb()
            processes = await asyncio.gather(*(ServiceProcess.start(env) for _ in range(workers)))
            bot = create_bot(TelegramSettings(BOT_TOKEN=TOKEN, TELEGRAM_API_BASE=tg.base_url))
            quotas = QuotaSettings()
            dispatcher = create_dispatcher(bot, pool, BotSettings(), quotas)
            polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
            runs = [UserRun(100_000 + i) for i in range(users)]
            photo = png(astronaut())
            started = time.perf_counter()
            await asyncio.gather(
                *(_user(tg, run, photo, i * spread_s / users) for i, run in enumerate(runs))
            )
            wall = time.perf_counter() - started
            peaks = [_peak_rss_mb(w.pid) for w in processes]
            cpu = sum(_cpu_s(w.pid) for w in processes)
            await dispatcher.stop_polling()
            await polling
            for worker in processes:
                await worker.stop()
            await bot.session.close()
            await pool.flushdb()
            await pool.aclose()
    return LoadRun(workers, runs, wall, peaks, quotas, cpu)


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
    run.seconds = sum(float(p.get("duration", 0)) for p, _ in tg.sent_video_notes(run.chat))
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


@dataclass
class Summary:
    delivered: list[UserRun]
    refused: list[UserRun]
    lost: list[UserRun]
    duplicates: list[UserRun]
    waits: list[float]
    e2e: list[float]
    notes_per_min: float
    video_s_per_min: float

    @classmethod
    def of(cls, runs: list[UserRun]) -> Summary:
        delivered = [r for r in runs if r.notes]
        notes_at = [r.note_at for r in delivered if r.note_at]
        # from the first text to the last note: the time the fleet was rendering
        span = (max(notes_at) - min(r.sent_at for r in delivered)) if notes_at else 1.0
        return cls(
            delivered=delivered,
            refused=[r for r in runs if r.refusal],
            lost=[r for r in runs if not r.notes and not r.refusal],
            duplicates=[r for r in runs if r.notes > 1],
            waits=[r.started_at - r.sent_at for r in delivered if r.started_at],
            e2e=[r.note_at - r.sent_at for r in delivered if r.note_at],
            notes_per_min=sum(r.notes for r in delivered) / span * 60,
            video_s_per_min=sum(r.seconds for r in delivered) / span * 60,
        )


def stats(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):.1f} s, p95 {percentile(values, 0.95):.1f} s, "
        f"max {max(values, default=0):.1f} s"
    )


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores"


def report(load: LoadRun, load_average: tuple[float, float]) -> None:
    runs, quotas, summary = load.runs, load.quotas, Summary.of(load.runs)
    bot_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        f"Machine: the development machine ({_machine()}, shared: load average"
        f" {load_average[0]:.1f} before, {load_average[1]:.1f} after). {len(runs)} users, photo"
        f" + consent + text, spread over {SPREAD_S:.0f} s; {load.workers} worker processes"
        f" (WORKER_MAX_JOBS=1 each), 640×640; global queue cap {quotas.queue_cap}. Wall time"
        f" {load.wall:.0f} s.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| answered | {len(summary.delivered) + len(summary.refused)} of {len(runs)} |",
        f"| notes delivered | {len(summary.delivered)} |",
        f"| refused with a retry time (global cap) | {len(summary.refused)} |",
        f"| lost (no note, no answer) | {len(summary.lost)} |",
        f"| duplicate notes | {len(summary.duplicates)} |",
        f"| queue wait | {stats(summary.waits)} |",
        f"| text → note | {stats(summary.e2e)} |",
        f"| throughput | {summary.notes_per_min:.0f} notes/min |",
        f"| peak RSS: bot (+ fake Telegram, same process) | {bot_peak:.0f} MB |",
        f"| peak RSS: workers | {', '.join(f'{p:.0f} MB' for p in load.worker_peaks)} |",
    ]
    if summary.refused:
        lines.append(f"| a refusal, as the user saw it | {summary.refused[0].refusal} |")
    text = "\n".join(lines) + "\n"
    (HERE / "load.md").write_text(text)
    print(text)


def report_scaling(
    loads: list[LoadRun], users: int, spread_s: float, load_averages: list[tuple[float, float]]
) -> None:
    rows, data = [], []
    for load, (before, after) in zip(loads, load_averages, strict=True):
        summary = Summary.of(load.runs)
        notes = sum(r.notes for r in summary.delivered)
        per_core = notes / load.worker_cpu_s * 60 if load.worker_cpu_s else 0.0
        rows.append(
            f"| {load.workers} | {len(summary.delivered)} of {len(load.runs)} |"
            f" {len(summary.duplicates)} | {summary.notes_per_min:.1f} |"
            f" {summary.video_s_per_min:.0f} s | {load.worker_cpu_s / max(notes, 1):.2f} s |"
            f" {per_core:.0f} | {percentile(summary.waits, 0.5):.1f} s |"
            f" {percentile(summary.waits, 0.95):.1f} s | {before:.1f} → {after:.1f} |"
        )
        data.append(
            {
                "workers": load.workers,
                "users": len(load.runs),
                "delivered": len(summary.delivered),
                "duplicates": len(summary.duplicates),
                "notes_per_min": round(summary.notes_per_min, 2),
                "video_s_per_min": round(summary.video_s_per_min, 1),
                "worker_cpu_s": round(load.worker_cpu_s, 1),
                "notes_per_core_minute": round(per_core, 1),
                "queue_wait_p50_s": round(percentile(summary.waits, 0.5), 2),
                "queue_wait_p95_s": round(percentile(summary.waits, 0.95), 2),
                "load_average": [before, after],
                "wall_s": round(load.wall, 1),
            }
        )
    lines = [
        f"Machine: the development machine ({_machine()}), shared with other jobs (its load"
        " average, before → after each run, is in the last column). The same offered load for"
        f" each fleet: {users} users starting evenly over {spread_s:.0f} s"
        f" ({users / spread_s * 60:.0f} a minute), each a photo, consent and one short text"
        f' ("{TEXT}", about 3 s of speech); 640×640; WORKER_MAX_JOBS=1 per process; the bot'
        " and the fake Telegram share the machine.",
        "",
        "| workers | delivered | duplicates | notes/min | video/min | worker CPU per note"
        " | notes per core-minute | queue wait p50 | queue wait p95 | load average |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        'Throughput is from the first text to the last note. Queue wait is from the "queued"'
        " message to the first stage edit. Worker CPU is the user + system time of the worker"
        " processes over the run (photo checks and idle polling included), so notes per"
        " core-minute (60 s ÷ CPU per note) holds whatever else shares the cores; notes per"
        " minute does not.",
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "scaling.md").write_text(text)
    info = {"machine": _machine(), "users": users, "spread_s": spread_s, "text": TEXT}
    (HERE / "scaling.json").write_text(
        json.dumps({**info, "fleets": data}, indent=2, ensure_ascii=False) + "\n"
    )
    print(text)


async def main(scaling: list[int], users: int, spread_s: float) -> None:
    if not scaling:
        before = os.getloadavg()[0]
        load = await run_load(2, USERS, SPREAD_S)
        report(load, (before, os.getloadavg()[0]))
        return
    loads, averages = [], []
    for workers in scaling:
        before = os.getloadavg()[0]
        loads.append(await run_load(workers, users, spread_s))
        averages.append((before, os.getloadavg()[0]))
    report_scaling(loads, users, spread_s, averages)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scaling", type=int, nargs="*", default=[], metavar="WORKERS")
    parser.add_argument("--users", type=int, default=40, help="per fleet, with --scaling")
    parser.add_argument("--spread", type=float, default=40.0, help="seconds, with --scaling")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.scaling, arguments.users, arguments.spread))
