"""Updates the bot cannot read (issue #17): skipped by id, never logged with their content, and
never retried forever; the webhook answers them 400 without a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import ClientDecodeError
from aiogram.methods import GetUpdates, SendMessage
from aiogram.types import Message
from arq import create_pool
from arq.connections import RedisSettings as ArqRedisSettings

from bot.factory import create_dispatcher
from bot.settings import BotSettings
from bot.updates import withhold_aiogram_exception_texts
from core.config import TelegramSettings
from core.telegram import Session, create_bot
from inference.face import FaceAnalyzer
from locales import translate
from testkit.bot_stack import TOKEN, running_stack
from testkit.fake_telegram import FakeTelegram

SECRET_TEXT = "Секретный текст другого пользователя"
PHONE = "+79161234567"


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as a handler would write it, tracebacks included (not the fake's own)."""
    formatter = logging.Formatter("%(name)s %(message)s")
    ours = [r for r in caplog.records if r.name != "aiohttp.access"]
    return "\n".join(formatter.format(record) for record in ours)


def _malformed(update_id: int) -> dict[str, Any]:
    """A message update that does not parse (no date, a chat without type), with content."""
    message = {"message_id": 1, "chat": {"id": 7003}, "text": SECRET_TEXT}
    return {"update_id": update_id, "message": message}


async def test_a_malformed_update_is_skipped_and_the_batch_is_not_logged(
    redis_url: str,
    analyzer: FaceAnalyzer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    recwarn: pytest.WarningsRecorder,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        contact = stack.tg.user(7002)
        # One batch: someone's contact, an update that does not parse, someone's text.
        stack.tg.push_raw(
            {
                "update_id": 900_001,
                "message": {
                    "message_id": 1,
                    "date": 1_700_000_000,
                    "chat": {"id": contact.id, "type": "private", "first_name": "C"},
                    "from": contact.as_json(),
                    "contact": {"phone_number": PHONE, "first_name": "Мама"},
                },
            }
        )
        stack.tg.push_raw(_malformed(900_002))
        stack.tg.push_text(stack.user, SECRET_TEXT)  # update 900003
        await stack.tg.wait_for(lambda tg: bool(tg.chat_messages(contact.id)))
        assert stack.tg.chat_messages(contact.id)[-1]["text"] == translate("unsupported")
        await stack.wait_for_text(translate("photo.needed"))  # the text after it was handled
        await stack.tg.wait_for(lambda tg: not tg.pending_updates)  # confirmed: not asked again
        assert stack.tg.calls_of("getUpdates")[-1].params["offset"] == 900_004
    logged = _logged(caplog)
    assert "update 900002 skipped" in logged
    assert SECRET_TEXT not in logged and PHONE not in logged and "Мама" not in logged
    assert not [w for w in recwarn if SECRET_TEXT in str(w.message)]


async def test_the_webhook_answers_a_body_that_is_no_update_with_400(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from aiohttp.test_utils import TestServer

    from bot.main import create_webhook_app

    caplog.set_level(logging.DEBUG)
    async with FakeTelegram(token=TOKEN) as tg:
        monkeypatch.setenv("BOT_TOKEN", TOKEN)
        monkeypatch.setenv("TELEGRAM_API_BASE", tg.base_url)
        settings = BotSettings(webhook_secret="s3cret", webhook_path="/hook")
        pool = await create_pool(ArqRedisSettings.from_dsn(redis_url))
        bot = create_bot(TelegramSettings())
        app = create_webhook_app(bot, create_dispatcher(bot, pool, settings), settings)
        async with TestServer(app, host="127.0.0.1") as server:
            url = str(server.make_url("/hook"))
            not_json = f"{{'text': '{SECRET_TEXT}'".encode()
            assert await tg.post_body(url, not_json, secret_token="s3cret") == 400
            assert await tg.post_update(url, _malformed(5), secret_token="s3cret") == 400
            assert await tg.post_body(url, not_json, secret_token="wrong") == 401  # no hint
            good = tg.push_command(tg.user(7100), "/start")
            assert await tg.post_update(url, good, secret_token="s3cret") == 200
            await tg.wait_for_call("sendMessage", 7100)
        await bot.session.close()
        await pool.aclose()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    logged = _logged(caplog)
    assert "webhook body refused" in logged and SECRET_TEXT not in logged


async def test_aiogram_logs_a_failing_handler_without_the_exceptions_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """aiogram's own ``Cause exception while process update`` line, through a bare dispatcher
    whose handler fails with user text in its message: the type and traceback stay."""

    async def failing(message: Message) -> None:
        raise RuntimeError(f"could not handle {message.text}")

    withhold_aiogram_exception_texts()
    caplog.set_level(logging.DEBUG)
    async with FakeTelegram(token=TOKEN) as tg:
        bot = Bot(TOKEN, session=Session(api=tg.api_server))
        dispatcher = Dispatcher()
        dispatcher.message.register(failing)
        polling = asyncio.create_task(
            dispatcher.start_polling(bot, handle_signals=False, polling_timeout=1)
        )
        tg.push_text(tg.user(7004), SECRET_TEXT)
        async with asyncio.timeout(30):  # logging tells nobody: look until it is there
            while "Cause exception" not in _logged(caplog):
                await asyncio.sleep(0.05)
        await dispatcher.stop_polling()
        await polling
        await bot.session.close()
    logged = _logged(caplog)
    assert "Cause exception while process update" in logged
    assert "RuntimeError (text not logged)" in logged and "in failing" in logged  # traceback
    assert SECRET_TEXT not in logged


async def test_a_response_that_does_not_parse_is_reported_without_its_content() -> None:
    bot = Bot(TOKEN, session=Session())
    unreadable = {"update_id": 3, "message": {"text": SECRET_TEXT}}
    batch = json.dumps({"ok": True, "result": [unreadable, {"update_id": 4}]})
    response = bot.session.check_response(bot, GetUpdates(), 200, batch)
    assert [u.update_id for u in response.result or []] == [3, 4]  # 3 reduced to its id
    answer = json.dumps({"ok": True, "result": {"text": SECRET_TEXT}})
    with pytest.raises(ClientDecodeError) as raised:
        bot.session.check_response(bot, SendMessage(chat_id=1, text="x"), 200, answer)
    assert SECRET_TEXT not in str(raised.value) and "ValidationError" in str(raised.value)
    await bot.session.close()
