"""Runs the bot: long polling by default, or a webhook server behind a load balancer."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot, Dispatcher
from aiogram.types import BotCommand
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web
from arq import create_pool
from arq.connections import RedisSettings as ArqRedisSettings

from bot.factory import create_dispatcher
from bot.settings import BotSettings
from bot.updates import WebhookHandler
from core.config import RedisSettings, TelegramSettings
from core.metrics import MetricsSettings, serve_metrics
from core.telegram import create_bot

log = logging.getLogger("govorun.bot")
COMMANDS = {
    "start": "Начать",
    "help": "Как пользоваться",
    "voice": "Выбрать голос",
    "mimic": "Мимика лица",
    "look": "Стиль: фото или рисунок",
    "lang": "Язык / Language",
    "verify": "Подтвердить своё лицо",
    "delete": "Удалить мои данные",
    "privacy": "Условия и данные",
    "cancel": "Начать заново",
}


async def run_bot() -> None:
    settings = BotSettings()
    redis_url = RedisSettings().redis_url
    redis = await create_pool(ArqRedisSettings.from_dsn(redis_url))
    bot = create_bot(TelegramSettings())
    dispatcher = create_dispatcher(bot, redis, settings)
    await bot.set_my_commands([BotCommand(command=c, description=d) for c, d in COMMANDS.items()])
    metrics = serve_metrics(MetricsSettings(), redis_url)
    try:
        if settings.mode == "webhook":
            await _serve_webhook(bot, dispatcher, settings)
        else:
            await bot.delete_webhook()
            await dispatcher.start_polling(bot)
    finally:
        if metrics is not None:
            metrics.close()
        await bot.session.close()
        await redis.aclose()


def create_webhook_app(bot: Bot, dispatcher: Dispatcher, settings: BotSettings) -> web.Application:
    """The aiohttp app for webhook mode; updates without the secret token header get 401,
    bodies that are no update 400."""
    secret = settings.webhook_secret.get_secret_value()
    if not secret:
        raise SystemExit("BOT_WEBHOOK_SECRET must be set in webhook mode")
    app = web.Application()
    WebhookHandler(dispatcher, bot, secret_token=secret).register(app, path=settings.webhook_path)
    setup_application(app, dispatcher, bot=bot)
    return app


async def _serve_webhook(bot: Bot, dispatcher: Dispatcher, settings: BotSettings) -> None:
    app = create_webhook_app(bot, dispatcher, settings)
    await bot.set_webhook(
        settings.webhook_base_url + settings.webhook_path,
        secret_token=settings.webhook_secret.get_secret_value(),
    )
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.webhook_host, settings.webhook_port).start()
    log.info("webhook listening on %s:%d", settings.webhook_host, settings.webhook_port)
    try:
        await asyncio.Event().wait()  # serve until the process is stopped
    finally:
        await runner.cleanup()
