"""Consent, strict mode, the face blocklist, quotas, admin commands and /delete, all through
the fake Bot API with real workers and Redis (issue #4)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import redis

from bot.settings import BotSettings
from core import keys
from core.quotas import QuotaSettings
from inference.demo import astronaut, png
from inference.face import FaceAnalyzer, frame_square, load_image
from inference.media import NoteEncoder
from locales import translate
from testkit.bot_stack import TEXT, Stack, check_note, consent, running_stack, send_photo
from testkit.face_assets import require_fixture

ADMIN = 9100


def _keys_naming(redis_url: str, user_id: int) -> list[str]:
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.scan_iter(count=1000)]
    return [k for k in keys if str(user_id) in k.split(":")]


async def test_no_choice_no_render_and_the_choice_is_audited(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        photo = png(astronaut())
        update = stack.tg.push_photo(stack.user, photo)
        await stack.wait_for_text(translate("consent.ask"))
        stack.tg.push_text(stack.user, TEXT)
        await stack.wait_for_text(translate("consent.needed"))
        await consent(stack, update, "me")
        await stack.wait_for_text(translate("photo.accepted"))
        stack.tg.push_text(stack.user, TEXT + " ")
        check_note(stack, (await stack.wait_for_notes())[0])
    entries: list[Any] = redis.Redis.from_url(redis_url).xrange(keys.AUDIT())  # type: ignore[assignment]
    assert len(entries) == 1
    fields = {k.decode(): v.decode() for k, v in entries[0][1].items()}
    assert fields["choice"] == "me" and fields["outcome"] == "accepted"
    assert fields["photo_sha256"] == hashlib.sha256(photo).hexdigest()
    assert len(fields["face"]) == 16 and fields["version"] and fields["time"]
    assert str(stack.user.id) not in " ".join(fields.values())  # the user only as a hash


async def test_cancel_drops_the_photo(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        photo = stack.tg.push_photo(stack.user, png(astronaut()))
        await consent(stack, photo, "cancel")
        await stack.wait_for_text(translate("consent.cancelled"))
        stack.tg.push_text(stack.user, TEXT)
        await stack.wait_for_text(translate("photo.needed"))


def _video_note(photo: bytes, analyzer: FaceAnalyzer, path: Path) -> bytes:
    """A short round video of a face, standing in for the user's own video note."""
    image = load_image(photo)
    framed = frame_square(image, analyzer.find_face(image), 320).image
    silence = np.zeros(16000, np.float32)
    with NoteEncoder(path, size=320, fps=10, audio=silence, sample_rate=16000) as encoder:
        for shift in range(10):
            encoder.write(np.roll(framed, shift, axis=1))
    return path.read_bytes()


async def test_strict_mode_verifies_the_face_and_limits_the_permission_path(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    obama = require_fixture("obama.jpg").read_bytes()
    obama2 = require_fixture("obama2.jpg").read_bytes()
    biden = require_fixture("biden.jpg").read_bytes()
    settings = BotSettings(strict_consent=True, permission_per_day=1)
    async with running_stack(redis_url, analyzer, tmp_path, settings) as stack:
        photo = stack.tg.push_photo(stack.user, obama)
        await consent(stack, photo, "me")
        await stack.wait_for_text(translate("consent.verify_first"))
        stack.tg.push_command(stack.user, "/verify")
        await stack.wait_for_text(translate("verify.ask"))
        video = _video_note(obama2, analyzer, tmp_path / "selfie.mp4")
        stack.tg.push_video_note(stack.user, video, duration=1, length=320)
        await stack.wait_for_text(translate("verify.done"))
        await _choose_again(stack, "me")  # the pending obama.jpg now matches the verified face
        await stack.wait_for_text(translate("photo.accepted"))
        photo = stack.tg.push_photo(stack.user, biden)
        await consent(stack, photo, "me")
        await stack.wait_for_text(translate("consent.mismatch"))
        await _choose_again(stack, "permission")
        accepted = translate("photo.accepted")
        await stack.tg.wait_for(lambda tg: stack.texts().count(accepted) == 2)
        photo = stack.tg.push_photo(stack.user, biden)
        await consent(stack, photo, "permission")
        await stack.wait_for_text(translate("consent.permission_limit", per_day=1))


async def _choose_again(stack: Stack, choice: str) -> None:
    """Press a button of the latest consent question once more."""
    question = [m for m in stack.tg.chat_messages(stack.chat) if m.get("reply_markup")][-1]
    buttons = [b for row in question["reply_markup"]["inline_keyboard"] for b in row]
    button = next(b for b in buttons if b["text"] == translate(f"consent.button.{choice}"))
    stack.tg.push_callback(stack.user, button["callback_data"], question["message_id"])


async def test_an_admin_blocks_a_face_for_everyone(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    obama = require_fixture("obama.jpg").read_bytes()
    obama2 = require_fixture("obama2.jpg").read_bytes()
    settings = BotSettings(admin_ids=[ADMIN])
    async with running_stack(redis_url, analyzer, tmp_path, settings) as stack:
        admin = stack.tg.user(ADMIN)
        photo_update = stack.tg.push_photo(admin, obama)
        await stack.tg.wait_for(lambda tg: _said(tg.chat_messages(ADMIN), "consent.ask"))
        stack.tg.push_command(admin, "/blockface", reply_to=photo_update["message"])
        await stack.tg.wait_for(
            lambda tg: any("стоп-лист" in str(m.get("text")) for m in tg.chat_messages(ADMIN))
        )
        stack.tg.push_photo(stack.user, obama2)  # another user, another photo, same person
        await stack.wait_for_text(translate("error.face_blocked"))
        stack.tg.push_command(admin, "/unblockface", reply_to=photo_update["message"])
        unblocked = translate("admin.face_unblocked", count=1)
        await stack.tg.wait_for(lambda tg: _said(tg.chat_messages(ADMIN), unblocked, raw=True))
        stack.tg.push_photo(stack.user, obama2)
        await stack.wait_for_text(translate("consent.ask"))


def _said(messages: list[dict[str, object]], key_or_text: str, raw: bool = False) -> bool:
    text = key_or_text if raw else translate(key_or_text)
    return any(m.get("text") == text for m in messages)


async def test_ban_stats_audit_are_for_admins_only(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    settings = BotSettings(admin_ids=[ADMIN])
    async with running_stack(redis_url, analyzer, tmp_path, settings) as stack:
        admin = stack.tg.user(ADMIN)
        stack.tg.push_command(stack.user, "/stats")  # not an admin: the command does not exist
        await stack.wait_for_text(translate("unsupported"))
        await send_photo(stack)
        stack.tg.push_command(admin, f"/ban {stack.user.id}")
        banned = translate("admin.banned", user_id=stack.user.id)
        await stack.tg.wait_for(lambda tg: _said(tg.chat_messages(ADMIN), banned, raw=True))
        stack.tg.push_text(stack.user, TEXT)
        await stack.wait_for_text(translate("quota.banned"))
        stack.tg.push_command(admin, f"/unban {stack.user.id}")
        unbanned = translate("admin.unbanned", user_id=stack.user.id)
        await stack.tg.wait_for(lambda tg: _said(tg.chat_messages(ADMIN), unbanned, raw=True))
        stack.tg.push_text(stack.user, TEXT + " ")
        await stack.wait_for_notes()
        await stack.wait_for_text(translate("status.done"))
        stack.tg.push_command(admin, "/stats")
        await stack.tg.wait_for(
            lambda tg: any("tts=espeak" in str(m.get("text")) for m in tg.chat_messages(ADMIN))
        )
        stats = [
            str(m["text"]) for m in stack.tg.chat_messages(ADMIN) if "📊" in str(m.get("text"))
        ]
        assert "Задач сегодня: 1" in stats[-1] and "Воркеров: 1" in stats[-1]
        stack.tg.push_command(admin, f"/audit {stack.user.id}")
        await stack.tg.wait_for(
            lambda tg: any("me → accepted" in str(m.get("text")) for m in tg.chat_messages(ADMIN))
        )


async def test_quota_refusals_say_when_to_come_back(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    quotas = QuotaSettings(hourly=1, daily=5)
    async with running_stack(redis_url, analyzer, tmp_path, quota_settings=quotas) as stack:
        await send_photo(stack)
        stack.tg.push_text(stack.user, TEXT)
        await stack.wait_for_notes()
        await stack.wait_for_text(translate("status.done"))
        stack.tg.push_text(stack.user, TEXT + " ")
        await stack.tg.wait_for(
            lambda tg: any("Попробуйте через" in t for t in stack.texts()), timeout=10
        )
        refusal = next(t for t in stack.texts() if "Попробуйте через" in t)
        assert refusal.startswith(translate("quota.hourly_cap", minutes=0)[:30])


async def test_a_flood_gets_one_warning_then_silence(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    quotas = QuotaSettings(flood_messages=3, flood_window_s=60)
    async with running_stack(redis_url, analyzer, tmp_path, quota_settings=quotas) as stack:
        for _ in range(8):
            stack.tg.push_command(stack.user, "/help")
        stack.tg.push_command(stack.tg.user(7002), "/help")  # a later update from someone else
        help_text = translate("help", max_seconds=55, max_voice=60)
        await stack.tg.wait_for(lambda tg: _said(tg.chat_messages(7002), help_text, raw=True))
        texts = stack.texts()
        assert texts.count(help_text) == 3
        assert sum(t.startswith("Слишком много сообщений") for t in texts) == 1


async def test_delete_wipes_every_key_of_the_user(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        await send_photo(stack)
        stack.tg.push_command(stack.user, "/voice")
        await stack.wait_for_text(translate("voice.pick"))
        lively = await _choose_lively_mimic(stack)
        stack.tg.push_text(stack.user, TEXT)
        await stack.wait_for_notes()
        await stack.wait_for_text(translate("status.done"))
        assert _keys_naming(redis_url, stack.user.id)  # there was something to delete
        # Every key a whole session wrote is declared in core.keys, so /delete knows it.
        found = [k.decode() for k in redis.Redis.from_url(redis_url).keys("*")]  # type: ignore[union-attr]
        assert len(found) > 10 and [k for k in found if keys.declared(k) is None] == []
        prefs = redis.Redis.from_url(redis_url).hgetall(keys.PREFERENCES(user_id=stack.user.id))
        assert prefs[b"mimic"] == b"lively"  # type: ignore[index]
        stack.tg.push_command(stack.user, "/delete")
        await stack.wait_for_text(translate("delete.done"))
        assert _keys_naming(redis_url, stack.user.id) == []
        assert redis.Redis.from_url(redis_url).xlen(keys.AUDIT()) == 1  # hashed entries stay
        stack.tg.push_command(stack.user, "/mimic")  # the choice went with everything else
        calm = translate("mimic.current", name=translate("mimic.level.calm"))
        await stack.tg.wait_for(lambda tg: _mimic_labels(stack) == [calm, lively])


def _mimic_labels(stack: Stack) -> list[str]:
    """The buttons under the latest /mimic keyboard (none before there is one)."""
    pick = translate("mimic.pick")
    picks = [m for m in stack.tg.chat_messages(stack.chat) if m.get("text") == pick]
    rows = picks[-1]["reply_markup"]["inline_keyboard"] if picks else []
    return [button["text"] for row in rows for button in row]


async def _choose_lively_mimic(stack: Stack) -> str:
    """Press "lively" under /mimic; its plain label."""
    stack.tg.push_command(stack.user, "/mimic")
    await stack.wait_for_text(translate("mimic.pick"))
    pick = stack.tg.chat_messages(stack.chat)[-1]
    button = pick["reply_markup"]["inline_keyboard"][0][1]
    stack.tg.push_callback(stack.user, button["callback_data"], pick["message_id"])
    lively = translate("mimic.level.lively")
    marked = [translate("mimic.level.calm"), translate("mimic.current", name=lively)]
    await stack.tg.wait_for(lambda tg: _mimic_labels(stack) == marked)  # the mark moved
    return lively
