"""The aiogram ``Bot`` as both the bot and the worker build it."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from core.config import TelegramSettings


def create_bot(settings: TelegramSettings) -> Bot:
    token = settings.bot_token.get_secret_value()
    if not token:
        raise SystemExit("BOT_TOKEN is not set (see .env.example)")
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        if settings.telegram_api_base
        else AiohttpSession()
    )
    return Bot(token, session=session)
