"""Running the worker: engines loaded once, the render and check queues, a heartbeat."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from arq.connections import RedisSettings as ArqRedisSettings
from arq.worker import Worker, func

from core.config import RedisSettings, TelegramSettings
from core.contract import (
    CHECK_JOB_NAME,
    CHECK_QUEUE_NAME,
    HEALTH_CHECK_INTERVAL_S,
    JOB_NAME,
    QUEUE_NAME,
    VoiceInfo,
    WorkerAnnouncement,
    health_check_key,
)
from core.quotas import QuotaSettings
from core.telegram import create_bot
from inference.pipeline import Renderer
from inference.settings import RenderSettings
from worker.context import SERVICES, WorkerServices
from worker.erasure import drop_erased_result
from worker.jobs import check_photo, render_note
from worker.liveness import Liveness, lease
from worker.settings import WorkerSettings, function_timeout
from worker.signing import worker_signer

log = logging.getLogger("govorun.worker")

_CHECK_TRIES = 3  # a check whose worker died is run again by another one


async def load_engines(
    settings: WorkerSettings | None = None, redis: RedisSettings | None = None
) -> WorkerServices:
    """Everything a job needs, loaded once per process and shared by both queues."""
    signer = await worker_signer((redis or RedisSettings()).redis_url)
    renderer = await asyncio.to_thread(Renderer, RenderSettings(), signer=signer)
    log.info("worker ready: engines %s", renderer.engines)
    return WorkerServices(
        renderer, create_bot(TelegramSettings()), settings or WorkerSettings(), QuotaSettings()
    )


def _liveness(renders: Worker, checks: Worker) -> Liveness:
    """Announces this worker and its engines (for /stats, /voice and the bot's wait on a
    photo check) and keeps the leases of the jobs it runs."""
    services: WorkerServices = renders.ctx[SERVICES]
    renderer = services.renderer
    voices = [VoiceInfo(id=voice.id, name=voice.name) for voice in renderer.tts.voices()]
    announcement = WorkerAnnouncement(
        engines=renderer.engines, max_jobs=renders.max_jobs, voices=voices
    )
    return Liveness(
        [renders, checks],
        services.name,
        announcement.model_dump_json(),
        services.settings.lease_s,
    )


def create_workers(
    services: WorkerServices, redis: RedisSettings | None = None
) -> tuple[Worker, Worker]:
    """The render worker and the photo-check worker, sharing one set of loaded engines."""
    settings = services.settings
    redis_settings = ArqRedisSettings.from_dsn((redis or RedisSettings()).redis_url)
    common: dict[str, Any] = {
        "redis_settings": redis_settings,
        "poll_delay": settings.poll_delay_s,
        "keep_result": settings.keep_result_s,
        "handle_signals": False,
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        "log_results": False,  # a photo check's result is a face descriptor
        "after_job_end": drop_erased_result,
    }
    renders = Worker(
        functions=[func(render_note, name=JOB_NAME, timeout=function_timeout(settings))],
        queue_name=QUEUE_NAME,
        health_check_key=health_check_key(QUEUE_NAME),
        max_jobs=settings.max_jobs,
        # One try more than allowed: render_note ends that one itself, telling the user, where
        # arq would drop the job without a word (a job whose worker died on every try).
        max_tries=settings.max_tries + 1,
        ctx={SERVICES: services},
        **common,
    )
    checks = Worker(
        functions=[func(check_photo, name=CHECK_JOB_NAME, timeout=30)],
        queue_name=CHECK_QUEUE_NAME,
        health_check_key=health_check_key(CHECK_QUEUE_NAME),
        max_jobs=4,
        max_tries=_CHECK_TRIES,
        ctx={SERVICES: services},
        **common,
    )
    lease([renders, checks], settings.lease_s)
    return renders, checks


async def run_workers(renders: Worker, checks: Worker, stop: asyncio.Event) -> None:
    """Run both until ``stop`` is set; a job cut short by stopping is queued again by arq."""
    liveness = _liveness(renders, checks)
    await liveness.start()
    tasks = [
        asyncio.create_task(renders.main()),
        asyncio.create_task(checks.main()),
        asyncio.create_task(liveness.run()),
    ]
    await stop.wait()
    await asyncio.gather(renders.close(), checks.close())
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await liveness.close()
    await renders.ctx[SERVICES].bot.session.close()
