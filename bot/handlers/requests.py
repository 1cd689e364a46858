from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.conversation import Conversation, Reply
from bot.i18n import Translator


async def _answer(message: Message, t: Translator, reply: Reply) -> None:
    if reply.key:
        await message.answer(t(reply.key, **reply.params))


async def photo(message: Message, t: Translator, conversation: Conversation) -> None:
    assert message.photo
    largest = message.photo[-1]
    await _take_photo(message, t, conversation, largest.file_id, largest.file_size)


async def image_document(message: Message, t: Translator, conversation: Conversation) -> None:
    assert message.document
    document = message.document
    await _take_photo(message, t, conversation, document.file_id, document.file_size)


async def _take_photo(
    message: Message, t: Translator, conversation: Conversation, file_id: str, size: int | None
) -> None:
    """A new avatar; a caption on it is the text to speak."""
    reply = await conversation.take_photo(message, file_id, size)
    await _answer(message, t, reply)
    if reply.key == "photo.accepted" and message.caption:
        await _answer(message, t, await conversation.take_text(message, message.caption))


async def voice(message: Message, t: Translator, conversation: Conversation) -> None:
    media = message.voice or message.audio
    assert media is not None
    reply = await conversation.take_voice(message, media.file_id, media.duration, media.file_size)
    await _answer(message, t, reply)


async def text(message: Message, t: Translator, conversation: Conversation) -> None:
    assert message.text
    await _answer(message, t, await conversation.take_text(message, message.text))


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
