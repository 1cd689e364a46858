"""Consent, strict mode, the face blocklist, quotas, admin commands and /delete, all through
the fake Bot API with real workers and Redis (issue #4)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import redis
from PIL import Image
from redis.asyncio import Redis

from bot.settings import BotSettings
from core import keys
from core.contract import QUEUE_NAME, job_id_for
from core.quotas import Quotas, QuotaSettings
from inference.demo import astronaut, png
from inference.face import FaceAnalyzer, frame_square, load_image
from inference.media import NoteEncoder
from inference.tts.espeak import EspeakEngine
from locales import translate
from testkit.bot_stack import (
    TEXT,
    Stack,
    check_note,
    choose_english,
    consent,
    running_stack,
    send_photo,
)
from testkit.face_assets import require_fixture
from testkit.quality import voice_message

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
    brisk = QuotaSettings(flood_messages=20)  # nine messages and presses in a few seconds
    async with running_stack(redis_url, analyzer, tmp_path, settings, brisk) as stack:
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


BIG_ID = 5_550_123_987  # over 2**31: arq's pickles hold it as 5 little-endian bytes, findable


def _needles(user_id: int, **content: bytes) -> dict[str, bytes]:
    """What of a user Redis must not hold after /delete: the id written out (keys, JSON) and
    as pickle writes it (arq's jobs and results), and slices of their texts and files."""
    width = (user_id.bit_length() >> 3) + 1  # pickle's LONG1: minimal two's complement
    found = {"id": str(user_id).encode(), "pickled id": user_id.to_bytes(width, "little")}
    for name, data in content.items():
        middle = len(data) // 2
        found[name] = data if len(data) <= 64 else data[middle : middle + 64]
    return found


def _traces(redis_url: str, needles: dict[str, bytes]) -> list[str]:
    """Every key whose name or value (of any type) holds one of ``needles``: "key: what"."""
    client = redis.Redis.from_url(redis_url)
    found = []
    for key in client.scan_iter(count=1000):
        parts = [key, *_values(client, key)]
        found += [
            f"{key.decode()}: {name}"
            for name, needle in needles.items()
            if any(needle in part for part in parts)
        ]
    return found


def _values(client: Any, key: bytes) -> list[bytes]:
    """Everything stored under ``key``, whatever its type, as bytes."""
    kind = client.type(key).decode()
    if kind == "string":
        return [client.get(key) or b""]
    if kind == "hash":
        return [b for pair in client.hgetall(key).items() for b in pair]
    if kind == "set":
        return list(client.smembers(key))
    if kind in ("zset", "list"):
        return list((client.zrange if kind == "zset" else client.lrange)(key, 0, -1))
    assert kind == "stream", kind
    return [b for _, fields in client.xrange(key) for pair in fields.items() for b in pair]


async def test_delete_after_a_full_session_leaves_nothing_of_the_user(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """Voice before any photo, photo, consent, text, voice, /lang, /voice, /verify with a
    selfie, then /delete: no key in all of Redis holds the id, the texts or the files."""
    text = "Проверка удаления: эта фраза не должна остаться."
    speech = EspeakEngine().synthesize("Это моё голосовое сообщение.")
    early, voice = voice_message(speech.samples, 22050), voice_message(speech.samples, 16000)
    photo, selfie = png(astronaut()), _jpeg(astronaut())
    brisk = QuotaSettings(flood_messages=30)  # a dozen messages and presses in seconds
    async with running_stack(redis_url, analyzer, tmp_path, quota_settings=brisk) as running:
        stack = dataclasses.replace(running, user=running.tg.user(BIG_ID))
        stack.tg.push_voice(stack.user, early, duration=2)
        await stack.wait_for_text(translate("photo.needed"))
        assert not stack.tg.calls_of("getFile")  # refused before it was fetched or stored
        await send_photo(stack, photo)
        stack.tg.push_text(stack.user, text)
        await stack.wait_for_notes()
        stack.tg.push_voice(stack.user, voice, duration=2)
        await stack.wait_for_notes(2)
        done = translate("status.done")
        await stack.tg.wait_for(lambda tg: stack.texts().count(done) == 2)
        await choose_english(stack)
        await _choose_a_voice(stack)
        stack.tg.push_command(stack.user, "/verify")
        await stack.wait_for_text(translate("verify.ask", "en"))
        stack.tg.push_photo(stack.user, selfie)
        await stack.wait_for_text(translate("verify.done", "en"))
        needles = _needles(
            BIG_ID, text=text.encode(), early=early, voice=voice, photo=photo, selfie=selfie
        )
        before = _traces(redis_url, needles)
        assert {"id", "pickled id", "text", "voice", "photo"} <= {t.split(": ")[1] for t in before}
        stack.tg.push_command(stack.user, "/delete")
        await stack.wait_for_text(translate("delete.done", "en"))
        assert _traces(redis_url, needles) == []
    entries: list[Any] = redis.Redis.from_url(redis_url).xrange(keys.AUDIT())  # type: ignore[assignment]
    assert [set(fields) for _, fields in entries] == [  # the audit keeps what the README says
        {b"user", b"photo_sha256", b"face", b"choice", b"outcome", b"time", b"version"}
    ]


def _jpeg(rgb: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


async def _choose_a_voice(stack: Stack) -> None:
    stack.tg.push_command(stack.user, "/voice")
    await stack.wait_for_text(translate("voice.pick", "en"))
    pick = stack.tg.chat_messages(stack.chat)[-1]
    button = pick["reply_markup"]["inline_keyboard"][0][0]
    answered = len(stack.tg.calls_of("answerCallbackQuery"))
    stack.tg.push_callback(stack.user, button["callback_data"], pick["message_id"])
    await stack.tg.wait_for_call("answerCallbackQuery", count=answered + 1)


async def test_delete_cancels_a_queued_job_and_gives_its_quota_back(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        await send_photo(stack)
        stack.stop_worker.set()  # nobody takes the job: it stays queued
        await stack.worker_task
        stack.tg.push_text(stack.user, TEXT)
        await stack.wait_for_text(translate("status.queued", position=1))
        client = redis.Redis.from_url(redis_url)
        await _until(lambda: client.zcard(QUEUE_NAME) == 1)  # queued just after the status
        assert client.exists(keys.ACTIVE_JOB(user_id=7001))
        stack.tg.push_command(stack.user, "/delete")
        await stack.wait_for_text(translate("delete.done"))
        assert client.zcard(QUEUE_NAME) == 0 and not client.keys("arq:*")
        assert _traces(redis_url, _needles(7001, text=TEXT.encode())) == []
        usage = await Quotas(client_async := Redis.from_url(redis_url), QuotaSettings()).usage(
            7001
        )
        await client_async.aclose()
        assert (usage["hourly_used"], usage["active_job"]) == (0, None)


async def test_delete_lets_a_running_job_finish_and_keeps_nothing_after_it(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        await send_photo(stack)
        update = stack.tg.push_text(stack.user, TEXT * 4)  # about 10 s of speech
        await stack.wait_for_text(translate("status.speech"))  # the worker has it
        stack.tg.push_command(stack.user, "/delete")
        expected = translate("delete.done") + "\n" + translate("delete.running")
        await stack.wait_for_text(expected)
        await stack.wait_for_notes()  # the note the user asked for still arrives
        job_id = job_id_for(stack.chat, update["message"]["message_id"])
        client = redis.Redis.from_url(redis_url)
        await _until(lambda: not client.exists(keys.ERASED_JOB(job_id=job_id)))
        assert not client.exists(keys.ARQ_RESULT(job_id=job_id))  # arq stored it; it went
        assert _traces(redis_url, _needles(7001, text=TEXT.encode())) == []


async def _until(condition: Callable[[], object], timeout: float = 30) -> None:
    """Poll Redis (which tells nobody when a key goes) until ``condition`` holds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)
