"""Flood throttling of messages and button presses, shared by every bot replica through Redis.

A sliding log per user (``govorun:flood:{user}``, one sorted-set entry per admitted message or
press): at most ``flood_messages`` in any ``flood_window_s``. The first one over the limit gets
one warning, the rest are dropped silently until a slot frees, so a flood cannot turn the bot
into a flood of warnings. Refused ones are not logged: a user who keeps sending is let
through again as soon as their own earlier messages age out, never locked out for good. A
press's warning comes as its answer (a notification over the chat); a dropped press is not
answered, as a dropped message is not (the client stops waiting on its own).

Register as an *outer* middleware of both ``dp.message`` and ``dp.callback_query`` so every
message and press counts, whichever handler (or none) would take it.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from redis.asyncio import Redis
from redis.typing import EncodableT

from bot.events import Handler
from bot.i18n import Translator
from core import keys
from core.metrics import count_refusal
from core.quotas import QuotaSettings

Counted = Message | CallbackQuery
Warn = Callable[[Counted, int, Translator], Awaitable[None]]

PASS: Final = 0
WARN: Final = 1
DROP: Final = 2

# KEYS: log, warned. ARGV: now_ms, window_ms, limit, member.
# Returns {PASS|WARN|DROP, seconds until a slot frees}.
_THROTTLE = """
local log, warned = KEYS[1], KEYS[2]
local now, span, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', log, '-inf', now - span)
local count = redis.call('ZCARD', log)
if count < limit then
  redis.call('ZADD', log, now, ARGV[4])
  redis.call('PEXPIRE', log, span)
  return {0, 0}
end
local entry = redis.call('ZRANGE', log, count - limit, count - limit, 'WITHSCORES')
local free_at = tonumber(entry[2]) + span
local wait = math.max(1, math.ceil((free_at - now) / 1000))
-- one warning per blocked stretch: the key holds when that stretch ends
if tonumber(redis.call('GET', warned) or '0') > now then return {2, wait} end
redis.call('SET', warned, free_at, 'PX', span)
return {1, wait}
"""


class ThrottlingMiddleware(BaseMiddleware):
    def __init__(
        self,
        redis: Redis,
        settings: QuotaSettings,
        admin_ids: frozenset[int],
        warn: Warn,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._settings, self._admins, self._warn, self._now = settings, admin_ids, warn, now
        self._script = redis.register_script(_THROTTLE)

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Counted) or not self._counts(event.from_user):
            return await handler(event, data)
        assert event.from_user is not None  # checked by _counts
        verdict, wait_s = await self._check(event.from_user.id)
        if verdict == PASS:
            return await handler(event, data)
        count_refusal("flood")
        if verdict == WARN:
            await self._warn(event, wait_s, data["t"])
        return None

    def _counts(self, user: User | None) -> bool:
        # Channel posts and anonymous admins have no user to throttle; admins are exempt.
        return user is not None and user.id not in self._admins

    async def _check(self, user_id: int) -> tuple[int, int]:
        args: list[EncodableT] = [
            math.floor(self._now() * 1000),
            max(1, round(self._settings.flood_window_s * 1000)),
            self._settings.flood_messages,
            uuid.uuid4().hex,  # unique member: two messages in the same ms both count
        ]
        names = [keys.FLOOD(user_id=user_id), keys.FLOOD_WARNED(user_id=user_id)]
        verdict, wait_s = await self._script(keys=names, args=args)
        return int(verdict), int(wait_s)
