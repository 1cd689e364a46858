"""Factories for the dispatcher and its services (the wakaree/aiogram_bot_template shape)."""

from __future__ import annotations

from dataclasses import dataclass, fields

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import CallbackQuery, Message
from arq.connections import ArqRedis

from bot.admin import AdminService
from bot.consent import ConsentLog
from bot.conversation import Conversation
from bot.handlers import root_router
from bot.i18n import LanguageMiddleware, LanguageResolver, Translator
from bot.presses import OwnChatPresses
from bot.services import RenderQueue, UserStore
from bot.settings import BotSettings
from bot.throttling import ThrottlingMiddleware
from bot.updates import SkipEmptyUpdates, withhold_aiogram_exception_texts
from bot.workers import VoiceCatalog
from core.quotas import Quotas, QuotaSettings
from inference.settings import RenderSettings


@dataclass(frozen=True)
class BotServices:
    """What handlers may ask for: each field reaches them as a parameter of that name.

    Settings are read once per process here; ``limits`` are the render limits the bot checks
    texts against, from the same ``RENDER_`` variables the worker reads.
    """

    settings: BotSettings
    limits: RenderSettings
    users: UserStore
    queue: RenderQueue
    consent_log: ConsentLog
    admin: AdminService
    voices: VoiceCatalog
    languages: LanguageResolver
    conversation: Conversation

    def as_kwargs(self) -> dict[str, object]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def create_services(
    bot: Bot,
    redis: ArqRedis,
    settings: BotSettings,
    quotas: Quotas,
    limits: RenderSettings,
) -> BotServices:
    ttl = settings.photo_ttl_hours * 3600
    users = UserStore(redis, photo_ttl_s=ttl)
    queue = RenderQueue(redis, quotas, blob_ttl_s=ttl)
    consent_log = ConsentLog(redis)
    languages = LanguageResolver(users)
    conversation = Conversation(bot, users, queue, consent_log, settings, limits, languages)
    return BotServices(
        settings=settings,
        limits=limits,
        users=users,
        queue=queue,
        consent_log=consent_log,
        admin=AdminService(redis, quotas),
        voices=VoiceCatalog(redis),
        languages=languages,
        conversation=conversation,
    )


def create_dispatcher(
    bot: Bot,
    redis: ArqRedis,
    settings: BotSettings,
    quota_settings: QuotaSettings | None = None,
    limits: RenderSettings | None = None,
) -> Dispatcher:
    """Services travel as dispatcher kwargs and reach handlers as typed parameters."""
    admins = frozenset(settings.admin_ids)
    quota_settings = quota_settings or QuotaSettings()
    quotas = Quotas(redis, quota_settings, admins)
    services = create_services(bot, redis, settings, quotas, limits or RenderSettings())
    dispatcher = Dispatcher(storage=RedisStorage(redis))
    dispatcher.workflow_data.update(services.as_kwargs())
    withhold_aiogram_exception_texts()
    dispatcher.update.outer_middleware(SkipEmptyUpdates())
    # Update-level outer middlewares run before the message-level ones, so the throttle
    # (and its warning) already has the user's language.
    dispatcher.update.outer_middleware(LanguageMiddleware(services.languages))
    throttle = ThrottlingMiddleware(redis, quota_settings, admins, _warn_flood)
    dispatcher.message.outer_middleware(throttle)
    dispatcher.callback_query.outer_middleware(throttle)
    dispatcher.callback_query.outer_middleware(OwnChatPresses())
    dispatcher.include_router(root_router(admins))
    return dispatcher


async def _warn_flood(event: Message | CallbackQuery, seconds: int, t: Translator) -> None:
    await event.answer(t("flood.warning", seconds=seconds))  # a press: as its notification
