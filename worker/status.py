"""What the user sees while a job runs: status-message edits and the chat action."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter

from core.contract import RenderJob
from inference.pipeline import Progress
from locales import translate

_CHAT_ACTION_EVERY_S = 4.5  # Telegram shows an action for about 5 s


class ChatProgress(Progress):
    """Turns render stages into status-message edits, from the render thread to the loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        notify: Callable[[str], Coroutine[Any, Any, None]],
    ) -> None:
        super().__init__()
        self._loop = loop
        self._notify = notify

    def stage(self, name: str) -> None:
        asyncio.run_coroutine_threadsafe(self._notify(name), self._loop)


class StatusMessage:
    """The bot's "queued" message, edited through the stages; never edited twice the same.

    A job makes at most five edits (speech, animation, encoding, sending, done), well inside
    Telegram's per-chat limits, so edits are not throttled further.

    Stage edits come from the render thread and may lag; once a final state is shown (a
    forced edit), late stage edits are dropped so they cannot overwrite it.
    """

    def __init__(self, bot: Bot, job: RenderJob) -> None:
        self._bot, self._job = bot, job
        self._shown = ""
        self._final = False
        self._lock = asyncio.Lock()

    async def show(self, key: str, *, force: bool = False, **params: object) -> None:
        text = translate(key, self._job.language, **params)
        async with self._lock:
            if text == self._shown or (self._final and not force):
                return
            self._final = self._final or force
            self._shown = text
            # A status edit is a courtesy: a deleted message or a rate limit must not fail the job.
            with contextlib.suppress(
                TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
            ):
                await self._bot.edit_message_text(
                    text=text, chat_id=self._job.chat_id, message_id=self._job.status_message_id
                )


async def keep_chat_action(bot: Bot, chat_id: int) -> None:
    with contextlib.suppress(Exception):
        while True:
            await bot.send_chat_action(chat_id, ChatAction.RECORD_VIDEO_NOTE)
            await asyncio.sleep(_CHAT_ACTION_EVERY_S)
