from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.conversation import Conversation, Reply, Request
from bot.i18n import Translator


async def answer(message: Message, t: Translator, reply: Reply) -> None:
    if reply.key:
        await message.answer(t(reply.key, **reply.params), reply_markup=reply.keyboard)


async def photo(message: Message, t: Translator, conversation: Conversation) -> None:
    assert message.photo
    largest = message.photo[-1]
    request = Request.of(message)
    reply = await conversation.take_photo(
        request, largest.file_id, largest.file_size, message.caption
    )
    await answer(message, t, reply)


async def image_document(message: Message, t: Translator, conversation: Conversation) -> None:
    assert message.document
    document = message.document
    request = Request.of(message)
    reply = await conversation.take_photo(
        request, document.file_id, document.file_size, message.caption
    )
    await answer(message, t, reply)


async def voice(message: Message, t: Translator, conversation: Conversation) -> None:
    media = message.voice or message.audio
    assert media is not None
    request = Request.of(message)
    reply = await conversation.take_voice(request, media.file_id, media.duration, media.file_size)
    await answer(message, t, reply)


async def text(message: Message, t: Translator, conversation: Conversation) -> None:
    assert message.text
    await answer(message, t, await conversation.take_text(Request.of(message), message.text))


async def anything_else(message: Message, t: Translator) -> None:
    await message.answer(t("unsupported"))


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(photo, F.photo)
    router.message.register(image_document, F.document.mime_type.startswith("image/"))
    router.message.register(voice, F.voice | F.audio)
    router.message.register(text, F.text & ~F.text.startswith("/"))
    router.message.register(anything_else)
    return router
