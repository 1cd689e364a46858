"""Faults: renders whose worker is SIGKILLed at a random point; how fast they recover.

``python -m bench.faults`` runs the real bot (polling a local fake Bot API, in this process)
and two real ``govorun worker`` processes on one Redis, with the default settings (the lease
included). Each round, a new user sends a photo and a text, and the worker running their job
is killed with SIGKILL at a stage drawn at random: during the photo check, the speech, the
animation, the encoding, or the upload (Telegram holds the upload open, so the kill lands
while it is in flight). A fresh worker replaces the dead one before the next round, so two
are always running. Writes ``bench/faults.json`` and ``bench/faults.md``: notes delivered,
duplicates, and the recovery times, from the kill to another worker starting the job again
and to what the user was waiting for (the consent question after a check, else the note).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from arq.connections import ArqRedis

from bench.load import percentile
from core.contract import job_id_for
from inference.demo import astronaut, png
from locales import translate
from testkit.bot_stack import Stack, answer_consent
from testkit.processes import ServiceProcess, bot_alone, job_owner, worker_processes
from testkit.redis_server import redis_base_url
from worker.settings import WorkerSettings

HERE = Path(__file__).resolve().parent
STAGES = ("check", "speech", "animation", "encoding", "upload")
TEXT = (
    "Говорун превращает фотографию и текст в говорящий кружок. Вы присылаете снимок лица "
    "и пару фраз, а через несколько секунд получаете видео."
)
WORKER_ENV = {"RENDER_SIZE": "640", "WORKER_MAX_JOBS": "1"}
_STATUS = {
    "speech": "status.speech",
    "animation": "status.animation",
    "encoding": "status.encoding",
}


@dataclass
class Round:
    stage: str
    seen: str = ""  # the last status the user saw when the kill was sent
    takeover_s: float = 0.0  # kill → another worker starts the job again
    recovered_s: float = 0.0  # kill → what the user waited for (consent question, or note)
    notes: int = 0
    moved_shown: bool = False
    failure_shown: bool = False


async def _user_round(
    stack: Stack, redis: ArqRedis, workers: list[ServiceProcess], stage: str, chat: int
) -> tuple[Round, ServiceProcess]:
    """One user's photo and text, their job's worker killed at ``stage``; the dead worker."""
    tg, tg_user = stack.tg, stack.tg.user(chat)
    result = Round(stage)
    photo = tg.push_photo(tg_user, png(astronaut()))
    if stage == "check":
        check_id = f"check-{job_id_for(chat, photo['message']['message_id'])}"
        busy = await job_owner(redis, check_id, workers)
        killed = busy.kill_now()
        result.seen = "photo.checking"
        survivor = next(w for w in workers if w is not busy)
        await job_owner(redis, check_id, [survivor], timeout=120)
        result.takeover_s = time.monotonic() - killed
        await answer_consent(tg, tg_user, photo, timeout=120)
        result.recovered_s = time.monotonic() - killed
        await _wait_text(stack, chat, "photo.accepted")
        tg.push_text(tg_user, TEXT)
        await _wait_text(stack, chat, "status.done")
    else:
        await answer_consent(tg, tg_user, photo, timeout=120)
        await _wait_text(stack, chat, "photo.accepted")
        if stage == "upload":
            tg.hang_next("sendVideoNote", seconds=120)
        update = tg.push_text(tg_user, TEXT)
        job_id = job_id_for(chat, update["message"]["message_id"])
        busy = await job_owner(redis, job_id, workers, timeout=120)
        if stage == "upload":
            await tg.wait_for_call("sendVideoNote", chat, timeout=120)
        else:
            await _wait_text(stack, chat, _STATUS[stage], edits=True)
            if stage == "animation":  # the longest stage: somewhere inside it
                await asyncio.sleep(random.uniform(0.0, 1.0))
        result.seen = _last_status(stack, chat)
        killed = busy.kill_now()
        survivor = next(w for w in workers if w is not busy)
        await job_owner(redis, job_id, [survivor], timeout=120)
        result.takeover_s = time.monotonic() - killed
        await tg.wait_for(lambda t: bool(t.sent_video_notes(chat)), timeout=180)
        result.recovered_s = time.monotonic() - killed
        await _wait_text(stack, chat, "status.done")
    return result, busy


async def _wait_text(stack: Stack, chat: int, key: str, edits: bool = False) -> None:
    """Until the chat shows ``key``'s text (or, with ``edits``, an edit ever showed it)."""
    text = translate(key)

    def shown(tg: object) -> bool:
        if edits:
            calls = stack.tg.calls_of("editMessageText", chat)
            return any(c.params.get("text") == text for c in calls)
        return any(m.get("text") == text for m in stack.tg.chat_messages(chat))

    await stack.tg.wait_for(shown, timeout=180)


def _last_status(stack: Stack, chat: int) -> str:
    texts = {translate(key): key for key in _STATUS.values()}
    texts[translate("status.sending")] = "status.sending"
    edits = [c.params.get("text") for c in stack.tg.calls_of("editMessageText", chat)]
    return next((texts[t] for t in reversed(edits) if t in texts), "status.queued")


async def main(rounds: int, seed: int) -> None:
    random.seed(seed)
    stages = [STAGES[i % len(STAGES)] for i in range(rounds)]
    random.shuffle(stages)
    load_before = os.getloadavg()
    results: list[Round] = []
    started = time.perf_counter()
    with redis_base_url() as base, tempfile.TemporaryDirectory() as folder:
        url = f"{base}/13"
        async with bot_alone(url, Path(folder), WORKER_ENV) as (stack, env, redis):
            await redis.flushdb()
            async with worker_processes(env) as workers:
                for index, stage in enumerate(stages):
                    chat = 200_000 + index
                    result, dead = await _user_round(stack, redis, workers, stage, chat)
                    await dead.stop(signal.SIGKILL)
                    workers[workers.index(dead)] = await ServiceProcess.start(env)
                    results.append(result)
                    print(f"round {index + 1}: {asdict(result)}", flush=True)
                for index, result in enumerate(results):  # late duplicates would show now
                    chat = 200_000 + index
                    result.notes = len(stack.tg.sent_video_notes(chat))
                    edits = [
                        str(c.params.get("text"))
                        for c in stack.tg.calls_of("editMessageText", chat)
                    ]
                    texts = edits + [str(m.get("text")) for m in stack.tg.chat_messages(chat)]
                    result.moved_shown = any(
                        t in (translate("status.moved"), translate("photo.check_moved"))
                        for t in texts
                    )
                    failures = [
                        translate("status.failed", ref="")[:20],
                        translate("error.check_unavailable"),
                    ]
                    result.failure_shown = any(t.startswith(f) for t in texts for f in failures)
            await redis.flushdb()
    report(results, time.perf_counter() - started, load_before, os.getloadavg(), seed)


def report(
    results: list[Round],
    wall: float,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
    seed: int,
) -> None:
    lease = WorkerSettings().lease_s
    takeovers = [r.takeover_s for r in results]
    recovered = [r.recovered_s for r in results]
    delivered = sum(1 for r in results if r.notes >= 1)
    duplicates = sum(r.notes - 1 for r in results if r.notes > 1)

    def stats(values: list[float]) -> str:
        return (
            f"p50 {percentile(values, 0.5):.1f} s, p95 {percentile(values, 0.95):.1f} s, "
            f"max {max(values, default=0):.1f} s"
        )

    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    lines = [
        f"Machine: the development machine ({machine}, shared with other jobs: load average"
        f" {load_before[0]:.1f} before, {load_after[0]:.1f} after). {len(results)} rounds, seed"
        f" {seed}; 2 worker processes (WORKER_MAX_JOBS=1, 640×640, default settings:"
        f" WORKER_LEASE_S={lease:g}); a ~10 s note each; one SIGKILL per round. Wall time"
        f" {wall:.0f} s.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| notes delivered | {delivered} of {len(results)} |",
        f"| duplicate notes | {duplicates} |",
        f"| told the job moved | {sum(r.moved_shown for r in results)} of {len(results)} |",
        f"| told it failed or to try again | {sum(r.failure_shown for r in results)} |",
        f"| kill → another worker starts the job | {stats(takeovers)} |",
        f"| kill → the user has what they waited for | {stats(recovered)} |",
        "",
        "| round | killed during | last status seen | takeover | recovered | notes | told moved |",
        "|---|---|---|---|---|---|---|",
    ]
    for index, r in enumerate(results, 1):
        lines.append(
            f"| {index} | {r.stage} | {r.seen} | {r.takeover_s:.1f} s | {r.recovered_s:.1f} s"
            f" | {r.notes} | {'yes' if r.moved_shown else 'no'} |"
        )
    lines += [
        "",
        '"Recovered" is the consent question for a check, else the note in the chat (the'
        " whole render again on the other worker).",
    ]
    text = "\n".join(lines) + "\n"
    (HERE / "faults.md").write_text(text)
    data = {
        "machine": machine,
        "load_before": load_before,
        "load_after": load_after,
        "seed": seed,
        "lease_s": lease,
        "wall_s": round(wall, 1),
        "rounds": [asdict(r) for r in results],
    }
    (HERE / "faults.json").write_text(json.dumps(data, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=15)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.seed))
