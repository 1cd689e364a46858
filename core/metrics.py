"""Prometheus metrics of the bot and the worker, all defined here; served on ``METRICS_PORT``.

Every label value is one of a few fixed words (an outcome, a stage, a refusal reason), never
an id, so the number of series stays small whatever the traffic. Each process exposes what
it counts: the worker jobs, stages, queue wait and notes; the bot refusals; both the queue
depth, read from Redis when scraped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import redis
from prometheus_client import Counter, Gauge, Histogram, start_http_server
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.contract import QUEUE_NAME
from core.quotas import BANNED, BUSY, BUSY_GLOBAL, DAILY_CAP, HOURLY_CAP
from inference.errors import ErrorCode

#: How a render job ended (``worker.report.outcome_kind``); retry and cancelled
#: runs are run again by arq and end once more later.
OUTCOMES = (
    "sent",
    "refused",
    "failed",
    "timeout",
    "blocked",
    "expired",
    "duplicate",
    "retry",
    "cancelled",
)
#: Why a request was refused: the render refusal codes, the quota reasons, and the bot's own.
REFUSAL_REASONS = frozenset(
    {code.value for code in ErrorCode}
    | {BANNED, BUSY, HOURLY_CAP, DAILY_CAP, BUSY_GLOBAL}
    | {
        "photo_too_big",
        "voice_too_long",
        "check_unavailable",
        "photo_needed",
        "consent_needed",
        "verify_first",
        "mismatch",
        "permission_limit",
        "flood",
    }
)

JOBS = Counter("govorun_jobs", "Render jobs by how they ended", ["outcome"])
STAGE_SECONDS = Histogram(
    "govorun_stage_seconds",
    "Seconds per render stage (normalize, face, tts, animate, encode) and per send",
    ["stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 60, 90),
)
QUEUE_WAIT_SECONDS = Histogram(
    "govorun_queue_wait_seconds",
    "Seconds from a job's enqueueing to a worker starting it (first tries only)",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
QUEUE_DEPTH = Gauge("govorun_queue_depth", "Render jobs waiting in the queue (NaN: no Redis)")
NOTES_SENT = Counter("govorun_notes_sent", "Video notes delivered to Telegram")
REFUSALS = Counter("govorun_refusals", "Requests refused, by reason", ["reason"])

for _outcome in OUTCOMES:  # every outcome from 0, so rate() sees the first one
    JOBS.labels(outcome=_outcome)


class MetricsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="METRICS_", env_file=".env", extra="ignore")

    port: int = Field(0, ge=0, le=65535, description="0: off; e.g. 9101 bot, 9102 worker")
    host: str = "0.0.0.0"


def count_refusal(reason: str) -> None:
    """Count a refused request; an unknown reason counts as ``other``, never as a new label."""
    REFUSALS.labels(reason=reason if reason in REFUSAL_REASONS else "other").inc()


@dataclass
class MetricsServer:
    """The ``/metrics`` HTTP server, in a daemon thread of its own."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def serve_metrics(settings: MetricsSettings, redis_url: str) -> MetricsServer | None:
    """Start the server ``settings`` ask for; None when ``METRICS_PORT`` is 0 (off)."""
    if settings.port == 0:
        return None
    return start_metrics_server(settings.port, redis_url, host=settings.host)


def start_metrics_server(port: int, redis_url: str, *, host: str = "0.0.0.0") -> MetricsServer:
    """Serve ``/metrics`` on ``port`` (0: any free one, see ``.port``)."""
    watch_queue_depth(redis_url)
    server, thread = start_http_server(port, host)
    return MetricsServer(server, thread)


def watch_queue_depth(redis_url: str) -> None:
    """The depth gauge reads the queue's size from Redis whenever it is scraped."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1, socket_timeout=1)

    def depth() -> float:
        try:
            return float(client.zcard(QUEUE_NAME))  # type: ignore[arg-type]
        except (redis.RedisError, OSError):
            return float("nan")

    QUEUE_DEPTH.set_function(depth)
