"""The worker container's health check: exit 0 while arq's health key for the render queue on
this host is fresh. Imports no engine, so it answers in a blink."""

from __future__ import annotations

import asyncio

from arq.connections import RedisSettings as ArqRedisSettings
from arq.worker import async_check_health

from core.config import RedisSettings
from core.contract import QUEUE_NAME, health_check_key


def check_health() -> int:
    redis = ArqRedisSettings.from_dsn(RedisSettings().redis_url)
    return asyncio.run(async_check_health(redis, health_check_key(QUEUE_NAME), QUEUE_NAME))
