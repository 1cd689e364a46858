from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import Message

from bot.i18n import Translator
from bot.services import RenderQueue, UserStore


async def delete_my_data(
    message: Message, t: Translator, users: UserStore, queue: RenderQueue, state: FSMContext
) -> None:
    """The queue first (it reads the user's job index), then every key that names the user."""
    assert message.from_user is not None
    await state.clear()
    running = await queue.forget(message.from_user.id)
    await users.delete_everything(message.from_user.id)
    await message.answer(t("delete.done") + (f"\n{t('delete.running')}" if running else ""))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(delete_my_data, Command("delete"))
    return router
