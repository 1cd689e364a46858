"""Each user's language, in one place: their /lang choice, else Telegram's, else Russian.

Every reply goes through :class:`LanguageResolver`: the middleware hands handlers ``t`` made
from it, and the replies sent outside a handler (flood warnings, the last-resort error, the
worker's status messages via ``RenderJob.language``) use the same answer.
"""

from __future__ import annotations

from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.events import Handler
from bot.services import UserStore
from locales import DEFAULT_LANGUAGE, LANGUAGES, translate


class Translator:
    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, key: str, **params: object) -> str:
        return translate(key, self.language, **params)


def supported(telegram_code: str | None) -> str:
    """A Telegram client's language if we speak it, else the default."""
    code = (telegram_code or "")[:2]
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


class LanguageResolver:
    def __init__(self, users: UserStore) -> None:
        self._users = users

    async def language(self, user_id: int, telegram_code: str | None) -> str:
        chosen = (await self._users.preferences(user_id)).language
        return chosen or supported(telegram_code)

    async def translator(self, user: User | None) -> Translator:
        if user is None:
            return Translator(DEFAULT_LANGUAGE)
        return Translator(await self.language(user.id, user.language_code))


class LanguageMiddleware(BaseMiddleware):
    """Outer middleware of every update: ``t`` for handlers, error handlers and throttling."""

    def __init__(self, languages: LanguageResolver) -> None:
        self._languages = languages

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        data["t"] = await self._languages.translator(data.get("event_from_user"))
        return await handler(event, data)
