"""The whole conversation through a fake Bot API: real bot code, real arq workers, real Redis,
the real offline pipeline. Only Telegram itself is simulated (testkit/fake_telegram.py)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from arq import create_pool
from arq.connections import ArqRedis
from arq.connections import RedisSettings as ArqRedisSettings
from arq.jobs import Job
from redis.asyncio import Redis

from bot.factory import create_dispatcher
from bot.settings import BotSettings
from core import keys
from core.config import TelegramSettings
from core.contract import QUEUE_NAME, JobOutcome, job_id_for
from core.quotas import Quotas, QuotaSettings
from core.telegram import create_bot
from inference.demo import astronaut, png
from inference.face import FaceAnalyzer
from inference.media import probe, read_audio
from inference.provenance import verify_file
from inference.tts.espeak import EspeakEngine
from locales import translate
from testkit.bot_stack import (
    TEXT,
    TOKEN,
    Stack,
    check_note,
    choose_english,
    consent,
    job_result,
    queued_job,
    record_renders,
    running_stack,
    send_photo,
)
from testkit.fake_telegram import FakeTelegram
from testkit.quality import median_pitch, voice_message


@pytest.fixture
async def stack(redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(redis_url, analyzer, tmp_path) as running:
        yield running


async def test_photo_then_text_gives_a_video_note(stack: Stack) -> None:
    await send_photo(stack)
    update = stack.tg.push_text(stack.user, TEXT)
    notes = await stack.wait_for_notes()
    check_note(stack, notes[0])
    # provenance: the invisible mark carries this request's job id, the metadata says so too
    job_id = job_id_for(stack.chat, update["message"]["message_id"])
    received = stack.tmp / "received.mp4"
    assert verify_file(received) == job_id
    assert "synthetic" in probe(received).metadata["comment"].lower()
    await stack.wait_for_text(translate("status.done"))
    edits = [c.params["text"] for c in stack.tg.calls_of("editMessageText", stack.chat)]
    assert translate("status.speech") in edits
    assert stack.tg.calls_of("sendChatAction", stack.chat)


async def test_photo_with_caption_counts_as_the_text(stack: Stack) -> None:
    photo = stack.tg.push_photo(stack.user, png(astronaut()), caption=TEXT)
    await consent(stack, photo)
    check_note(stack, (await stack.wait_for_notes())[0])


async def test_voice_message_is_lip_synced(stack: Stack) -> None:
    await send_photo(stack)
    speech = EspeakEngine().synthesize("Это моё голосовое сообщение.")
    stack.tg.push_voice(stack.user, voice_message(speech.samples, 22050), duration=2)
    check_note(stack, (await stack.wait_for_notes())[0])


async def test_no_face_and_two_faces_are_refused_clearly(stack: Stack) -> None:
    from skimage import data

    stack.tg.push_photo(stack.user, png(data.chelsea()))  # type: ignore[no-untyped-call]
    await stack.wait_for_text(translate("error.no_face"))
    pair = png(np.concatenate([astronaut(), astronaut()[:, ::-1]], axis=1))
    stack.tg.push_photo(stack.user, pair)
    await stack.wait_for_text(translate("error.many_faces", count=2))
    stack.tg.push_text(stack.user, TEXT)
    await stack.wait_for_text(translate("photo.needed"))
    assert not stack.tg.sent_video_notes(stack.chat)


async def test_too_long_text_is_refused_with_the_limit(stack: Stack) -> None:
    await send_photo(stack)
    stack.tg.push_text(stack.user, "Очень длинный текст для проверки. " * 150)
    expected = translate("error.text_too_long", max_notes=3, max_seconds=55)
    await stack.wait_for_text(expected)
    assert not stack.tg.sent_video_notes(stack.chat)


async def test_voice_choice_is_remembered(stack: Stack) -> None:
    stack.tg.push_command(stack.user, "/voice")
    await stack.tg.wait_for_call("sendMessage", stack.chat)
    keyboard = stack.tg.calls_of("sendMessage", stack.chat)[-1].params["reply_markup"]
    buttons = [b for row in keyboard["inline_keyboard"] for b in row]
    female = next(b for b in buttons if b["text"] == "Алёна")
    message_id = stack.tg.chat_messages(stack.chat)[-1]["message_id"]
    stack.tg.push_callback(stack.user, female["callback_data"], message_id)
    answer = await stack.tg.wait_for_call("answerCallbackQuery")
    assert "Алёна" in answer[0].params["text"]
    await send_photo(stack)
    job = await queued_job(stack, stack.tg.push_text(stack.user, TEXT), 1)
    assert job["voice"] == "ru-female"  # Алёна's id reached the worker
    check_note(stack, (await stack.wait_for_notes())[0])
    # ... and the note speaks with her voice, not the default one.
    engine = EspeakEngine()
    female, default = (
        median_pitch(speech.samples, speech.sample_rate)
        for speech in (engine.synthesize(TEXT, voice) for voice in ("ru-female", None))
    )
    assert female > default * 1.3
    assert median_pitch(*read_audio(stack.tmp / "received.mp4")) == pytest.approx(female, rel=0.05)


async def test_voices_follow_what_the_live_workers_announce(stack: Stack) -> None:
    # A second worker, on a GPU host with Silero, announces itself as workers do.
    announcement = {"engines": {"tts": "silero"}, "max_jobs": 1, "voices": [
        {"id": "xenia", "name": "Ксения"}]}  # fmt: skip
    redis = Redis.from_url(stack.redis.redis_url)
    key = keys.WORKERS(worker="gpu-host-1")
    await redis.set(key, json.dumps(announcement), ex=60)
    stack.tg.push_command(stack.user, "/voice")
    await stack.tg.wait_for_call("sendMessage", stack.chat)
    keyboard = stack.tg.calls_of("sendMessage", stack.chat)[-1].params["reply_markup"]
    buttons = {b["text"]: b["callback_data"] for row in keyboard["inline_keyboard"] for b in row}
    assert {"Ксения", "Алёна", "Борис"} <= buttons.keys()
    message_id = stack.tg.chat_messages(stack.chat)[-1]["message_id"]
    stack.tg.push_callback(stack.user, buttons["Ксения"], message_id)
    answer = await stack.tg.wait_for_call("answerCallbackQuery")
    assert answer[-1].params["text"] == translate("voice.chosen", name="Ксения")
    # The GPU host goes away; its voice on the old keyboard is refused, not silently kept.
    await redis.delete(key)
    await redis.aclose()
    stack.tg.push_callback(stack.user, buttons["Ксения"], message_id)
    answers = await stack.tg.wait_for_call("answerCallbackQuery", count=2)
    assert answers[-1].params["text"] == translate("error.voice_unknown")


def _labels(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def test_mimic_choice_reaches_the_renderer(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = record_renders(stack, "mimic", monkeypatch)
    calm, lively = translate("mimic.level.calm"), translate("mimic.level.lively")
    stack.tg.push_command(stack.user, "/mimic")
    await stack.wait_for_text(translate("mimic.pick"))
    pick = stack.tg.chat_messages(stack.chat)[-1]
    assert _labels(pick) == [translate("mimic.current", name=calm), lively]  # calm by default
    await send_photo(stack)
    calm_job = await queued_job(stack, stack.tg.push_text(stack.user, TEXT), 1)
    assert calm_job["mimic"] == "calm"
    buttons = [b for row in pick["reply_markup"]["inline_keyboard"] for b in row]
    stack.tg.push_callback(stack.user, buttons[1]["callback_data"], pick["message_id"])
    answer = await stack.tg.wait_for_call("answerCallbackQuery", count=2)  # consent's first
    assert answer[-1].params["text"] == translate("mimic.chosen.lively")
    await stack.tg.wait_for_call("editMessageReplyMarkup", stack.chat)  # the mark moves
    moved = stack.tg.message(stack.chat, pick["message_id"])
    assert moved is not None
    assert _labels(moved) == [calm, translate("mimic.current", name=lively)]
    lively_job = await queued_job(stack, stack.tg.push_text(stack.user, TEXT), 2)
    assert lively_job["mimic"] == "lively"
    assert rendered == ["calm", "lively"]


async def test_the_mimic_keyboard_speaks_the_users_language(stack: Stack) -> None:
    english = stack.tg.user(7002, language_code="en")
    stack.tg.push_command(english, "/mimic")
    pick = translate("mimic.pick", "en")
    await stack.tg.wait_for(lambda tg: any(m.get("text") == pick for m in tg.chat_messages(7002)))
    labels = _labels(stack.tg.chat_messages(7002)[-1])
    calm = translate("mimic.current", "en", name=translate("mimic.level.calm", "en"))
    assert labels == [calm, translate("mimic.level.lively", "en")]


async def test_the_same_update_twice_gives_one_note(stack: Stack) -> None:
    await send_photo(stack)
    update = stack.tg.push_text(stack.user, TEXT)
    stack.tg.push_raw(update)
    await stack.wait_for_notes()
    await stack.wait_for_text(translate("status.done"))
    stack.tg.push_command(stack.user, "/help")  # a later update: everything before is handled
    await stack.wait_for_text(translate("help", max_seconds=55, max_voice=60))
    assert len(stack.tg.sent_video_notes(stack.chat)) == 1


async def test_worker_restarted_mid_job_still_yields_exactly_one_note(stack: Stack) -> None:
    await send_photo(stack)
    update = stack.tg.push_text(stack.user, TEXT * 7)  # about 17 s of speech: a second of frames
    job_id = job_id_for(stack.chat, update["message"]["message_id"])
    animation = translate("status.animation")
    await stack.tg.wait_for(lambda tg: animation in stack.texts())
    # The job is running now: a worker holds it, and nothing has been sent yet.
    redis = Redis.from_url(stack.redis.redis_url)
    assert await redis.exists(keys.ARQ_IN_PROGRESS(job_id=job_id))
    assert not stack.tg.sent_video_notes(stack.chat)
    await stack.restart_worker()
    assert await job_result(stack.redis.redis_url, job_id) == JobOutcome(kind="sent", notes=1)
    pool = await create_pool(ArqRedisSettings.from_dsn(stack.redis.redis_url))
    finished = await Job(job_id, pool, _queue_name=QUEUE_NAME).result_info()
    await pool.aclose()
    await redis.aclose()
    assert finished is not None and finished.job_try == 2  # cut short once, then run again
    await stack.wait_for_text(translate("status.done"))
    assert len(stack.tg.sent_video_notes(stack.chat)) == 1


async def test_lang_switches_the_interface_language(stack: Stack) -> None:
    await choose_english(stack)
    stack.tg.push_command(stack.user, "/start")
    await stack.wait_for_text(translate("start", "en"))


async def test_flood_warnings_and_internal_errors_honour_lang(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.conversation import Conversation

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(Conversation, "take_text", broken)
    quotas = QuotaSettings(flood_messages=4, flood_window_s=60)
    async with running_stack(redis_url, analyzer, tmp_path, quota_settings=quotas) as stack:
        assert stack.user.language_code == "ru"
        await choose_english(stack)
        stack.tg.push_text(stack.user, TEXT)
        internal = translate("error.internal", "en", ref="")[:30]
        await stack.tg.wait_for(lambda tg: any(t.startswith(internal) for t in stack.texts()))
        for _ in range(3):
            stack.tg.push_command(stack.user, "/start")
        warning = translate("flood.warning", "en", seconds=1)[:20]
        await stack.tg.wait_for(lambda tg: any(t.startswith(warning) for t in stack.texts()))
        assert not any(
            t.startswith(translate("flood.warning", seconds=1)[:20]) for t in stack.texts()
        )


async def test_groups_get_a_pointer_to_the_private_chat(stack: Stack) -> None:
    update = stack.tg.push_command(stack.user, "/start", chat_type="group")
    group = update["message"]["chat"]["id"]
    expected = translate("groups_only_private")
    await stack.tg.wait_for(
        lambda tg: any(m.get("text") == expected for m in tg.chat_messages(group))
    )


async def test_a_voice_message_over_the_limit_is_refused_before_download(stack: Stack) -> None:
    await send_photo(stack)
    stack.tg.push_voice(stack.user, b"OggS not really", duration=300)
    await stack.wait_for_text(translate("voice.too_long", max_seconds=60))
    assert not stack.tg.calls_of("downloadFile")[1:]  # only the photo was downloaded


async def test_webhook_mode_checks_the_secret_token(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiohttp.test_utils import TestServer

    from bot.main import create_webhook_app

    async with FakeTelegram(token=TOKEN) as tg:
        monkeypatch.setenv("BOT_TOKEN", TOKEN)
        monkeypatch.setenv("TELEGRAM_API_BASE", tg.base_url)
        settings = BotSettings(webhook_secret="s3cret", webhook_path="/hook")
        pool: ArqRedis = await create_pool(ArqRedisSettings.from_dsn(redis_url))
        bot = create_bot(TelegramSettings())
        app = create_webhook_app(bot, create_dispatcher(bot, pool, settings), settings)
        async with TestServer(app, host="127.0.0.1") as server:
            url = str(server.make_url("/hook"))
            user = tg.user(7100)
            update = tg.push_command(user, "/start")
            assert await tg.post_update(url, update) == 401
            assert await tg.post_update(url, update, secret_token="wrong") == 401
            assert not tg.calls_of("sendMessage")
            assert await tg.post_update(url, update, secret_token="s3cret") == 200
            await tg.wait_for_call("sendMessage", user.id)
        await bot.session.close()
        await pool.aclose()


async def test_token_photos_and_texts_stay_out_of_logs(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await send_photo(stack)
    secret_text = "Секретная фраза для проверки журналов."
    stack.tg.push_text(stack.user, secret_text)
    await stack.wait_for_notes()
    await stack.wait_for_text(translate("status.done"))
    # aiohttp.access is the fake Telegram server's own log, whose URLs carry the token by
    # design of the Bot API; everything else is ours, aiogram's or arq's.
    ours = "\n".join(
        record.getMessage() for record in caplog.records if record.name != "aiohttp.access"
    )
    assert ours  # something was logged: the check can fail
    assert TOKEN not in ours and TOKEN.split(":")[1] not in ours
    assert "Секретная" not in ours and "фраза" not in ours
    assert "Привет" not in ours


async def test_a_20_mb_image_document_is_refused_before_download(stack: Stack) -> None:
    size = 20 * 1024 * 1024
    stack.tg.push_document(stack.user, b"\xff\xd8", "huge.jpg", "image/jpeg", file_size=size)
    await stack.wait_for_text(translate("photo.too_big", max_mb=10))
    assert not stack.tg.calls_of("getFile") and not stack.tg.calls_of("downloadFile")


async def test_no_worker_to_check_a_photo_gets_an_answer_not_silence(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    settings = BotSettings(check_timeout_s=1)
    async with running_stack(redis_url, analyzer, tmp_path, settings) as stack:
        stack.stop_worker.set()
        await stack.worker_task
        stack.tg.push_photo(stack.user, png(astronaut()))
        await stack.wait_for_text(translate("error.check_unavailable"))


async def test_an_unexpected_failure_still_answers_with_a_reference(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.conversation import Conversation

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(Conversation, "take_text", broken)
    stack.tg.push_text(stack.user, TEXT)
    prefix = translate("error.internal", ref="")[:30]
    await stack.tg.wait_for(lambda tg: any(t.startswith(prefix) for t in stack.texts()))


async def test_worker_health_check(
    stack: Stack, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from govorun.cli import main

    monkeypatch.setenv("REDIS_URL", redis_url)
    await send_photo(stack)  # the workers have taken a job: they are up and reported health
    assert await asyncio.to_thread(main, ["worker", "--check"]) == 0
    stack.stop_worker.set()
    await stack.worker_task
    redis = await create_pool(ArqRedisSettings.from_dsn(redis_url))
    await redis.flushdb()  # a fleet that never reported
    await redis.aclose()
    assert await asyncio.to_thread(main, ["worker", "--check"]) == 1


async def test_an_unsized_25_mb_image_document_is_cut_off_while_it_streams(
    stack: Stack, redis_url: str
) -> None:
    stack.tg.max_download_size = 2000 * 1024 * 1024  # a local Bot API server serves it all
    data = b"\xff\xd8\xff\xe0" + np.random.default_rng(7).bytes(25 * 1024 * 1024)
    stack.tg.push_document(stack.user, data, "big.jpg", "image/jpeg", sized=False)
    await stack.wait_for_text(translate("photo.too_big", max_mb=10))
    download = stack.tg.calls_of("downloadFile")[0]
    await stack.tg.wait_for(lambda tg: download.done)
    assert download.failed and download.served < len(data)  # the bot hung up mid-file
    assert not _keys_holding(redis_url, data[11 * 1024 * 1024 : 11 * 1024 * 1024 + 64])
    assert not _keys_holding(redis_url, data[100:164])  # nothing kept, not even the start


async def test_an_unsized_voice_over_the_size_limit_is_refused_and_not_kept(
    stack: Stack, redis_url: str
) -> None:
    await send_photo(stack)
    data = b"OggS" + np.random.default_rng(8).bytes(6 * 1024 * 1024)  # BOT_MAX_VOICE_MB is 5
    stack.tg.push_voice(stack.user, data, duration=20, sized=False)
    await stack.wait_for_text(translate("voice.too_long", max_seconds=60))
    assert not _keys_holding(redis_url, data[100:164])
    async with Redis.from_url(redis_url) as redis:
        usage = await Quotas(redis, QuotaSettings()).usage(stack.user.id)
    assert (usage["hourly_used"], usage["active_job"]) == (0, None)  # the claim was given back


def _keys_holding(redis_url: str, needle: bytes) -> list[bytes]:
    import redis

    client = redis.Redis.from_url(redis_url)
    strings = [k for k in client.scan_iter(count=1000) if client.type(k) == b"string"]
    return [k for k in strings if needle in (client.get(k) or b"")]  # type: ignore[operator]
