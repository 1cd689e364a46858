"""What a render job reports as it ends: a log line per stage and per job, and the metrics.

Outcomes are folded into a few words (``outcome_kind``) so log fields and metric labels stay
low-cardinality; no user data goes in either.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from core.metrics import JOBS, QUEUE_WAIT_SECONDS, STAGE_SECONDS
from inference.pipeline import RenderResult

log = logging.getLogger("govorun.worker")


def observe_queue_wait(ctx: dict[str, Any]) -> None:
    """From enqueueing to this start, for a first try (a re-run's wait includes its tries)."""
    enqueued = ctx.get("enqueue_time")
    if isinstance(enqueued, datetime) and ctx.get("job_try", 1) == 1:
        waited = (datetime.now(UTC) - enqueued).total_seconds()
        QUEUE_WAIT_SECONDS.observe(max(0.0, waited))


def outcome_kind(outcome: str) -> str:
    """A job's outcome as one of a few words, for log fields and metric labels."""
    if outcome.startswith("sent"):
        return "sent"
    if outcome.startswith("refused"):
        return "refused"
    kinds = {
        "already delivered": "duplicate",
        "inputs expired": "expired",
        "timed out": "timeout",
        "blocked by the user": "blocked",
    }
    return kinds.get(outcome, "failed")


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
