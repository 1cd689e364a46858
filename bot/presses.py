"""Button presses act only in the presser's own private chat.

Handlers use the presser's data (their photo, their preferences) and answer in the chat of the
pressed message, so the two must be the same: a press on a message in any other chat (a forged
update, a keyboard seen in a group) is answered and ignored. So is a press with no message to
act on: inline mode (the bot has none) or a message too old for Telegram to attach.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.events import Handler

log = logging.getLogger("govorun.bot")


class OwnChatPresses(BaseMiddleware):
    """Outer middleware of ``dp.callback_query``, after the throttle."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        message = event.message
        if not isinstance(message, Message):
            log.info("press ignored: no message attached")
            await event.answer(data["t"]("press.stale"))
            return None
        if message.chat.type != ChatType.PRIVATE or message.chat.id != event.from_user.id:
            log.info("press ignored: not in the presser's own chat")  # no ids, no data
            await event.answer()
            return None
        return await handler(event, data)
