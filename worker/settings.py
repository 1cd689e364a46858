"""Worker settings (prefix ``WORKER_``) and the timeouts derived from them."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.contract import RenderJob


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WORKER_", env_file=".env", extra="ignore")

    max_jobs: int = Field(1, ge=1, description="concurrent renders: 1 per GPU; CPU: cores/2")
    poll_delay_s: float = Field(0.05, gt=0)
    keep_result_s: int = Field(60, ge=0)
    max_tries: int = Field(3, ge=1)
    base_timeout_s: float = Field(30.0, gt=0)
    timeout_per_speech_second: float = Field(1.0, ge=0)
    max_timeout_s: float = Field(90.0, gt=0)
    send_timeout_s: float = Field(20.0, gt=0)
    send_attempts: int = Field(3, ge=1)
    # How long a running job outlives its worker: renewed every fifth of it while the job runs,
    # so another worker takes a dead worker's job over after at most this (see worker.liveness).
    lease_s: float = Field(10.0, ge=1.0, le=600.0)


def function_timeout(settings: WorkerSettings) -> float:
    """arq's hard limit for one run: the longest render plus every send attempt and backoff.

    It bounds a live worker's try; a dead worker's job moves on after ``lease_s`` instead.
    """
    sends = settings.send_attempts * settings.send_timeout_s
    backoff = sum(min(2**attempt, 8) for attempt in range(settings.send_attempts - 1))
    return settings.max_timeout_s + sends + backoff + 2


def job_timeout(settings: WorkerSettings, job: RenderJob) -> float:
    """A timeout that grows with the text: a long series gets longer than a short note."""
    grown = settings.base_timeout_s + settings.timeout_per_speech_second * job.estimated_seconds
    return min(grown, settings.max_timeout_s)
