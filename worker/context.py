"""What a job gets, typed: the services loaded once per process, and arq's per-job entries.

arq hands each job one ``ctx`` dict; only :meth:`JobContext.of` reads it by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram import Bot
from arq.connections import ArqRedis

from core.quotas import QuotaSettings
from inference.pipeline import Renderer
from worker.settings import WorkerSettings

SERVICES = "services"  # the one key of ours in arq's ctx


@dataclass(frozen=True)
class WorkerServices:
    """Loaded once per process (``runner.load_engines``) and shared by both queues."""

    renderer: Renderer
    bot: Bot
    settings: WorkerSettings
    quotas: QuotaSettings


@dataclass(frozen=True)
class JobContext:
    services: WorkerServices
    redis: ArqRedis
    job_try: int
    enqueue_time: datetime | None
    job_id: str = ""

    @classmethod
    def of(cls, ctx: dict[str, Any]) -> JobContext:
        return cls(
            ctx[SERVICES],
            ctx["redis"],
            ctx.get("job_try", 1),
            ctx.get("enqueue_time"),
            ctx.get("job_id", ""),
        )
