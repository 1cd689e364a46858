"""Quotas shared by every bot replica and worker, all state in one Redis.

``Quotas.acquire`` decides in one Lua script, so concurrent requests from any number of bot
replicas cannot both pass a check before either records its job. In order:

1. banned (``govorun:ban:{user}`` exists)                    -> ``banned``
2. one active job per user (``govorun:active:{user}``)       -> ``busy``
3. hourly cap, sliding window over the last hour             -> ``hourly_cap``
4. daily cap, sliding window over the last 24 hours          -> ``daily_cap``
5. global cap on queued + running jobs (``govorun:jobs:active``) -> ``busy_global``

Windows are *sliding*: one sorted set per user (``govorun:quota:{user}``), member = job id,
score = acquire time in ms. Sliding windows cannot be gamed at a window edge (2x the cap across
midnight), and job ids as members make a refund exact: ``ZREM`` of that one job.

Admins skip 3-5 (their jobs are still recorded, so ``usage`` and the global count see them) but
keep one active job at a time: a second render of the same admin would only queue behind the
first anyway, and the rule keeps a mistyped burst from an admin account from filling the queue.

The clock is injectable and passed into the scripts as an argument (not Redis ``TIME``), so tests
can move time; key TTLs use Redis' own clock and only collect garbage, they decide nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypedDict

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import Redis
from redis.typing import EncodableT

from core import keys
from core.contract import user_ref

BANNED: Final = "banned"
BUSY: Final = "busy"
HOURLY_CAP: Final = "hourly_cap"
DAILY_CAP: Final = "daily_cap"
BUSY_GLOBAL: Final = "busy_global"

HOUR_S: Final = 3600
DAY_S: Final = 24 * HOUR_S


class QuotaSettings(BaseSettings):
    """Environment prefix ``QUOTA_``; limits are per user unless named global."""

    model_config = SettingsConfigDict(env_prefix="QUOTA_", env_file=".env", extra="ignore")

    hourly: int = Field(10, ge=1)
    daily: int = Field(30, ge=1)
    queue_cap: int = Field(50, ge=1)  # global: queued + running jobs
    seconds_per_job_estimate: float = Field(20.0, gt=0)  # for "try again in ~N min"
    flood_messages: int = Field(8, ge=1)
    flood_window_s: float = Field(10.0, gt=0)
    # A job that never reports its end (worker killed past arq's retries) stops blocking its
    # user and the global cap after this long. It must exceed queue wait + render time; the
    # worker may call ``Quotas.touch`` at job start to restart the clock.
    active_ttl_s: int = Field(15 * 60, ge=60)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None  # one of the constants above when refused
    retry_after_s: int = 0  # 0 when waiting would not help (banned) or is unknown (busy)


class Usage(TypedDict):
    hourly_used: int
    hourly_limit: int
    daily_used: int
    daily_limit: int
    active_job: str | None
    banned: bool


# KEYS: ban, active, window, global.
# ARGV: job, now_ms, admin (0/1), hourly, daily, queue_cap, active_ttl_s, ms_per_job.
# Returns {allowed 0/1, reason or '', retry_after_s}.
_ACQUIRE = """
local ban, active, window, global = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local job, now, admin = ARGV[1], tonumber(ARGV[2]), ARGV[3] == '1'
local hourly, daily, cap = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local ttl, ms_per_job = tonumber(ARGV[7]), tonumber(ARGV[8])
local hour, day = 3600000, 86400000

-- Seconds until the window holds fewer than `limit` entries, or nil when it already does.
local function wait_s(since, limit, span)
  local count = redis.call('ZCOUNT', window, '(' .. since, '+inf')
  if count < limit then return nil end
  -- the entry whose expiry brings the count back under the limit (the oldest, normally)
  local entry = redis.call('ZRANGEBYSCORE', window, '(' .. since, '+inf',
                           'WITHSCORES', 'LIMIT', count - limit, 1)
  return math.max(1, math.ceil((tonumber(entry[2]) + span - now) / 1000))
end

if redis.call('EXISTS', ban) == 1 then return {0, 'banned', 0} end
local holder = redis.call('GET', active)
if holder == job then return {1, '', 0} end  -- the same request again: already granted
if holder then return {0, 'busy', 0} end

redis.call('ZREMRANGEBYSCORE', window, '-inf', now - day)
redis.call('ZREMRANGEBYSCORE', global, '-inf', now)  -- scores are deadlines: drop the dead
if not admin then
  local wait = wait_s(now - hour, hourly, hour)
  if wait then return {0, 'hourly_cap', wait} end
  wait = wait_s(now - day, daily, day)
  if wait then return {0, 'daily_cap', wait} end
  local running = redis.call('ZCARD', global)
  if running >= cap then
    return {0, 'busy_global', math.max(1, math.ceil((running - cap + 1) * ms_per_job / 1000))}
  end
end

redis.call('SET', active, job, 'EX', ttl)
redis.call('ZADD', window, now, job)
redis.call('PEXPIRE', window, day)
redis.call('ZADD', global, now + ttl * 1000, job)
return {1, '', 0}
"""

# KEYS: active, window, global. ARGV: job, refund (0/1). Returns 1 when the active key was ours.
_RELEASE = """
local mine = redis.call('GET', KEYS[1]) == ARGV[1]
if mine then redis.call('DEL', KEYS[1]) end
redis.call('ZREM', KEYS[3], ARGV[1])
if ARGV[2] == '1' then redis.call('ZREM', KEYS[2], ARGV[1]) end
return mine and 1 or 0
"""

# KEYS: active, global. ARGV: job, now_ms, active_ttl_s. Returns 1 when the job is still active.
_TOUCH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], tonumber(ARGV[2]) + tonumber(ARGV[3]) * 1000, ARGV[1])
return 1
"""


class Quotas:
    """Admission control for render jobs; the bot acquires, the worker releases."""

    def __init__(
        self,
        redis: Redis,
        settings: QuotaSettings,
        admin_ids: frozenset[int] = frozenset(),
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._redis, self._settings, self._admins, self._now = redis, settings, admin_ids, now
        # register_script runs EVALSHA and reloads the script after a Redis restart by itself.
        self._acquire = redis.register_script(_ACQUIRE)
        self._release = redis.register_script(_RELEASE)
        self._touch = redis.register_script(_TOUCH)

    async def acquire(self, user_id: int, job_id: str) -> Decision:
        """Admit ``job_id`` and record it, or say why not; safe to repeat for the same job."""
        s = self._settings
        args: list[EncodableT] = [
            job_id,
            self._now_ms(),
            int(user_id in self._admins),
            s.hourly,
            s.daily,
            s.queue_cap,
            s.active_ttl_s,
            s.seconds_per_job_estimate * 1000,
        ]
        ref = user_ref(user_id)
        names = [
            keys.BAN(ref=ref),
            keys.ACTIVE_JOB(user_id=user_id),
            keys.QUOTA_WINDOW(ref=ref),
            keys.ACTIVE_JOBS(),
        ]
        allowed, reason, retry = await self._acquire(keys=names, args=args)
        text = reason.decode() if isinstance(reason, bytes) else str(reason)
        return Decision(bool(allowed), text or None, int(retry))

    async def release(self, user_id: int, job_id: str, *, refund: bool) -> bool:
        """The job ended. ``refund`` when it failed through no fault of the user.

        Clears the user's active key only while it still holds ``job_id`` (a late, repeated
        release of an old job must not free a newer one); True when it did.
        """
        window = keys.QUOTA_WINDOW(ref=user_ref(user_id))
        names = [keys.ACTIVE_JOB(user_id=user_id), window, keys.ACTIVE_JOBS()]
        return bool(await self._release(keys=names, args=[job_id, int(refund)]))

    async def touch(self, user_id: int, job_id: str) -> bool:
        """Restart the active TTL when a worker picks the job up; False when no longer active."""
        names = [keys.ACTIVE_JOB(user_id=user_id), keys.ACTIVE_JOBS()]
        args: list[EncodableT] = [job_id, self._now_ms(), self._settings.active_ttl_s]
        return bool(await self._touch(keys=names, args=args))

    async def ban(self, user_id: int, seconds: int | None = None) -> None:
        await self._redis.set(keys.BAN(ref=user_ref(user_id)), b"1", ex=seconds)

    async def unban(self, user_id: int) -> None:
        await self._redis.delete(keys.BAN(ref=user_ref(user_id)))

    async def usage(self, user_id: int) -> Usage:
        now = self._now_ms()
        window = keys.QUOTA_WINDOW(ref=user_ref(user_id))
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zcount(window, f"({now - HOUR_S * 1000}", "+inf")
            pipe.zcount(window, f"({now - DAY_S * 1000}", "+inf")
            pipe.get(keys.ACTIVE_JOB(user_id=user_id))
            pipe.exists(keys.BAN(ref=user_ref(user_id)))
            hourly, daily, active, banned = await pipe.execute()
        return Usage(
            hourly_used=int(hourly),
            hourly_limit=self._settings.hourly,
            daily_used=int(daily),
            daily_limit=self._settings.daily,
            active_job=active.decode() if isinstance(active, bytes) else active,
            banned=bool(banned),
        )

    async def active_jobs(self) -> int:
        """Queued + running jobs that the global cap counts (past their deadline: not)."""
        return int(await self._redis.zcount(keys.ACTIVE_JOBS(), f"({self._now_ms()}", "+inf"))

    def _now_ms(self) -> int:
        # Whole milliseconds: exact in Lua's doubles and in sorted-set scores.
        return math.floor(self._now() * 1000)
