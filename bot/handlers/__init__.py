"""Routers: private chats get the conversation, groups a polite pointer to it."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.enums import ChatType

from bot.handlers import commands, groups, preferences, requests


def root_router() -> Router:
    private = Router(name="private")
    private.message.filter(F.chat.type == ChatType.PRIVATE)
    private.include_routers(
        commands.create_router(), preferences.create_router(), requests.create_router()
    )
    root = Router(name="root")
    root.include_routers(private, groups.create_router())
    return root
