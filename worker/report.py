"""What a render job reports as it ends: a log line per stage and per job, and the metrics.

Log fields and metric labels carry the outcome's kind (a few words, low-cardinality); no user
data goes in either.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from core.metrics import JOBS, QUEUE_WAIT_SECONDS, STAGE_SECONDS
from inference.pipeline import RenderResult
from worker.context import JobContext

log = logging.getLogger("govorun.worker")


def observe_queue_wait(ctx: JobContext) -> None:
    """From enqueueing to this start, for a first try (a re-run's wait includes its tries)."""
    if ctx.enqueue_time is not None and ctx.job_try == 1:
        waited = (datetime.now(UTC) - ctx.enqueue_time).total_seconds()
        QUEUE_WAIT_SECONDS.observe(max(0.0, waited))


def job_ended(job_id: str, outcome: str, kind: str, seconds: float) -> None:
    JOBS.labels(outcome=kind).inc()
    extra = {"job_id": job_id, "outcome": kind, "duration_s": round(seconds, 3)}
    log.info("job %s: %s (%.2f s)", job_id, outcome, seconds, extra=extra)


def stages_done(job_id: str, result: RenderResult) -> None:
    """One line per render stage, naming the engine where an engine choice decides it."""
    engines = {"tts": result.engines.get("tts"), "animate": result.engines.get("animator")}
    for stage, seconds in result.timings.items():
        stage_done(job_id, stage, seconds, engines.get(stage))


def stage_done(job_id: str, stage: str, seconds: float, engine: str | None = None) -> None:
    STAGE_SECONDS.labels(stage=stage).observe(seconds)
    extra: dict[str, object] = dict(job_id=job_id, stage=stage, duration_s=round(seconds, 3))
    if engine:
        extra["engine"] = engine
    log.info("job %s stage %s took %.2f s", job_id, stage, seconds, extra=extra)
