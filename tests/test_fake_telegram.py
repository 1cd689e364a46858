"""The fake Telegram server must look real to aiogram, or bot tests built on it prove nothing.

Every test here talks to the fake through a real ``aiogram.Bot`` over HTTP, so field names,
multipart uploads and error JSON are checked by aiogram's own parsing, not by us.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import pytest
from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from PIL import Image

from testkit.fake_telegram import NOT_MODIFIED, FakeTelegram

TOKEN = "123456:TEST-TOKEN"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as server:
        yield server


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    client = Bot(TOKEN, session=AiohttpSession(api=tg.api_server))
    yield client
    await client.session.close()


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "orange").save(buffer, format="PNG")
    return buffer.getvalue()


def _keyboard(label: str) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(text=label, callback_data=label)
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def test_get_me_returns_bot_user(bot: Bot, tg: FakeTelegram) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, tg.bot_username)
    assert [call.method for call in tg.calls] == ["getMe"]


async def test_send_and_edit_message_keeps_chat_state(bot: Bot, tg: FakeTelegram) -> None:
    first = await bot.send_message(42, "Рисую…", reply_markup=_keyboard("cancel"))
    second = await bot.send_message(42, "ещё")
    assert second.message_id == first.message_id + 1
    assert first.from_user is not None and first.from_user.id == tg.bot_id

    edited = await bot.edit_message_text("Готово", chat_id=42, message_id=first.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "Готово" and edited.reply_markup is None
    assert [m["text"] for m in tg.chat_messages(42)] == ["Готово", "ещё"]

    call = tg.calls_of("sendMessage", chat_id=42)[0]
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "cancel"


async def test_unchanged_edit_is_telegrams_not_modified_error(bot: Bot, tg: FakeTelegram) -> None:
    sent = await bot.send_message(42, "<b>Готово</b>", parse_mode="HTML")
    assert sent.text == "Готово"
    with pytest.raises(TelegramBadRequest) as caught:
        await bot.edit_message_text(
            "<b>Готово</b>", chat_id=42, message_id=sent.message_id, parse_mode="HTML"
        )
    assert caught.value.message == NOT_MODIFIED
    assert tg.calls_of("editMessageText")[0].failed


async def test_edit_reply_markup_and_delete(bot: Bot, tg: FakeTelegram) -> None:
    sent = await bot.send_message(7, "Выберите голос", reply_markup=_keyboard("a"))
    edited = await bot.edit_message_reply_markup(
        chat_id=7, message_id=sent.message_id, reply_markup=_keyboard("b")
    )
    assert isinstance(edited, Message) and edited.reply_markup is not None
    assert await bot.delete_message(7, sent.message_id)
    assert tg.chat_messages(7) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(7, sent.message_id)


async def test_long_poll_blocks_until_an_update_is_pushed(bot: Bot, tg: FakeTelegram) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await tg.wait_for_call("getUpdates")
    assert not poll.done()

    pushed = tg.push_text(tg.user(42), "Привет")
    updates = await asyncio.wait_for(poll, timeout=3)

    assert [u.update_id for u in updates] == [pushed["update_id"]]
    assert updates[0].message is not None and updates[0].message.text == "Привет"


async def test_offset_confirms_and_push_raw_redelivers(bot: Bot, tg: FakeTelegram) -> None:
    pushed = tg.push_text(tg.user(42), "раз")
    first = await bot.get_updates(timeout=0)
    assert [u.update_id for u in first] == [pushed["update_id"]]
    assert await bot.get_updates(timeout=0) == first  # unconfirmed → delivered again

    confirmed = await bot.get_updates(offset=pushed["update_id"] + 1, timeout=0)
    assert confirmed == []

    tg.push_raw(pushed)
    again = await bot.get_updates(offset=pushed["update_id"] + 1, timeout=0)
    assert [u.update_id for u in again] == [pushed["update_id"]]


async def test_photo_download_round_trip(bot: Bot, tg: FakeTelegram) -> None:
    image = _png(640, 480)
    tg.push_photo(tg.user(42), image, caption="Скажи привет")
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.photo is not None
    photo = update.message.photo
    assert [(p.width, p.height) for p in photo] == [(90, 68), (320, 240), (640, 480)]
    assert update.message.caption == "Скажи привет"

    file = await bot.get_file(photo[-1].file_id)
    assert file.file_path is not None and file.file_size == len(image)
    downloaded = await bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == image
    assert tg.calls_of("downloadFile")[0].params["file_path"] == file.file_path


async def test_media_updates_parse_and_size_lie_is_too_big(bot: Bot, tg: FakeTelegram) -> None:
    user = tg.user(42)
    tg.push_document(user, b"%PDF", "big.pdf", "application/pdf", file_size=20 * 1024 * 1024 + 1)
    tg.push_voice(user, b"OggS", duration=3)
    tg.push_audio(user, b"ID3", duration=5)
    doc_update, voice_update, audio_update = await bot.get_updates(timeout=0)

    document = doc_update.message.document if doc_update.message else None
    assert document is not None and document.file_size == 20 * 1024 * 1024 + 1
    assert voice_update.message is not None and voice_update.message.voice is not None
    assert audio_update.message is not None and audio_update.message.audio is not None
    with pytest.raises(TelegramBadRequest, match="file is too big"):
        await bot.get_file(document.file_id)


async def test_send_video_note_stores_uploaded_bytes(bot: Bot, tg: FakeTelegram) -> None:
    video = b"\x00\x00\x00\x18ftypmp42 fake mp4"
    sent = await bot.send_video_note(
        42, BufferedInputFile(video, filename="note.mp4"), duration=3, length=384
    )
    assert sent.video_note is not None
    assert (sent.video_note.length, sent.video_note.duration) == (384, 3)
    assert sent.video_note.file_size == len(video)

    [(params, data)] = tg.sent_video_notes(42)
    assert data == video and params["duration"] == 3
    again = await bot.send_video_note(42, sent.video_note.file_id)
    assert again.video_note is not None
    assert [data for _, data in tg.sent_video_notes(42)] == [video, video]


async def test_send_document_and_photo(bot: Bot, tg: FakeTelegram) -> None:
    doc = await bot.send_document(7, BufferedInputFile(b"log", filename="log.txt"), caption="лог")
    assert doc.document is not None and doc.document.file_name == "log.txt"
    assert doc.caption == "лог"
    photo = await bot.send_photo(7, BufferedInputFile(_png(100, 50), filename="p.png"))
    assert photo.photo is not None and (photo.photo[-1].width, photo.photo[-1].height) == (100, 50)


async def test_fail_next_429_surfaces_retry_after(bot: Bot, tg: FakeTelegram) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(42, "раз")
    assert caught.value.retry_after == 7
    await bot.send_message(42, "два")  # only the next call fails
    assert [call.failed for call in tg.calls_of("sendMessage")] == [True, False]
    assert [m["text"] for m in tg.chat_messages(42)] == ["два"]


async def test_fail_next_403_blocked_user(bot: Bot, tg: FakeTelegram) -> None:
    tg.fail_next("sendVideoNote", status=403, count=2)
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_video_note(42, BufferedInputFile(b"x", filename="n.mp4"))
    assert tg.sent_video_notes(42) == []


async def test_hang_next_trips_client_timeout(bot: Bot, tg: FakeTelegram) -> None:
    tg.hang_next("sendMessage", seconds=30)
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(42, "медленно", request_timeout=1)
    await tg.wait_for(lambda t: t.calls_of("sendMessage")[0].failed, timeout=2)
    assert tg.calls_of("sendMessage")[0].error == "abandoned: client disconnected"
    assert tg.chat_messages(42) == []  # abandoned by the client → never applied


async def test_wrong_token_is_unauthorized(tg: FakeTelegram) -> None:
    intruder = Bot("999:WRONG", session=AiohttpSession(api=tg.api_server))
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await intruder.get_me()
    finally:
        await intruder.session.close()
    assert tg.calls[0].failed and tg.calls[0].status == 401


async def test_callback_query_and_group_chat(bot: Bot, tg: FakeTelegram) -> None:
    user = tg.user(42)
    sent = await bot.send_message(42, "Голос?", reply_markup=_keyboard("male"))
    tg.push_callback(user, "male", sent.message_id)
    tg.push_text(user, "всем привет", chat_type="group")
    callback_update, group_update = await bot.get_updates(timeout=0)

    query = callback_update.callback_query
    assert query is not None and query.data == "male"
    assert isinstance(query.message, Message) and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query.id, text="ok")

    assert group_update.message is not None
    chat = group_update.message.chat
    assert chat.type == "group" and chat.id < 0
    reply = await bot.send_message(chat.id, "привет, группа")
    assert reply.chat.type == "group"


async def test_catch_all_and_wait_for_timeout_summary(bot: Bot, tg: FakeTelegram) -> None:
    assert await bot.send_chat_action(42, "record_video_note")
    assert await bot.delete_my_commands()
    assert await bot.close()  # not modelled: recorded and answered true
    with pytest.raises(TimeoutError, match=r"sendChatAction, deleteMyCommands, close"):
        await tg.wait_for_call("sendVideoNote", timeout=0.05)


async def test_dispatcher_polling_answers_start(bot: Bot, tg: FakeTelegram) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Пришлите фото")

    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    try:
        tg.push_command(tg.user(42), "/start")
        [call] = await tg.wait_for_call("sendMessage", chat_id=42, timeout=4)
        assert call.params["text"] == "Пришлите фото"
    finally:
        await dp.stop_polling()
        await polling


async def test_post_update_to_aiogram_webhook(bot: Bot, tg: FakeTelegram) -> None:
    dp = Dispatcher()

    @dp.message()
    async def echo(message: Message) -> None:
        await message.answer(f"эхо: {message.text}")

    app = web.Application()
    SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token="s3cret").register(app, "/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        update = tg.push_text(tg.user(42), "hi")
        assert await tg.post_update(url, update, secret_token="wrong") == 401
        assert await tg.post_update(url, update, secret_token="s3cret") == 200
        [call] = await tg.wait_for_call("sendMessage", chat_id=42, timeout=4)
        assert call.params["text"] == "эхо: hi"
    finally:
        await runner.cleanup()
