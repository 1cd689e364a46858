"""Button presses through the fake Bot API: only in the presser's own chat, always answered,
and under the same flood control as messages (issue #17)."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis

from core import keys
from core.quotas import QuotaSettings
from inference.demo import astronaut, png
from inference.face import FaceAnalyzer
from locales import translate
from testkit.bot_stack import Stack, answer_consent, running_stack
from testkit.fake_telegram import Call, FakeTelegram


@pytest.fixture
async def stack(redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(redis_url, analyzer, tmp_path) as running:
        yield running


def _answer_to(stack: Stack, update: dict[str, object]) -> Call | None:
    query = update["callback_query"]
    assert isinstance(query, dict)
    answers = stack.tg.calls_of("answerCallbackQuery")
    return next((c for c in answers if c.params["callback_query_id"] == query["id"]), None)


async def test_a_press_on_another_users_message_is_answered_and_ignored(
    stack: Stack, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    victim, presser = stack.user, stack.tg.user(7002)
    victims_photo = stack.tg.push_photo(victim, png(astronaut()))
    stack.tg.push_photo(presser, png(astronaut()[:, ::-1]))  # the presser has a photo pending
    for user in (victim, presser):
        await stack.tg.wait_for(functools.partial(_asked, chat=user.id))
    question = stack.tg.chat_messages(victim.id)[-1]
    button = question["reply_markup"]["inline_keyboard"][0][0]  # "it is me"
    before = {u.id: len(stack.tg.chat_messages(u.id)) for u in (victim, presser)}
    forged = stack.tg.push_callback(
        presser, button["callback_data"], question["message_id"], chat_id=victim.id
    )
    await stack.tg.wait_for(lambda tg: _answer_to(stack, forged) is not None)
    assert {u.id: len(stack.tg.chat_messages(u.id)) for u in (victim, presser)} == before
    client = redis.Redis.from_url(redis_url)
    assert not client.exists(keys.PHOTO(user_id=presser.id))  # the presser's photo: untouched
    assert client.exists(keys.PHOTO_CANDIDATE_META(user_id=presser.id))
    ignored = [r.getMessage() for r in caplog.records if "press ignored" in r.getMessage()]
    assert ignored == ["press ignored: not in the presser's own chat"]
    await answer_consent(stack.tg, victim, victims_photo)  # the victim's own press still works
    await stack.wait_for_text(translate("photo.accepted"))


async def test_a_press_with_no_message_to_act_on_is_answered(stack: Stack) -> None:
    inline = stack.tg.push_detached_callback(stack.user, "consent:me")
    too_old = stack.tg.push_detached_callback(stack.user, "mimic:lively", old_message_id=1)
    await stack.tg.wait_for_call("answerCallbackQuery", count=2)
    await stack.tg.wait_for(lambda tg: all(c.done for c in tg.calls_of("answerCallbackQuery")))
    for press in (inline, too_old):
        answer = _answer_to(stack, press)
        assert answer is not None and not answer.failed
        assert answer.params["text"] == translate("press.stale")
    assert not stack.tg.calls_of("sendMessage")  # nothing else happened
    stack.tg.push_command(stack.user, "/start")  # and the bot is fine
    await stack.wait_for_text(translate("start"))


async def test_presses_share_the_flood_control_of_messages(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    quotas = QuotaSettings(flood_messages=3, flood_window_s=60)
    async with running_stack(redis_url, analyzer, tmp_path, quota_settings=quotas) as stack:
        stack.tg.push_command(stack.user, "/mimic")  # 1 of 3
        await stack.wait_for_text(translate("mimic.pick"))
        pick = stack.tg.chat_messages(stack.chat)[-1]
        lively = pick["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
        for _ in range(10):  # each handled press is answered (and edits the keyboard)
            stack.tg.push_callback(stack.user, lively, pick["message_id"])
        await stack.tg.wait_for_call("answerCallbackQuery", count=3)
        stack.tg.push_command(stack.tg.user(7002), "/start")  # a later update from someone else
        await stack.tg.wait_for(lambda tg: bool(tg.chat_messages(7002)))
        answers = [str(c.params.get("text")) for c in stack.tg.calls_of("answerCallbackQuery")]
        chosen, warning = translate("mimic.chosen.lively"), translate("flood.warning", seconds=1)
        assert sorted(a[:15] for a in answers) == sorted([chosen[:15]] * 2 + [warning[:15]])
        said = [m["text"] for m in stack.tg.chat_messages(stack.chat) if m["from"]["is_bot"]]
        assert said == [translate("mimic.pick")]  # no message for any press


def _asked(tg: FakeTelegram, chat: int) -> bool:
    return any(m.get("text") == translate("consent.ask") for m in tg.chat_messages(chat))
