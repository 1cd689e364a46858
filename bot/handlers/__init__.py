"""Routers: private chats get the conversation, groups a polite pointer to it."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType

from bot.handlers import (
    admin,
    commands,
    consent,
    errors,
    groups,
    preferences,
    privacy,
    requests,
)


def root_router(admin_ids: frozenset[int]) -> Router:
    private = Router(name="private")
    private.message.filter(F.chat.type == ChatType.PRIVATE)
    private.include_routers(
        admin.create_router(admin_ids),
        commands.create_router(),
        privacy.create_router(),
        consent.create_router(),
        preferences.create_router(),
        requests.create_router(),
    )
    root = Router(name="root")
    root.include_routers(private, groups.create_router(), errors.create_router())
    return root
