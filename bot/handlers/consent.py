from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message

from bot.consent import Choice
from bot.conversation import Conversation, Request
from bot.handlers.callbacks import ConsentChoice
from bot.handlers.requests import answer
from bot.i18n import Translator


class Verification(StatesGroup):
    waiting = State()


async def consent_chosen(
    query: CallbackQuery, callback_data: ConsentChoice, t: Translator, conversation: Conversation
) -> None:
    assert isinstance(query.message, Message)
    user = query.from_user
    request = Request(query.message.chat.id, query.message.message_id, user.id, user.language_code)
    await query.answer()
    for reply in await conversation.choose(request, Choice(callback_data.choice)):
        await answer(query.message, t, reply)


async def start_verification(message: Message, t: Translator, state: FSMContext) -> None:
    await state.set_state(Verification.waiting)
    await message.answer(t("verify.ask"))


async def verification_media(
    message: Message, t: Translator, state: FSMContext, conversation: Conversation
) -> None:
    media = message.video_note or (message.photo[-1] if message.photo else None)
    assert media is not None
    await state.clear()
    await answer(
        message, t, await conversation.verify(Request.of(message), media.file_id, media.file_size)
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.callback_query.register(consent_chosen, ConsentChoice.filter(F.choice.in_(set(Choice))))
    router.message.register(start_verification, Command("verify"))
    router.message.register(verification_media, Verification.waiting, F.video_note | F.photo)
    return router
