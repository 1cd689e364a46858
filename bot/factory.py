"""Factories for the dispatcher and its services (the wakaree/aiogram_bot_template shape)."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import Message
from arq.connections import ArqRedis

from bot.admin import AdminService
from bot.consent import ConsentLog
from bot.conversation import Conversation
from bot.handlers import root_router
from bot.i18n import LanguageMiddleware, Translator
from bot.services import RenderQueue, UserStore
from bot.settings import BotSettings
from bot.throttling import ThrottlingMiddleware
from bot.workers import VoiceCatalog
from core.quotas import Quotas, QuotaSettings


def create_dispatcher(
    bot: Bot,
    redis: ArqRedis,
    settings: BotSettings,
    quota_settings: QuotaSettings | None = None,
) -> Dispatcher:
    """Services travel as dispatcher kwargs and reach handlers as typed parameters."""
    ttl = settings.photo_ttl_hours * 3600
    admins = frozenset(settings.admin_ids)
    quota_settings = quota_settings or QuotaSettings()
    quotas = Quotas(redis, quota_settings, admins)
    users = UserStore(redis, photo_ttl_s=ttl)
    queue = RenderQueue(redis, quotas, blob_ttl_s=ttl)
    consent_log = ConsentLog(redis)
    dispatcher = Dispatcher(
        storage=RedisStorage(redis),
        settings=settings,
        users=users,
        queue=queue,
        consent_log=consent_log,
        admin=AdminService(redis, quotas),
        voices=VoiceCatalog(redis),
        conversation=Conversation(bot, users, queue, consent_log, settings),
    )
    dispatcher.update.outer_middleware(LanguageMiddleware())
    dispatcher.message.outer_middleware(
        ThrottlingMiddleware(redis, quota_settings, admins, _warn_flood)
    )
    dispatcher.include_router(root_router(admins))
    return dispatcher


async def _warn_flood(message: Message, seconds: int) -> None:
    # Runs before the language middleware has a say for this message: use the user's
    # Telegram language, which is what /lang defaults to anyway.
    language = (message.from_user.language_code if message.from_user else None) or "ru"
    await message.answer(Translator(language[:2])("flood.warning", seconds=seconds))
