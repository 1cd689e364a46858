"""Quotas against a real Redis: atomic under concurrency, exact refunds, a movable clock."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from core import keys
from core.contract import user_ref
from core.quotas import (
    BANNED,
    BUSY,
    BUSY_GLOBAL,
    DAILY_CAP,
    HOURLY_CAP,
    Decision,
    Quotas,
    QuotaSettings,
)

USER = 1001
ADMIN = 7
START = 1_700_000_000.0


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.t = START

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings() -> QuotaSettings:
    return QuotaSettings(hourly=10, daily=30, queue_cap=50, seconds_per_job_estimate=20.0)


@pytest.fixture
def quotas(redis: Redis, settings: QuotaSettings, clock: Clock) -> Quotas:
    return Quotas(redis, settings, frozenset({ADMIN}), now=clock)


async def run_one(quotas: Quotas, job_id: str, user: int = USER, *, refund: bool = False) -> bool:
    """Acquire and, when granted, finish the job at once; whether it was granted."""
    decision = await quotas.acquire(user, job_id)
    if decision.allowed:
        await quotas.release(user, job_id, refund=refund)
    return decision.allowed


async def test_one_active_job_per_user_under_concurrency(quotas: Quotas) -> None:
    decisions = await asyncio.gather(*(quotas.acquire(USER, f"job-{i}") for i in range(50)))
    assert sum(d.allowed for d in decisions) == 1
    assert {d.reason for d in decisions if not d.allowed} == {BUSY}


async def test_hourly_cap_then_the_window_slides(quotas: Quotas, clock: Clock) -> None:
    granted = []
    for i in range(50):
        granted.append(await run_one(quotas, f"job-{i}"))
        clock.advance(60)
    assert sum(granted) == 10  # the first ten, within the first ten minutes
    assert granted[:10] == [True] * 10
    refused = await quotas.acquire(USER, "job-late")
    # now = START + 50 min; the oldest entry (START) leaves the window at START + 60 min
    assert refused == Decision(False, HOURLY_CAP, 10 * 60)
    clock.t = START + 3600  # exactly an hour after the oldest: it is out of the window
    assert (await quotas.acquire(USER, "job-next")).allowed


async def test_daily_cap(quotas: Quotas, clock: Clock) -> None:
    for hour in range(3):
        for i in range(10):
            assert await run_one(quotas, f"job-{hour}-{i}")
            clock.advance(1)
        clock.t = START + (hour + 1) * 3600
    refused = await quotas.acquire(USER, "job-31")
    assert refused.reason == DAILY_CAP
    assert refused.retry_after_s == 24 * 3600 - 3 * 3600  # the first job ages out then
    clock.t = START + 24 * 3600
    assert (await quotas.acquire(USER, "job-tomorrow")).allowed


async def test_global_cap(redis: Redis, clock: Clock) -> None:
    quotas = Quotas(redis, QuotaSettings(queue_cap=10), now=clock)
    decisions = await asyncio.gather(*(quotas.acquire(user, f"job-{user}") for user in range(50)))
    assert sum(d.allowed for d in decisions) == 10
    refused = [d for d in decisions if not d.allowed]
    assert {d.reason for d in refused} == {BUSY_GLOBAL}
    assert {d.retry_after_s for d in refused} == {20}  # one job over the cap x 20 s per job
    assert await quotas.active_jobs() == 10
    winner = next(user for user, d in enumerate(decisions) if d.allowed)
    await quotas.release(winner, f"job-{winner}", refund=False)
    assert (await quotas.acquire(100, "job-100")).allowed
    assert not (await quotas.acquire(101, "job-101")).allowed


async def test_global_retry_grows_with_the_overflow(redis: Redis, clock: Clock) -> None:
    admins = frozenset(range(5))
    quotas = Quotas(redis, QuotaSettings(queue_cap=2, seconds_per_job_estimate=30), admins)
    for admin in admins:  # admins may go past the cap
        assert (await quotas.acquire(admin, f"job-{admin}")).allowed
    assert await quotas.acquire(99, "job-99") == Decision(False, BUSY_GLOBAL, (5 - 2 + 1) * 30)


async def test_refund_gives_the_quota_back(redis: Redis, clock: Clock) -> None:
    quotas = Quotas(redis, QuotaSettings(hourly=2), now=clock)
    assert await run_one(quotas, "failed-1", refund=True)
    assert await run_one(quotas, "failed-2", refund=True)
    assert await run_one(quotas, "ok-1", refund=False)
    assert await run_one(quotas, "ok-2", refund=False)
    assert (await quotas.acquire(USER, "ok-3")).reason == HOURLY_CAP
    assert (await quotas.usage(USER))["hourly_used"] == 2


async def test_release_without_refund_keeps_the_entry(quotas: Quotas) -> None:
    await run_one(quotas, "job-1", refund=False)
    usage = await quotas.usage(USER)
    assert (usage["hourly_used"], usage["daily_used"], usage["active_job"]) == (1, 1, None)


async def test_banned_user_is_refused(quotas: Quotas) -> None:
    await quotas.ban(USER)
    assert (await quotas.usage(USER))["banned"]
    assert await quotas.acquire(USER, "job-1") == Decision(False, BANNED, 0)
    await quotas.unban(USER)
    assert not (await quotas.usage(USER))["banned"]
    assert (await quotas.acquire(USER, "job-1")).allowed


async def test_admin_skips_caps_but_keeps_one_active_job(
    redis: Redis, quotas: Quotas, clock: Clock
) -> None:
    for i in range(40):  # past both the hourly and the daily cap
        assert await run_one(quotas, f"job-{i}", ADMIN)
    assert await quotas.usage(ADMIN) == {
        "hourly_used": 40,
        "hourly_limit": 10,
        "daily_used": 40,
        "daily_limit": 30,
        "active_job": None,
        "banned": False,
    }
    await redis.zadd(
        keys.ACTIVE_JOBS(), {f"other-{i}": clock.t * 1000 + 60_000 for i in range(50)}
    )
    assert (await quotas.acquire(ADMIN, "job-a")).allowed  # the global cap is full
    assert (await quotas.acquire(ADMIN, "job-b")).reason == BUSY


async def test_release_of_an_old_job_keeps_the_newer_one(redis: Redis, quotas: Quotas) -> None:
    assert (await quotas.acquire(USER, "job-1")).allowed
    assert await quotas.release(USER, "job-1", refund=False)
    assert (await quotas.acquire(USER, "job-2")).allowed
    # arq is at-least-once: job-1 may end a second time, after job-2 was admitted
    assert not await quotas.release(USER, "job-1", refund=True)
    assert await redis.get(keys.ACTIVE_JOB(user_id=USER)) == b"job-2"
    assert await quotas.active_jobs() == 1
    assert (await quotas.acquire(USER, "job-3")).reason == BUSY


async def test_acquire_is_idempotent_for_the_same_job(quotas: Quotas) -> None:
    assert (await quotas.acquire(USER, "job-1")).allowed
    assert (await quotas.acquire(USER, "job-1")).allowed
    assert (await quotas.usage(USER))["hourly_used"] == 1
    assert await quotas.active_jobs() == 1


async def test_a_lost_job_stops_counting_after_its_ttl(
    redis: Redis, quotas: Quotas, clock: Clock, settings: QuotaSettings
) -> None:
    assert (await quotas.acquire(USER, "job-1")).allowed
    ttl = await redis.ttl(keys.ACTIVE_JOB(user_id=USER))
    assert 0 < ttl <= settings.active_ttl_s
    clock.advance(settings.active_ttl_s - 1)
    assert await quotas.touch(USER, "job-1")  # a worker picked it up: the clock restarts
    clock.advance(settings.active_ttl_s - 1)
    assert await quotas.active_jobs() == 1
    clock.advance(1)
    assert await quotas.active_jobs() == 0
    assert not await quotas.touch(USER, "job-other")


async def test_only_the_active_job_key_names_the_user(redis: Redis, quotas: Quotas) -> None:
    """Bans and usage windows must survive /delete, so they are keyed by a salted hash."""
    await quotas.acquire(USER, "job-1")
    await quotas.ban(USER)
    naming = {k.decode() for k in await redis.keys("*") if str(USER) in k.decode().split(":")}
    assert naming == {keys.ACTIVE_JOB(user_id=USER)}
    assert await redis.exists(keys.BAN(ref=user_ref(USER)))
    assert await redis.exists(keys.QUOTA_WINDOW(ref=user_ref(USER)))
