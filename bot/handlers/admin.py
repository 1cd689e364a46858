"""Admin commands, for ADMIN_IDS only; to everyone else they do not exist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.admin import AdminService
from bot.consent import ConsentLog
from bot.conversation import Conversation, Request
from bot.i18n import Translator


async def stats(message: Message, t: Translator, admin: AdminService) -> None:
    s = await admin.stats()
    workers = "\n".join(f"• {line}" for line in s.workers) or "—"
    await message.answer(
        t(
            "admin.stats",
            queued=s.queued,
            active=s.active,
            jobs=s.jobs_today,
            failed=s.failed_today,
            count=len(s.workers),
            workers=workers,
        )
    )


async def ban(
    message: Message, command: CommandObject, t: Translator, admin: AdminService
) -> None:
    await _on_user(message, command, t, "/ban", admin.ban, "admin.banned")


async def unban(
    message: Message, command: CommandObject, t: Translator, admin: AdminService
) -> None:
    await _on_user(message, command, t, "/unban", admin.unban, "admin.unbanned")


async def _on_user(
    message: Message,
    command: CommandObject,
    t: Translator,
    name: str,
    action: Callable[[int], Awaitable[None]],
    done_key: str,
) -> None:
    user_id = _user_id(command)
    if user_id is None:
        await message.answer(t("admin.usage_user", command=name))
        return
    await action(user_id)
    await message.answer(t(done_key, user_id=user_id))


async def block_face(
    message: Message, t: Translator, admin: AdminService, conversation: Conversation
) -> None:
    embedding = await _replied_face(message, t, conversation)
    if embedding is not None:
        await message.answer(t("admin.face_blocked", face_id=await admin.block_face(embedding)))


async def unblock_face(
    message: Message, t: Translator, admin: AdminService, conversation: Conversation
) -> None:
    embedding = await _replied_face(message, t, conversation)
    if embedding is not None:
        count = await admin.unblock_face(embedding)
        await message.answer(t("admin.face_unblocked", count=count))


async def audit(
    message: Message, command: CommandObject, t: Translator, consent_log: ConsentLog
) -> None:
    user_id = _user_id(command)
    if user_id is None:
        await message.answer(t("admin.usage_user", command="/audit"))
        return
    entries = await consent_log.recent(user_id)
    lines = [f"{e.time} {e.choice} → {e.outcome} photo {e.photo_sha256[:12]}" for e in entries]
    await message.answer(t("admin.audit", user_id=user_id, entries="\n".join(lines) or "—"))


async def _replied_face(
    message: Message, t: Translator, conversation: Conversation
) -> list[float] | None:
    """The face of the photo this command replies to; None (and a hint) when there is none."""
    replied = message.reply_to_message
    check = None
    if replied is not None and replied.photo:
        photo = replied.photo[-1]
        check = await conversation.describe(Request.of(message), photo.file_id, photo.file_size)
    if check is None or check.embedding is None:
        await message.answer(t("admin.reply_to_photo"))
        return None
    return check.embedding


def _user_id(command: CommandObject) -> int | None:
    argument = (command.args or "").strip()
    return int(argument) if argument.isdigit() else None


def create_router(admin_ids: frozenset[int]) -> Router:
    router = Router(name=__name__)
    router.message.filter(F.from_user.id.in_(admin_ids))
    router.message.register(stats, Command("stats"))
    router.message.register(ban, Command("ban"))
    router.message.register(unban, Command("unban"))
    router.message.register(block_face, Command("blockface"))
    router.message.register(unblock_face, Command("unblockface"))
    router.message.register(audit, Command("audit"))
    return router
