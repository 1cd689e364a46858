"""Redis restarted while a job is queued: nothing is lost, bot and worker reconnect by
themselves (issue #5). The Redis here has AOF on, as in the compose file."""

from __future__ import annotations

import asyncio
from pathlib import Path

from inference.face import FaceAnalyzer
from locales import translate
from testkit.bot_stack import TEXT, running_stack, send_photo, start_workers
from testkit.redis_server import PersistentRedis


async def test_a_queued_job_survives_a_redis_restart(
    persistent_redis: PersistentRedis, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    async with running_stack(persistent_redis.url, analyzer, tmp_path) as stack:
        await send_photo(stack)
        stack.stop_worker.set()  # no worker: the job has to wait in the queue
        await stack.worker_task
        stack.tg.push_text(stack.user, TEXT)
        await stack.wait_for_text(translate("status.queued", position=1))
        await asyncio.to_thread(persistent_redis.restart)
        stack.stop_worker = asyncio.Event()
        stack.worker_task = start_workers(stack.services, stack.redis, stack.stop_worker)
        notes = await stack.wait_for_notes()
        assert len(notes) == 1
        await stack.wait_for_text(translate("status.done"))
        stack.tg.push_command(stack.user, "/help")  # the bot's own Redis use reconnects too
        await stack.wait_for_text(translate("help", max_seconds=55, max_voice=60))
