from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.i18n import Translator
from bot.services import UserStore
from bot.settings import BotSettings
from inference.settings import RenderSettings


async def start(message: Message, t: Translator) -> None:
    await message.answer(t("start"))


async def help_(
    message: Message, t: Translator, settings: BotSettings, limits: RenderSettings
) -> None:
    max_seconds = int(limits.max_note_seconds)
    await message.answer(t("help", max_seconds=max_seconds, max_voice=settings.max_voice_seconds))


async def privacy(message: Message, t: Translator, settings: BotSettings) -> None:
    await message.answer(t("privacy", photo_hours=settings.photo_ttl_hours))


async def cancel(message: Message, t: Translator, users: UserStore) -> None:
    assert message.from_user is not None
    await users.forget_avatar(message.from_user.id)
    await message.answer(t("cancel"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(start, CommandStart())
    router.message.register(help_, Command("help"))
    router.message.register(privacy, Command("privacy"))
    router.message.register(cancel, Command("cancel"))
    return router
