"""The request flow behind the handlers: photo in, text or voice in, job out.

Each method returns the locale key (and params) of the answer, so handlers stay thin and the
flow is testable on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.types import Message

from bot.services import RenderQueue, UserStore
from bot.settings import BotSettings
from inference.contract import RenderJob, check_text, job_id_for, photo_key
from inference.errors import RenderError

_MB = 1024 * 1024


@dataclass(frozen=True)
class Reply:
    key: str
    params: dict[str, object] = field(default_factory=dict)


class Conversation:
    def __init__(
        self, bot: Bot, users: UserStore, queue: RenderQueue, settings: BotSettings
    ) -> None:
        self._bot, self._users, self._queue, self._settings = bot, users, queue, settings

    async def take_photo(self, message: Message, file_id: str, size: int | None) -> Reply:
        """Size checked before download; the face is checked by a worker right away."""
        assert message.from_user is not None
        if size is not None and size > self._settings.max_photo_mb * _MB:
            return Reply("photo.too_big", {"max_mb": int(self._settings.max_photo_mb)})
        data = await self._download(file_id)
        user_id = message.from_user.id
        key = await self._users.save_candidate(user_id, data)
        check = await self._queue.check_photo(
            message.chat.id, message.message_id, key, self._settings.check_timeout_s
        )
        if not check.ok:
            return Reply(f"error.{check.error}", dict(check.params))
        await self._users.promote_candidate(user_id)
        return Reply("photo.accepted")

    async def take_text(self, message: Message, text: str) -> Reply:
        try:
            seconds = check_text(text)
        except RenderError as error:
            return Reply(f"error.{error.code.value}", dict(error.params))
        return await self._submit(message, text=text, seconds=seconds)

    async def take_voice(
        self, message: Message, file_id: str, duration: int, size: int | None
    ) -> Reply:
        if duration > self._settings.max_voice_seconds:
            return Reply("voice.too_long", {"max_seconds": self._settings.max_voice_seconds})
        if size is not None and size > self._settings.max_voice_mb * _MB:
            return Reply("voice.too_long", {"max_seconds": self._settings.max_voice_seconds})
        audio = await self._download(file_id)
        key = await self._queue.store_audio(message.chat.id, message.message_id, audio)
        return await self._submit(message, audio_key=key, seconds=float(duration))

    async def _submit(
        self,
        message: Message,
        *,
        seconds: float,
        text: str | None = None,
        audio_key: str | None = None,
    ) -> Reply:
        assert message.from_user is not None
        user_id = message.from_user.id
        if not await self._users.has_avatar(user_id):
            return Reply("photo.needed")
        job_id = job_id_for(message.chat.id, message.message_id)
        claim = await self._queue.claim(job_id, user_id)
        if claim == "duplicate":
            return Reply("")  # the same update again: it is being handled already
        if claim == "busy":
            return Reply("job.busy")
        preferences = await self._users.preferences(user_id)
        language = preferences.language or (message.from_user.language_code or "ru")[:2]
        status = await message.answer(self._queued_text(language))
        job = RenderJob(
            job_id=job_id,
            chat_id=message.chat.id,
            user_id=user_id,
            request_message_id=message.message_id,
            status_message_id=status.message_id,
            photo_key=photo_key(user_id),
            text=text,
            audio_key=audio_key,
            voice=preferences.voice,
            language=language if language in ("ru", "en") else "ru",
            estimated_seconds=seconds,
        )
        position = await self._queue.submit(job)
        if position is not None and position > 1:
            await status.edit_text(self._queued_text(job.language, position))
        return Reply("")

    @staticmethod
    def _queued_text(language: str, position: int = 1) -> str:
        from locales import translate

        return translate("status.queued", language, position=position)

    async def _download(self, file_id: str) -> bytes:
        buffer = await self._bot.download(file_id)
        assert buffer is not None
        return buffer.read()
