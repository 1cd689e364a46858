"""Choosing a look (issue 13): ``/look`` in the bot (remembered in Redis, across a restart),
``--look`` in the CLI, ``RenderJob.look`` in the queue, and the operator's rule that another
person's face is only ever drawn. Unknown looks are refused everywhere with a message."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from bot.settings import BotSettings
from core.contract import LOOKS, StylizedLook
from core.quotas import QuotaSettings
from inference.animate import looks
from inference.face import FaceAnalyzer
from locales import LANGUAGES, translate
from testkit.bot_stack import (
    TEXT,
    Stack,
    consent,
    queued_job,
    record_renders,
    running_stack,
    send_photo,
)
from testkit.fake_telegram import Json


def test_the_bot_offers_the_renderers_looks_with_names_in_every_language() -> None:
    assert LOOKS == looks.LOOKS  # the contract's copy (the bot imports no numpy)
    assert typing.get_args(StylizedLook) == looks.STYLIZED
    for language in LANGUAGES:
        names = {translate(f"look.name.{name}", language) for name in LOOKS}
        assert len(names) == len(LOOKS), language
        for name in LOOKS:
            assert translate(f"look.chosen.{name}", language)


def _buttons(message: Json) -> list[Json]:
    return [b for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def _open_looks(stack: Stack) -> Json:
    """Send /look; the bot's keyboard message."""
    before = len(stack.tg.chat_messages(stack.chat))
    stack.tg.push_command(stack.user, "/look")
    pick = translate("look.pick")
    await stack.tg.wait_for(
        lambda tg: any(m.get("text") == pick for m in tg.chat_messages(stack.chat)[before:])
    )
    return stack.tg.chat_messages(stack.chat)[-1]


async def _press(stack: Stack, keyboard: Json, name: str) -> Json:
    """Press the button for look ``name``; the bot's answer to the press."""
    label = translate(f"look.name.{name}")
    button = next(b for b in _buttons(keyboard) if b["text"].endswith(label))
    return await _press_data(stack, keyboard, button["callback_data"])


async def _press_data(stack: Stack, keyboard: Json, data: str) -> Json:
    answered = len(stack.tg.calls_of("answerCallbackQuery"))
    stack.tg.push_callback(stack.user, data, keyboard["message_id"])
    calls = await stack.tg.wait_for_call("answerCallbackQuery", count=answered + 1)
    return calls[-1].params


async def _queued_look(stack: Stack, text: str = TEXT) -> object:
    """Ask for a note; the look its queued job carried, once the note was sent."""
    before = stack.texts().count(translate("status.done"))
    job = await queued_job(stack, stack.tg.push_text(stack.user, text), before + 1)
    return job["look"]


async def test_the_look_choice_survives_a_bot_restart(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    names = [translate(f"look.name.{name}") for name in LOOKS]
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        keyboard = await _open_looks(stack)
        marked = translate("look.current", name=names[0])
        assert [b["text"] for b in _buttons(keyboard)] == [marked, *names[1:]]  # photo first
        answer = await _press(stack, keyboard, "cartoon")
        assert answer["text"] == translate("look.chosen.cartoon")
        assert not answer.get("show_alert")
        await stack.tg.wait_for_call("editMessageReplyMarkup", stack.chat)  # the mark moves
    # A new bot process: the same Redis, nothing else carried over.
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        keyboard = await _open_looks(stack)
        marked = translate("look.current", name=names[1])
        assert [b["text"] for b in _buttons(keyboard)] == [names[0], marked, *names[2:]]
        await send_photo(stack)
        assert await _queued_look(stack) == "cartoon"


async def test_a_forged_look_button_is_answered_and_changes_nothing(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        keyboard = await _open_looks(stack)
        await _press(stack, keyboard, "sketch")
        answer = await _press_data(stack, keyboard, "look:neon")
        assert answer["text"] == translate("look.unknown") and answer["show_alert"]
        keyboard = await _open_looks(stack)  # still the sketch
        marked = translate("look.current", name=translate("look.name.sketch"))
        assert marked in [b["text"] for b in _buttons(keyboard)]


async def test_the_operator_can_require_a_drawing_of_another_persons_face(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = BotSettings(permission_look_required=True, permission_look="sketch")
    # Presses count against flood control like messages: this test makes a dozen quickly.
    quotas = QuotaSettings(flood_messages=20)
    async with running_stack(
        redis_url, analyzer, tmp_path, bot_settings=settings, quota_settings=quotas
    ) as stack:
        rendered = record_renders(stack, "look", monkeypatch)
        told = translate("look.required", look=translate("look.name.sketch"))
        await consent(stack, stack.tg.push_photo(stack.user, _photo()), "permission")
        await stack.wait_for_text(told)  # said when the photo is accepted
        assert await _queued_look(stack) == "sketch"  # the user's look is the photo
        keyboard = await _open_looks(stack)
        answer = await _press(stack, keyboard, "painting")  # a drawing of their own choice
        assert answer["text"] == translate("look.chosen.painting")
        assert await _queued_look(stack, "Второй кружок.") == "painting"
        answer = await _press(stack, keyboard, "photo")  # not for this face
        assert answer["text"] == told and answer["show_alert"]
        assert await _queued_look(stack, "Третий кружок.") == "sketch"
        # The user's own face ("it is me") may be a photo again.
        accepted = translate("photo.accepted")
        await consent(stack, stack.tg.push_photo(stack.user, _photo()), "me")
        await stack.tg.wait_for(lambda tg: stack.texts().count(accepted) == 2)
        assert await _queued_look(stack, "Четвёртый кружок.") == "photo"
        assert stack.texts().count(told) == 1
        assert rendered == ["sketch", "painting", "sketch", "photo"]  # what the worker drew


def _photo() -> bytes:
    from inference.demo import astronaut, png

    return png(astronaut())
