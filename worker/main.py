"""Starting the worker process: ``run_worker()`` serves both queues until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from core.config import RedisSettings
from core.metrics import MetricsSettings, serve_metrics
from worker.runner import create_workers, load_engines, run_workers


async def run_worker() -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    renders, checks = create_workers(await load_engines())
    serve_metrics(MetricsSettings(), RedisSettings().redis_url)  # in a daemon thread
    await run_workers(renders, checks, stop)
