"""Flood throttling through real aiogram messages and a real Redis, on a movable clock."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram.types import Message, TelegramObject
from redis.asyncio import Redis

from bot.i18n import Translator
from bot.throttling import Counted, ThrottlingMiddleware
from core import keys
from core.quotas import QuotaSettings

USER = 1001
ADMIN = 7
START = 1_700_000_000.0


def message(user_id: int, message_id: int) -> Message:
    return Message.model_validate(
        {
            "message_id": message_id,
            "date": int(START),
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Тест"},
            "text": "привет",
        }
    )


RU = Translator("ru")


class Harness:
    """The middleware around a counting handler, with the warnings it asked for."""

    def __init__(self, redis: Redis, settings: QuotaSettings) -> None:
        self.t = START
        self.handled: list[int] = []
        self.warnings: list[tuple[int, int]] = []
        self.middleware = ThrottlingMiddleware(
            redis, settings, frozenset({ADMIN}), self._warn, now=lambda: self.t
        )

    async def send(self, user_id: int, count: int, first_id: int = 1) -> None:
        """``count`` messages at once, as concurrent updates from several replicas would be."""
        ids = range(first_id, first_id + count)
        await asyncio.gather(
            *(self.middleware(self._handle, message(user_id, i), {"t": RU}) for i in ids)
        )

    async def _handle(self, event: TelegramObject, data: dict[str, Any]) -> None:
        assert isinstance(event, Message)
        self.handled.append(event.message_id)

    async def _warn(self, event: Counted, seconds: int, t: Translator) -> None:
        assert t is RU  # the warning speaks the user's language, which the update carries
        assert isinstance(event, Message)
        self.warnings.append((event.message_id, seconds))


@pytest.fixture
def harness(redis: Redis) -> Harness:
    return Harness(redis, QuotaSettings(flood_messages=8, flood_window_s=10.0))


async def test_flood_is_cut_with_one_warning(harness: Harness) -> None:
    await harness.send(USER, 20)
    assert len(harness.handled) == 8
    assert len(harness.warnings) == 1
    assert harness.warnings[0][1] == 10  # all eight came at once: the window frees in 10 s


async def test_warning_names_the_seconds_left(harness: Harness) -> None:
    await harness.send(USER, 8)
    harness.t += 3.2
    await harness.send(USER, 2, first_id=100)
    assert harness.warnings == [(100, 7)]  # 6.8 s left, rounded up
    assert len(harness.handled) == 8


async def test_a_new_window_lets_messages_through_again(harness: Harness) -> None:
    await harness.send(USER, 20)
    harness.t += 10
    await harness.send(USER, 20, first_id=100)
    assert len(harness.handled) == 16
    assert len(harness.warnings) == 2  # one per blocked stretch
    assert len([i for i in harness.handled if i >= 100]) == 8


async def test_the_window_slides(harness: Harness) -> None:
    for i in range(8):  # one message a second fills the window
        await harness.send(USER, 1, first_id=i)
        harness.t += 1
    await harness.send(USER, 1, first_id=50)  # t = 8 s: still eight inside the last 10 s
    harness.t = START + 10  # the first message (t = 0) has left the window
    await harness.send(USER, 2, first_id=60)
    assert sorted(harness.handled) == [*range(8), 60]
    assert [w[0] for w in harness.warnings] == [50, 61]


async def test_users_are_throttled_apart(harness: Harness) -> None:
    await harness.send(USER, 20)
    await harness.send(USER + 1, 3, first_id=100)
    assert len(harness.handled) == 8 + 3


async def test_admin_is_never_throttled(harness: Harness, redis: Redis) -> None:
    await harness.send(ADMIN, 50)
    assert len(harness.handled) == 50
    assert harness.warnings == []
    assert not await redis.exists(keys.FLOOD(user_id=ADMIN))


async def test_flood_keys_name_the_user_so_delete_finds_them(
    harness: Harness, redis: Redis
) -> None:
    await harness.send(USER, 20)
    written = {key.decode() for key in await redis.keys("*")}
    assert written and written <= {keys.FLOOD(user_id=USER), keys.FLOOD_WARNED(user_id=USER)}
