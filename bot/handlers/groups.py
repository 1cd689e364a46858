from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import Message

from bot.i18n import Translator


async def private_only(message: Message, t: Translator) -> None:
    await message.answer(t("groups_only_private"))


def create_router() -> Router:
    """Groups get one polite pointer to the private chat; the rest is ignored there."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type.in_({ChatType.GROUP, ChatType.SUPERGROUP}))
    router.message.register(private_only, Command("start", "help"))
    router.message.register(private_only, F.photo | F.voice)
    return router
