"""Picks each user's language (their choice, else Telegram's) and hands handlers ``t``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User

from bot.services import UserStore
from locales import DEFAULT_LANGUAGE, LANGUAGES, translate


class Translator:
    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, key: str, **params: object) -> str:
        return translate(key, self.language, **params)


class LanguageMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        language = DEFAULT_LANGUAGE
        if user is not None:
            users: UserStore = data["users"]
            chosen = (await users.preferences(user.id)).language
            telegram = (user.language_code or "")[:2]
            language = chosen or (telegram if telegram in LANGUAGES else DEFAULT_LANGUAGE)
        data["t"] = Translator(language)
        return await handler(event, data)
