"""The last resort: an unexpected failure in a handler still gets the user an answer."""

from __future__ import annotations

import logging
import secrets

from aiogram import Router
from aiogram.types import ErrorEvent

from locales import translate

log = logging.getLogger("govorun.bot")


async def unexpected(event: ErrorEvent) -> None:
    ref = secrets.token_hex(4)
    # The exception's type and a reference only: its message may quote user content.
    log.error("handler failed (ref %s): %s", ref, type(event.exception).__name__)
    update = event.update
    message = update.message or (update.callback_query.message if update.callback_query else None)
    user = (update.message and update.message.from_user) or (
        update.callback_query.from_user if update.callback_query else None
    )
    language = (user.language_code or "ru")[:2] if user else "ru"
    if message is not None:
        await message.answer(translate("error.internal", language, ref=ref))


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(unexpected)
    return router
