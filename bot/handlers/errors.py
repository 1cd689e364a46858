"""The last resort: an unexpected failure in a handler still gets the user an answer."""

from __future__ import annotations

import logging
import secrets

from aiogram import Router
from aiogram.types import ErrorEvent

from bot.i18n import Translator, supported

log = logging.getLogger("govorun.bot")


async def unexpected(event: ErrorEvent, t: Translator | None = None) -> None:
    ref = secrets.token_hex(4)
    # The exception's type and a reference only: its message may quote user content.
    log.error("handler failed (ref %s): %s", ref, type(event.exception).__name__)
    update = event.update
    message = update.message or (update.callback_query.message if update.callback_query else None)
    user = (update.message and update.message.from_user) or (
        update.callback_query.from_user if update.callback_query else None
    )
    if message is not None:
        # ``t`` (the user's /lang choice) is missing only when picking it failed.
        t = t or Translator(supported(user.language_code if user else None))
        await message.answer(t("error.internal", ref=ref))


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(unexpected)
    return router
