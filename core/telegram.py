"""The aiogram ``Bot`` as both the bot and the worker build it."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import ClientDecodeError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Update
from pydantic import ValidationError

from core.config import TelegramSettings

log = logging.getLogger("govorun.telegram")


class Session(AiohttpSession):
    """aiogram's session, minus two ways for user content to reach a log line.

    aiogram parses a getUpdates batch as a whole: one update it cannot read fails the batch,
    the error quotes every update in it (other users' texts, a shared contact's phone), and
    polling asks for the same batch again, forever. Here such an update is replaced by its bare
    id, so the rest is handled and the offset moves past it; and a response that does not
    parse is reported without its content.
    """

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        try:
            return super().check_response(bot, method, status_code, content)
        except ClientDecodeError as error:
            polled = isinstance(method, GetUpdates)  # a flag: keeps ``method`` generic
            readable = _readable_updates(self, bot, content) if polled else None
            if readable is not None:
                return super().check_response(bot, method, status_code, readable)
            summary = ValueError(f"{type(error.original).__name__}; content not logged")
            raise ClientDecodeError(error.message, summary, "[not logged]") from None


def _readable_updates(session: AiohttpSession, bot: Bot, content: str) -> str | None:
    """The batch with each update that does not parse cut down to its id; None if no batch."""
    try:
        batch: Any = session.json_loads(content)
        updates = batch["result"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(updates, list):
        return None
    kept = []
    for update in updates:
        try:
            Update.model_validate(update, context={"bot": bot})
            kept.append(update)
        except ValidationError as error:
            update_id = update.get("update_id") if isinstance(update, dict) else None
            if not isinstance(update_id, int):
                update_id = None  # the id is all that is logged: only a number
            log.warning(
                "update %s skipped: %d fields do not parse", update_id, error.error_count()
            )
            if update_id is not None:
                kept.append({"update_id": update_id})  # handled as empty: the offset passes it
    batch["result"] = kept
    return session.json_dumps(batch)


def create_bot(settings: TelegramSettings) -> Bot:
    token = settings.bot_token.get_secret_value()
    if not token:
        raise SystemExit("BOT_TOKEN is not set (see .env.example)")
    base = settings.telegram_api_base
    session = Session(api=TelegramAPIServer.from_base(base)) if base else Session()
    return Bot(token, session=session)
