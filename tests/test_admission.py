"""50 concurrent requests from one user enqueue exactly the allowed number (issue #4)."""

from __future__ import annotations

import asyncio

import pytest
from arq import create_pool
from arq.connections import RedisSettings as ArqRedisSettings
from pydantic import ValidationError

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


@pytest.mark.parametrize(
    ("field", "default", "other", "unknown"),
    [("mimic", "calm", "lively", "wild"), ("look", "photo", "sketch", "neon")],
)
def test_a_job_queued_before_a_field_existed_parses_with_its_default(
    field: str, default: str, other: str, unknown: str
) -> None:
    older = RenderJob(
        job_id="note-1",
        chat_id=USER,
        user_id=USER,
        request_message_id=1,
        status_message_id=2,
        photo_key="unused",
        text="Привет.",
    ).model_dump()
    del older[field]  # what a bot from before the field queued
    assert getattr(RenderJob.model_validate(older), field) == default
    assert getattr(RenderJob.model_validate({**older, field: other}), field) == other
    with pytest.raises(ValidationError, match=field):
        RenderJob.model_validate({**older, field: unknown})
