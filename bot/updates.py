"""Updates the bot cannot read: skipped by id, answered 400 on the webhook, never logged whole.

Polling gets its half from ``core.telegram.Session`` (an update that does not parse arrives as
its bare id); here such an empty update is dropped before any handler, the webhook refuses a
body that is no update, and aiogram's own log records lose the messages of the exceptions they
carry: aiogram logs an exception's text, and a parse error's text is the update itself.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import BaseMiddleware, loggers
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.types import TelegramObject, Update
from aiogram.types.update import UpdateTypeLookupError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from pydantic import ValidationError

from bot.events import Handler

log = logging.getLogger("govorun.bot")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class SkipEmptyUpdates(BaseMiddleware):
    """Outer middleware of ``dp.update``: an update with nothing this bot reads (one cut down
    to its id, or of a type newer than aiogram) is dropped here, before aiogram would warn
    with its whole content."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if isinstance(event, Update):
            try:
                event.event_type  # noqa: B018 (raises for an update of no known type)
            except UpdateTypeLookupError:
                log.info("update %d skipped: nothing to handle", event.update_id)
                return UNHANDLED
        return await handler(event, data)


class WebhookHandler(SimpleRequestHandler):
    """aiogram's webhook handler; a body with the right secret that is no update gets 400."""

    async def handle(self, request: web.Request) -> web.Response:
        secret = request.headers.get(SECRET_HEADER, "")
        if self.verify_secret(secret, self.bot) and not await self._is_update(request):
            return web.Response(status=400, text="not an update")
        return await super().handle(request)

    async def _is_update(self, request: web.Request) -> bool:
        try:  # aiohttp keeps the body, so aiogram reads it again
            body = await request.json(loads=self.bot.session.json_loads)
            Update.model_validate(body, context={"bot": self.bot})
        except (ValueError, ValidationError) as error:
            log.warning("webhook body refused: %s", type(error).__name__)
            return False
        return True


class WithholdExceptionText(logging.Filter):
    """Keeps an exception's type and traceback in aiogram's records, never its message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _withheld(arg) if isinstance(arg, BaseException) else arg for arg in record.args
            )
        if record.exc_info and record.exc_info[1] is not None:
            _, error, traceback = record.exc_info
            withheld = _Withheld(_withheld(error))
            record.exc_info = (_Withheld, withheld, traceback)
            record.exc_text = None
        return True


class _Withheld(Exception):
    """Stands in for a logged exception whose text may quote user content."""


def _withheld(error: BaseException) -> str:
    return f"{type(error).__name__} (text not logged)"


def withhold_aiogram_exception_texts() -> None:
    """Filter every aiogram logger (once per process)."""
    for logger in (
        loggers.dispatcher,
        loggers.event,
        loggers.middlewares,
        loggers.webhook,
        loggers.scene,
    ):
        if not any(isinstance(f, WithholdExceptionText) for f in logger.filters):
            logger.addFilter(WithholdExceptionText())
