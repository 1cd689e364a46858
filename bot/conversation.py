"""The request flow behind the handlers: photo → consent → text or voice → job.

Each step returns a ``Reply`` (a locale key, its params, maybe a keyboard), so handlers stay
thin and the flow reads top to bottom here.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from dataclasses import dataclass, field

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup, Message

from bot.consent import Choice, ConsentLog
from bot.downloads import download
from bot.i18n import LanguageResolver
from bot.services import Candidate, RenderQueue, UserStore
from bot.settings import BotSettings
from core import keys
from core.contract import (
    FACE_MATCH_THRESHOLD,
    LookName,
    PhotoCheck,
    RenderJob,
    check_text,
    face_distance,
    job_id_for,
)
from core.metrics import count_refusal
from core.quotas import BUSY, Decision
from inference.errors import RenderError
from inference.settings import RenderSettings
from locales import translate

_MB = 1024 * 1024


@dataclass(frozen=True)
class Request:
    """Who asked, where, in which message: everything a job id and a reply need."""

    chat_id: int
    message_id: int
    user_id: int
    language_code: str | None = None

    @property
    def job_id(self) -> str:
        """The job this request makes (or the check it asks for), derived from the message."""
        return job_id_for(self.chat_id, self.message_id)

    @classmethod
    def of(cls, message: Message) -> Request:
        assert message.from_user is not None
        user = message.from_user
        return cls(message.chat.id, message.message_id, user.id, user.language_code)


@dataclass(frozen=True)
class Reply:
    key: str
    params: dict[str, object] = field(default_factory=dict)
    keyboard: InlineKeyboardMarkup | None = None


NO_REPLY = Reply("")


class Conversation:
    def __init__(
        self,
        bot: Bot,
        users: UserStore,
        queue: RenderQueue,
        consent: ConsentLog,
        settings: BotSettings,
        limits: RenderSettings,
        languages: LanguageResolver,
    ) -> None:
        self._bot, self._users, self._queue = bot, users, queue
        self._consent, self._settings, self._limits = consent, settings, limits
        self._languages = languages

    async def take_photo(
        self, request: Request, file_id: str, size: int | None, caption: str | None
    ) -> Reply:
        """Size checked before and during download, face checked by a worker; then consent.

        While the check runs the user sees that it does, and a text they send meanwhile is
        kept for this photo (it then stands in for the caption).
        """
        data = await self._download(file_id, size, self._settings.max_photo_mb)
        if data is None:
            return self._photo_too_big()
        language = await self._language_of(request)
        checking = await self._bot.send_message(
            request.chat_id, translate("photo.checking", language)
        )
        key = await self._users.save_candidate(request.user_id, data)

        async def moved() -> None:
            with contextlib.suppress(TelegramAPIError):  # a courtesy: never fails the check
                await checking.edit_text(translate("photo.check_moved", language))

        await self._users.begin_check(request.user_id, self._settings.check_timeout_s)
        try:
            check = await self._queue.check_photo(
                request.user_id, request.job_id, key, self._settings.check_timeout_s, moved
            )
            candidate, described = None, False
            if check.ok and check.embedding is not None:
                sha = hashlib.sha256(data).hexdigest()
                candidate = Candidate(sha, check.embedding, caption, request.message_id)
                # Described before the check ends: a text is either kept or finds the photo.
                described = await self._users.describe_candidate(request.user_id, candidate)
        finally:
            kept = await self._users.end_check(request.user_id)
        if candidate is None:
            await self._users.forget_candidate(request.user_id)
            return refused_check(check)
        if kept is not None and described:
            text, message_id = kept
            candidate = Candidate(candidate.sha256, candidate.embedding, text, message_id)
            described = await self._users.describe_candidate(request.user_id, candidate)
        if not described:
            return NO_REPLY  # deleted (/delete, /cancel) while it was being checked
        return Reply("consent.ask", keyboard=consent_keyboard(language))

    async def choose(self, request: Request, choice: Choice) -> list[Reply]:
        """The user's consent choice for the pending photo; the caption, if any, follows."""
        candidate = await self._users.candidate(request.user_id)
        if candidate is None:
            return [Reply("consent.nothing_pending")]
        outcome = await self._consent_outcome(request.user_id, candidate, choice)
        await self._consent.record(
            request.user_id, candidate.sha256, candidate.embedding, choice, outcome
        )
        if outcome != "accepted":
            if choice is Choice.CANCEL:
                await self._users.forget_candidate(request.user_id)
                return [Reply(f"consent.{outcome}", self._consent_params())]
            return [refused(outcome, Reply(f"consent.{outcome}", self._consent_params()))]
        by_permission = choice is Choice.PERMISSION
        await self._users.promote_candidate(request.user_id, by_permission=by_permission)
        replies = [Reply("photo.accepted")]
        if by_permission and self._settings.permission_look_required:
            look = await self.look_for(request.user_id)
            name = translate(f"look.name.{look}", await self._language_of(request))
            replies.append(Reply("look.required", {"look": name}))
        if candidate.caption:
            origin = Request(
                request.chat_id, candidate.message_id, request.user_id, request.language_code
            )
            replies.append(await self.take_text(origin, candidate.caption))
        return replies

    async def look_for(self, user_id: int) -> LookName:
        """The look the user's next note is drawn in: their /look, unless the operator requires
        a drawing of a face accepted with "I have permission" and they chose the photo."""
        chosen = (await self._users.preferences(user_id)).look
        if chosen != "photo" or not self._settings.permission_look_required:
            return chosen
        if await self._users.avatar_by_permission(user_id):
            return self._settings.permission_look
        return chosen

    async def verify(self, request: Request, file_id: str, size: int | None) -> Reply:
        """Strict mode: a selfie or the user's own video note becomes their verified face."""
        data = await self._download(file_id, size, self._settings.max_photo_mb)
        if data is None:
            return self._photo_too_big()
        check = await self._check_once(request, data)  # leaves any pending photo alone
        if check is None:
            return NO_REPLY  # /delete came while it was checked: keep nothing
        if not check.ok or check.embedding is None:
            return refused_check(check)
        await self._consent.set_verified_face(request.user_id, check.embedding)
        return Reply("verify.done")

    async def describe(
        self, request: Request, file_id: str, size: int | None
    ) -> PhotoCheck | None:
        """The face descriptor of any photo (admin tools); a blocked face is described too.

        None when the photo is over the size limit (or erased while it was checked).
        """
        data = await self._download(file_id, size, self._settings.max_photo_mb)
        return None if data is None else await self._check_once(request, data)

    async def _check_once(self, request: Request, data: bytes) -> PhotoCheck | None:
        """A face check of a photo kept only for it; None when ``/delete`` took it meanwhile."""
        key = await self._queue.store_blob(request.user_id, request.job_id, data)
        check = await self._queue.check_photo(
            request.user_id, request.job_id, key, self._settings.check_timeout_s
        )
        return check if await self._queue.drop(key) else None

    async def take_text(self, request: Request, text: str) -> Reply:
        try:
            seconds = check_text(text, self._limits)
        except RenderError as error:
            return refused(error.code, Reply(f"error.{error.code.value}", dict(error.params)))
        if await self._users.keep_text(request.user_id, text, request.message_id):
            return Reply("photo.text_kept")  # its photo is still being checked
        return await self._submit(request, text=text, seconds=seconds)

    async def take_voice(
        self, request: Request, file_id: str, duration: int, size: int | None
    ) -> Reply:
        """Downloaded only once the request is admitted, and dropped if it is not queued."""
        if duration > self._settings.max_voice_seconds:
            return self._voice_too_long()
        return await self._submit(request, seconds=float(duration), voice=(file_id, size))

    async def _consent_outcome(self, user_id: int, candidate: Candidate, choice: Choice) -> str:
        if choice is Choice.CANCEL:
            return "cancelled"
        if not self._settings.strict_consent:
            return "accepted"
        if choice is Choice.ME:
            verified = await self._consent.verified_face(user_id)
            if verified is None:
                return "verify_first"
            distance = face_distance(verified, candidate.embedding)
            return "accepted" if distance <= FACE_MATCH_THRESHOLD else "mismatch"
        allowed = await self._consent.use_permission(user_id, self._settings.permission_per_day)
        return "accepted" if allowed else "permission_limit"

    def _photo_too_big(self) -> Reply:
        reply = Reply("photo.too_big", {"max_mb": int(self._settings.max_photo_mb)})
        return refused("photo_too_big", reply)

    def _voice_too_long(self) -> Reply:
        limit = self._settings.max_voice_seconds
        return refused("voice_too_long", Reply("voice.too_long", {"max_seconds": limit}))

    def _consent_params(self) -> dict[str, object]:
        return {"per_day": self._settings.permission_per_day}

    async def _submit(
        self,
        request: Request,
        *,
        seconds: float,
        text: str | None = None,
        voice: tuple[str, int | None] | None = None,
    ) -> Reply:
        """Admit, then fetch the voice (if any), then queue; an admitted request that is not
        queued gives its quota back and keeps nothing."""
        if not await self._users.has_avatar(request.user_id):
            pending = await self._users.candidate(request.user_id)
            if pending:
                return refused("consent_needed", Reply("consent.needed"))
            return refused("photo_needed", Reply("photo.needed"))
        decision = await self._queue.claim(request.job_id, request.user_id)
        if decision is None:
            return NO_REPLY  # the same update again: it is being handled already
        if not decision.allowed:
            return _refusal(decision)
        audio_key = None
        try:
            if voice is not None:
                audio = await self._download(*voice, self._settings.max_voice_mb)
                if audio is None:
                    await self._queue.release(request.user_id, request.job_id)
                    return self._voice_too_long()
                audio_key = await self._queue.store_audio(request.user_id, request.job_id, audio)
            await self._enqueue(request, seconds, text, audio_key)
        except BaseException:
            await self._queue.release(request.user_id, request.job_id)  # nothing queued
            if audio_key is not None:
                await self._queue.drop(audio_key)
            raise
        return NO_REPLY

    async def _enqueue(
        self,
        request: Request,
        seconds: float,
        text: str | None,
        audio_key: str | None,
    ) -> None:
        language = await self._language_of(request)
        status = await self._bot.send_message(
            request.chat_id, translate("status.queued", language, position=1)
        )
        preferences = await self._users.preferences(request.user_id)
        job = RenderJob(
            job_id=request.job_id,
            chat_id=request.chat_id,
            user_id=request.user_id,
            request_message_id=request.message_id,
            status_message_id=status.message_id,
            photo_key=keys.PHOTO(user_id=request.user_id),
            text=text,
            audio_key=audio_key,
            voice=preferences.voice,
            mimic=preferences.mimic,
            look=await self.look_for(request.user_id),
            language=language,
            estimated_seconds=seconds,
        )
        position = await self._queue.submit(job)
        if position is not None and position > 1:
            await status.edit_text(translate("status.queued", language, position=position))

    async def _language_of(self, request: Request) -> str:
        return await self._languages.language(request.user_id, request.language_code)

    async def _download(self, file_id: str, size: int | None, limit_mb: float) -> bytes | None:
        """The file, or None when it is over ``limit_mb``: by its announced size, before any
        download, or while it streams (Telegram may not announce one)."""
        limit = int(limit_mb * _MB)
        if size is not None and size > limit:
            return None
        return await download(self._bot, file_id, limit)


def _refusal(decision: Decision) -> Reply:
    """Every quota refusal says when the user may try again."""
    if decision.reason == BUSY:
        return refused(BUSY, Reply("job.busy"))
    minutes = max(1, math.ceil(decision.retry_after_s / 60))
    return refused(str(decision.reason), Reply(f"quota.{decision.reason}", {"minutes": minutes}))


def refused(reason: str, reply: Reply) -> Reply:
    """``reply`` refuses a request: counted under ``reason``, a fixed word."""
    count_refusal(reason)
    return reply


def refused_check(check: PhotoCheck) -> Reply:
    """A photo the worker's face check refused (or that no worker checked in time)."""
    return refused(str(check.error), Reply(f"error.{check.error}", dict(check.params)))


def consent_keyboard(language: str) -> InlineKeyboardMarkup:
    from aiogram.utils.keyboard import InlineKeyboardBuilder

    from bot.handlers.callbacks import ConsentChoice

    keyboard = InlineKeyboardBuilder()
    for choice in Choice:
        label = translate(f"consent.button.{choice.value}", language)
        keyboard.button(text=label, callback_data=ConsentChoice(choice=choice.value))
    markup = keyboard.adjust(1).as_markup()
    assert isinstance(markup, InlineKeyboardMarkup)
    return markup
