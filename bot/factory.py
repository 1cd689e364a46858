"""Factories for the dispatcher and its services (the wakaree/aiogram_bot_template shape)."""

from __future__ import annotations

from aiogram import Bot, Dispatcher
from aiogram.fsm.storage.redis import RedisStorage
from arq.connections import ArqRedis

from bot.conversation import Conversation
from bot.handlers import root_router
from bot.i18n import LanguageMiddleware
from bot.services import RenderQueue, UserStore
from bot.settings import BotSettings


def create_dispatcher(bot: Bot, redis: ArqRedis, settings: BotSettings) -> Dispatcher:
    """Services travel as dispatcher kwargs and reach handlers as typed parameters."""
    ttl = settings.photo_ttl_hours * 3600
    users = UserStore(redis, photo_ttl_s=ttl)
    queue = RenderQueue(redis, blob_ttl_s=ttl)
    dispatcher = Dispatcher(
        storage=RedisStorage(redis),
        settings=settings,
        users=users,
        queue=queue,
        conversation=Conversation(bot, users, queue, settings),
    )
    dispatcher.update.outer_middleware(LanguageMiddleware())
    dispatcher.include_router(root_router())
    return dispatcher
