"""50 concurrent requests from one user enqueue exactly the allowed number (issue #4)."""

from __future__ import annotations

import asyncio

from arq import create_pool
from arq.connections import RedisSettings as ArqRedisSettings

from bot.services import RenderQueue
from core.contract import QUEUE_NAME, RenderJob, job_id_for
from core.quotas import Quotas, QuotaSettings

USER = 4242


async def test_fifty_concurrent_requests_queue_one_job(redis_url: str) -> None:
    redis = await create_pool(ArqRedisSettings.from_dsn(redis_url))
    queue = RenderQueue(redis, Quotas(redis, QuotaSettings(hourly=5)), blob_ttl_s=60)

    async def request(message_id: int) -> bool:
        job_id = job_id_for(USER, message_id)
        decision = await queue.claim(job_id, USER)
        if decision is None or not decision.allowed:
            return False
        job = RenderJob(
            job_id=job_id,
            chat_id=USER,
            user_id=USER,
            request_message_id=message_id,
            status_message_id=0,
            photo_key="unused",
            text="Привет.",
        )
        return await queue.submit(job) is not None

    try:
        admitted = await asyncio.gather(*(request(i) for i in range(50)))
        assert sum(admitted) == 1  # one active job per user
        assert await redis.zcard(QUEUE_NAME) == 1
    finally:
        await redis.aclose()


def test_a_job_queued_before_mimic_existed_still_parses_as_calm() -> None:
    older = RenderJob(
        job_id="note-1",
        chat_id=USER,
        user_id=USER,
        request_message_id=1,
        status_message_id=2,
        photo_key="unused",
        text="Привет.",
    ).model_dump()
    del older["mimic"]  # what a bot from before /mimic queued
    assert RenderJob.model_validate(older).mimic == "calm"
    assert RenderJob.model_validate({**older, "mimic": "lively"}).mimic == "lively"
