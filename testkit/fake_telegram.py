"""A local fake of the Telegram Bot API that the real bot talks to over HTTP.

Why a fake server instead of mocking aiogram: the bot's behaviour under test includes
aiogram's own request building (multipart uploads, JSON-encoded nested fields), its response
parsing into pydantic models and its mapping of error JSON onto exceptions. Only a real HTTP
peer exercises all of that, so this module serves the same URLs, field names and error texts
as api.telegram.org, keeps just enough chat state to make edits and "not modified" realistic,
and records every call so tests can assert on what the user would have seen.

Usage::

    async with FakeTelegram(token="123:ABC") as tg:
        bot = Bot(tg.token, session=AiohttpSession(api=tg.api_server))
        tg.push_command(tg.user(42), "/start")
        ...
        await tg.wait_for_call("sendMessage", chat_id=42)
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import io
import json
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import PurePosixPath
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web
from PIL import Image, UnidentifiedImageError

Json = dict[str, Any]

#: Bots may only download files up to this size; getFile answers 400 above it.
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
#: Pseudo method name under which file downloads are recorded (and can be failed or hung).
DOWNLOAD_METHOD = "downloadFile"
_DOWNLOAD_CHUNK = 64 * 1024
#: Chat id used for group chats when a test does not pick one.
DEFAULT_GROUP_CHAT_ID = -4_000_000_001
#: Telegram's exact wording, because bots commonly match on it to ignore the error.
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
# Form fields arrive as strings; these are decoded so tests compare real values, not "42".
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "media",
        "results",
        "reaction",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "duration",
        "length",
        "width",
        "height",
        "cache_time",
        "message_thread_id",
        "from_chat_id",
        "user_id",
        "max_connections",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "supports_streaming",
        "disable_content_type_detection",
        "has_spoiler",
        "allow_paid_broadcast",
    }
)


class _Broadcast:
    """Wake every waiter whenever fake state changes.

    This is a condition variable whose ``notify_all`` may be called from synchronous code
    (``push_*`` helpers are sync), which ``asyncio.Condition`` forbids because it needs its
    lock. Each notify sets the current event and swaps in a fresh one; waiters re-check
    their predicate after every wake-up, so nothing polls on a timer.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify_all(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> None:
        """Return once ``predicate()`` holds; raise ``TimeoutError`` after ``timeout`` s."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._event.wait()


@dataclass(frozen=True)
class TgUser:
    """A Telegram user as tests think of it; serialised into updates on demand."""

    id: int
    first_name: str = "Test"
    language_code: str | None = "ru"
    username: str | None = None

    def as_json(self) -> Json:
        data: Json = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.language_code is not None:
            data["language_code"] = self.language_code
        if self.username is not None:
            data["username"] = self.username
        return data


@dataclass
class Call:
    """One HTTP request the bot made, with decoded params and uploaded file bytes."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    file_names: dict[str, str] = field(default_factory=dict)
    failed: bool = False
    status: int = 200
    error: str | None = None
    done: bool = False  # answered (or abandoned by the client); False while in flight
    served: int = 0  # bytes of a download written to the client before it ended or went away

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return value if isinstance(value, int) else None

    def is_method(self, method: str) -> bool:
        """Telegram method names are case-insensitive; so is this comparison."""
        return self.method.lower() == method.lower()


@dataclass
class StoredFile:
    """Bytes served under ``/file/bot<token>/<file_path>``; ``claimed_size`` may lie, and an
    unsized file has no ``file_size`` in messages or getFile (the field is optional)."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    claimed_size: int | None = None
    sized: bool = True

    @property
    def size(self) -> int:
        return len(self.data) if self.claimed_size is None else self.claimed_size


class ApiError(Exception):
    """An error answer in Telegram's JSON shape; raised by handlers, rendered by the server."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{status} {description}")
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def response(self) -> web.Response:
        body: Json = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return web.json_response(body, status=self.status)


@dataclass
class _Queued:
    """An update waiting in getUpdates' queue; delivered ones stay until confirmed."""

    update: Json
    delivered: bool = False

    @property
    def update_id(self) -> int:
        return int(self.update["update_id"])


Handler = Callable[[Call], Awaitable[Any]]


class FakeTelegram:
    """In-process Telegram Bot API server; see the module docstring for why it exists."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "govorun_test_bot",
        bot_first_name: str = "Govorun",
    ) -> None:
        self.token = token
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 1
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.calls: list[Call] = []
        self.files: dict[str, StoredFile] = {}
        self.webhook_url = ""
        self.webhook_secret: str | None = None
        self._by_path: dict[str, StoredFile] = {}
        self._messages: dict[int, dict[int, Json]] = {}
        self._sources: dict[tuple[int, int], tuple[str, str | None]] = {}
        self._chats: dict[int, Json] = {}
        self._last_message_id: dict[int, int] = {}
        self._queue: list[_Queued] = []
        self._callback_ids: set[str] = set()
        self._faults: dict[str, deque[ApiError]] = {}
        self._hangs: dict[str, deque[float]] = {}
        self._counter = 0
        #: getFile refuses bigger files, as api.telegram.org does; a local Bot API server
        #: serves up to 2000 MB (set this to act as one).
        self.max_download_size = MAX_DOWNLOAD_SIZE
        self._last_update_id = 100_000
        self._poll_generation = 0
        self._closing = False
        self._changed = _Broadcast()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._handlers = self._build_handlers()

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on 127.0.0.1 with an OS-chosen port so parallel test workers never clash."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        # handler_cancellation: a request whose client gave up (timeout) is abandoned, so a
        # hung call is never half-applied after the bot already treated it as failed.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Release long polls and hangs first so shutdown never waits out their timeouts."""
        self._closing = True
        self._changed.notify_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_server(self) -> TelegramAPIServer:
        return TelegramAPIServer.from_base(self.base_url)

    @property
    def bot_user(self) -> Json:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ------------------------------------------------------------------ inspection

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        """Calls of ``method`` (failed ones included), optionally only for one chat."""
        return [
            call
            for call in self.calls
            if call.is_method(method) and (chat_id is None or call.chat_id == chat_id)
        ]

    def sent_video_notes(self, chat_id: int) -> list[tuple[dict[str, Any], bytes]]:
        """Successfully sent video notes as (params, bytes), resolving re-sent file_ids."""
        notes = []
        for call in self.calls_of("sendVideoNote", chat_id):
            if call.done and not call.failed:
                notes.append((call.params, self._upload_bytes(call, "video_note")))
        return notes

    def chat_messages(self, chat_id: int) -> list[Json]:
        """Messages currently visible in a chat (after edits and deletions), oldest first."""
        chat = self._messages.get(chat_id, {})
        return [copy.deepcopy(chat[mid]) for mid in sorted(chat)]

    def message(self, chat_id: int, message_id: int) -> Json | None:
        found = self._messages.get(chat_id, {}).get(message_id)
        return copy.deepcopy(found) if found is not None else None

    def file_bytes(self, file_id: str) -> bytes:
        return self.files[file_id].data

    @property
    def pending_updates(self) -> list[Json]:
        """Updates not yet confirmed by the bot (delivered or not)."""
        return [copy.deepcopy(q.update) for q in self._queue]

    async def wait_for(
        self, predicate: Callable[[FakeTelegram], bool], timeout: float = 30
    ) -> None:
        """Block until ``predicate(self)`` holds, re-checking after every call or push."""
        try:
            await self._changed.wait_until(lambda: predicate(self), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"FakeTelegram.wait_for: condition not met within {timeout}s; "
                f"calls seen: {self._calls_summary()}"
            ) from None

    async def wait_for_call(
        self, method: str, chat_id: int | None = None, count: int = 1, timeout: float = 30
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` (failed included) exist; return them all."""
        try:
            await self.wait_for(lambda tg: len(tg.calls_of(method, chat_id)) >= count, timeout)
        except TimeoutError as err:
            where = "" if chat_id is None else f" for chat {chat_id}"
            raise TimeoutError(f"expected {count}× {method}{where}; {err}") from None
        return self.calls_of(method, chat_id)

    def _calls_summary(self) -> str:
        counts = Counter(call.method for call in self.calls)
        return ", ".join(f"{name}×{n}" if n > 1 else name for name, n in counts.items()) or "none"

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        count: int = 1,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error instead of handling them.

        429 gets ``parameters.retry_after`` (default 1 s) because that is what makes aiogram
        raise ``TelegramRetryAfter``; use ``DOWNLOAD_METHOD`` to fail file downloads.
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = _default_description(status, retry_after)
        queue = self._faults.setdefault(method.lower(), deque())
        queue.extend(ApiError(status, description, retry_after) for _ in range(count))

    def hang_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Delay the next ``count`` answers to ``method`` (server side) to trip client timeouts.

        If the client disconnects meanwhile, the call is recorded but never applied.
        """
        self._hangs.setdefault(method.lower(), deque()).extend([seconds] * count)

    # ------------------------------------------------------------------ files

    def add_file(
        self, data: bytes, *, file_path_hint: str, file_size: int | None = None, sized: bool = True
    ) -> tuple[str, str]:
        """Store bytes for download; ``file_size`` makes getFile/messages claim another size,
        ``sized=False`` leaves it out of both.

        The hint's folder and suffix shape the path, e.g. ``photos/x.jpg`` →
        ``photos/file_7.jpg``. Returns ``(file_id, file_unique_id)``.
        """
        n = self._next()
        hint = PurePosixPath(file_path_hint)
        folder = str(hint.parent) if str(hint.parent) != "." else "documents"
        stored = StoredFile(
            file_id=f"FAKE-FILE-{n:06d}",
            file_unique_id=f"U{n:06d}",
            file_path=f"{folder}/file_{n}{hint.suffix}",
            data=data,
            claimed_size=file_size,
            sized=sized,
        )
        self.files[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored.file_id, stored.file_unique_id

    # ------------------------------------------------------------------ building updates

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        language_code: str | None = "ru",
        username: str | None = None,
    ) -> TgUser:
        return TgUser(user_id, first_name, language_code, username)

    def push_text(
        self,
        user: TgUser,
        text: str,
        chat_type: str = "private",
        chat_id: int | None = None,
        *,
        entities: list[Json] | None = None,
    ) -> Json:
        """Queue a text message from ``user``; returns the update (re-push it to duplicate)."""
        content: Json = {"text": text}
        if entities:
            content["entities"] = entities
        return self._push_message(user, content, chat_type, chat_id)

    def push_command(
        self,
        user: TgUser,
        command: str,
        chat_type: str = "private",
        chat_id: int | None = None,
        *,
        reply_to: Json | None = None,
    ) -> Json:
        """Queue ``/cmd args`` with the ``bot_command`` entity aiogram's Command filter needs.

        ``reply_to`` is a message (e.g. ``update["message"]``) the command answers.
        """
        word = command.split(maxsplit=1)[0]
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(word)}
        content: Json = {"text": command, "entities": [entity]}
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        return self._push_message(user, content, chat_type, chat_id)

    def push_photo(
        self,
        user: TgUser,
        image: bytes,
        caption: str | None = None,
        chat_type: str = "private",
        chat_id: int | None = None,
        *,
        file_size: int | None = None,
    ) -> Json:
        """Queue a photo as Telegram does: three sizes, largest last, all serving ``image``."""
        sizes = []
        for width, height in _photo_dimensions(image):
            file_id, unique_id = self.add_file(
                image, file_path_hint="photos/photo.jpg", file_size=file_size
            )
            size = file_size if file_size is not None else len(image)
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "width": width,
                    "height": height,
                    "file_size": size,
                }
            )
        return self._push_message(
            user, _with_caption({"photo": sizes}, caption), chat_type, chat_id
        )

    def push_document(
        self,
        user: TgUser,
        data: bytes,
        file_name: str,
        mime_type: str,
        caption: str | None = None,
        file_size: int | None = None,
        chat_type: str = "private",
        chat_id: int | None = None,
        *,
        sized: bool = True,
    ) -> Json:
        """Queue a document; ``file_size`` lets a test claim e.g. 20 MB without storing it,
        ``sized=False`` sends it with no size at all."""
        suffix = PurePosixPath(file_name).suffix
        document = self._media_json(data, f"documents/doc{suffix}", file_size, sized)
        document.update(file_name=file_name, mime_type=mime_type)
        content = _with_caption({"document": document}, caption)
        return self._push_message(user, content, chat_type, chat_id)

    def push_voice(
        self,
        user: TgUser,
        ogg: bytes,
        duration: int,
        chat_type: str = "private",
        chat_id: int | None = None,
        *,
        file_size: int | None = None,
        sized: bool = True,
    ) -> Json:
        voice = self._media_json(ogg, "voice/voice.oga", file_size, sized)
        voice.update(duration=duration, mime_type="audio/ogg")
        return self._push_message(user, {"voice": voice}, chat_type, chat_id)

    def push_video_note(
        self, user: TgUser, mp4: bytes, duration: int, length: int, chat_id: int | None = None
    ) -> Json:
        """A round video message, as a user records one (strict-mode verification)."""
        note = self._media_json(mp4, "video_notes/file.mp4", None)
        note.update(duration=duration, length=length)
        return self._push_message(user, {"video_note": note}, "private", chat_id)

    def push_audio(
        self,
        user: TgUser,
        data: bytes,
        duration: int,
        mime_type: str = "audio/mpeg",
        chat_type: str = "private",
        chat_id: int | None = None,
        *,
        file_name: str | None = None,
        file_size: int | None = None,
    ) -> Json:
        audio = self._media_json(data, "music/audio.mp3", file_size)
        audio.update(duration=duration, mime_type=mime_type)
        if file_name is not None:
            audio["file_name"] = file_name
        return self._push_message(user, {"audio": audio}, chat_type, chat_id)

    def push_callback(
        self, user: TgUser, data: str, message_id: int, chat_id: int | None = None
    ) -> Json:
        """Queue a button press on an existing message (private chat with ``user`` default)."""
        chat = user.id if chat_id is None else chat_id
        message = self._messages.get(chat, {}).get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in chat {chat} to attach a callback to")
        query_id = str(self._next())
        self._callback_ids.add(query_id)
        query = {
            "id": query_id,
            "from": user.as_json(),
            "chat_instance": f"ci{chat}",
            "data": data,
            "message": copy.deepcopy(message),
        }
        return self._enqueue({"update_id": self._new_update_id(), "callback_query": query})

    def push_detached_callback(
        self, user: TgUser, data: str, *, old_message_id: int | None = None
    ) -> Json:
        """Queue a press with no message to act on: one under an inline-mode message (no
        ``message``), or, with ``old_message_id``, one on a message too old for Telegram to
        attach (an inaccessible message: chat, id and date 0)."""
        query_id = str(self._next())
        self._callback_ids.add(query_id)
        query: Json = {"id": query_id, "from": user.as_json(), "data": data}
        if old_message_id is None:
            query.update(chat_instance="inline", inline_message_id=f"inline-{query_id}")
        else:
            chat = {"id": user.id, "type": "private", "first_name": user.first_name}
            query.update(chat_instance=f"ci{user.id}")
            query["message"] = {"chat": chat, "message_id": old_message_id, "date": 0}
        return self._enqueue({"update_id": self._new_update_id(), "callback_query": query})

    def push_raw(self, update: Json) -> Json:
        """Queue an update verbatim; pushing a returned update again re-delivers its id."""
        self._last_update_id = max(self._last_update_id, int(update["update_id"]))
        return self._enqueue(update)

    async def post_update(self, url: str, update: Json, secret_token: str | None = None) -> int:
        """POST an update to a webhook like Telegram does; returns the HTTP status."""
        return await self.post_body(url, json.dumps(update).encode(), secret_token)

    async def post_body(self, url: str, body: bytes, secret_token: str | None = None) -> int:
        """POST any body to a webhook as Telegram would an update (malformed-input tests)."""
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers[SECRET_HEADER] = secret_token
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status

    def _push_message(
        self, user: TgUser, content: Json, chat_type: str, chat_id: int | None
    ) -> Json:
        chat = self._register_chat(user, chat_type, chat_id)
        message = self._store_message(chat, user.as_json(), content)
        return self._enqueue({"update_id": self._new_update_id(), "message": message})

    def _register_chat(self, user: TgUser, chat_type: str, chat_id: int | None) -> Json:
        if chat_type == "private":
            chat: Json = {"id": user.id if chat_id is None else chat_id, "type": "private"}
            chat["first_name"] = user.first_name
            if user.username is not None:
                chat["username"] = user.username
        else:
            group_id = DEFAULT_GROUP_CHAT_ID if chat_id is None else chat_id
            chat = {"id": group_id, "type": chat_type, "title": "Test group"}
        self._chats[int(chat["id"])] = chat
        return chat

    def _media_json(
        self, data: bytes, hint: str, file_size: int | None, sized: bool = True
    ) -> Json:
        file_id, unique_id = self.add_file(
            data, file_path_hint=hint, file_size=file_size, sized=sized
        )
        media: Json = {"file_id": file_id, "file_unique_id": unique_id}
        if sized:
            media["file_size"] = len(data) if file_size is None else file_size
        return media

    def _enqueue(self, update: Json) -> Json:
        self._queue.append(_Queued(copy.deepcopy(update)))
        self._changed.notify_all()
        return copy.deepcopy(update)

    def _new_update_id(self) -> int:
        self._last_update_id += 1
        return self._last_update_id

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    # ------------------------------------------------------------------ chat state

    def _chat(self, chat_id: int) -> Json:
        known = self._chats.get(chat_id)
        if known is not None:
            return known
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Test"}
        return {"id": chat_id, "type": "group", "title": "Test group"}

    def _store_message(self, chat: Json, sender: Json, content: Json) -> Json:
        chat_id = int(chat["id"])
        message_id = self._last_message_id.get(chat_id, 0) + 1
        self._last_message_id[chat_id] = message_id
        message: Json = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": copy.deepcopy(chat),
            "from": copy.deepcopy(sender),
            **content,
        }
        self._messages.setdefault(chat_id, {})[message_id] = message
        return copy.deepcopy(message)

    def _bot_message(self, params: dict[str, Any], content: Json) -> Json:
        """Store and return a message the bot sent, with inline keyboard if one was given."""
        markup = _inline_markup(params)
        if markup is not None:
            content["reply_markup"] = markup
        return self._store_message(self._chat(_chat_id(params)), self.bot_user, content)

    def _editable(self, params: dict[str, Any]) -> Json:
        chat_id, message_id = _chat_id(params), params.get("message_id")
        message = self._messages.get(chat_id, {}).get(message_id) if message_id else None
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"].get("id") != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        params, files, names = await _read_params(request)
        call = self._record(request.match_info["method"], params, files, names)
        if request.match_info["token"] != self.token:
            return self._finish(call, ApiError(401, "Unauthorized").response(), failed=True)
        return await self._serve(call, lambda: self._api_result(call))

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["file_path"]
        call = self._record(DOWNLOAD_METHOD, {"file_path": path}, {}, {})
        if request.match_info["token"] != self.token:
            return self._finish(call, ApiError(401, "Unauthorized").response(), failed=True)
        return await self._serve(call, lambda: self._file_body(call, request, path))

    def _record(
        self, method: str, params: dict[str, Any], files: dict[str, bytes], names: dict[str, str]
    ) -> Call:
        call = Call(method, params, files, time.monotonic(), file_names=names)
        self.calls.append(call)
        self._changed.notify_all()
        return call

    async def _serve(
        self, call: Call, produce: Callable[[], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Apply injected hang/fault, then the real handler; mark the call failed on errors."""
        key = call.method.lower()
        fault = _pop(self._faults, key)
        hang = _pop(self._hangs, key)
        try:
            if hang is not None:
                await self._sleep_unless_closing(hang)
            if fault is not None:
                raise fault
            response = await produce()
        except asyncio.CancelledError:
            # aiohttp cancels the handler when the client disconnects (e.g. its timeout fired).
            call.failed, call.error = True, "abandoned: client disconnected"
            call.done = True
            self._changed.notify_all()
            raise
        except ApiError as err:
            call.status, call.error = err.status, err.description
            return self._finish(call, err.response(), failed=True)
        return self._finish(call, response, failed=False)

    def _finish(
        self, call: Call, response: web.StreamResponse, *, failed: bool
    ) -> web.StreamResponse:
        call.failed = failed
        call.status = response.status
        call.done = True
        self._changed.notify_all()
        return response

    async def _api_result(self, call: Call) -> web.StreamResponse:
        handler = self._handlers.get(call.method.lower(), _ok_true)
        result = await handler(call)
        return web.json_response({"ok": True, "result": result})

    async def _file_body(self, call: Call, request: web.Request, path: str) -> web.StreamResponse:
        """Streamed in chunks with backpressure, so ``call.served`` shows how much of the file
        a client that stops reading (a download limit) took before it went away."""
        stored = self._by_path.get(path)
        if stored is None:
            raise ApiError(404, "Not Found")
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = len(stored.data)
        await response.prepare(request)
        for start in range(0, len(stored.data), _DOWNLOAD_CHUNK):
            chunk = stored.data[start : start + _DOWNLOAD_CHUNK]
            try:
                await response.write(chunk)
            except ConnectionError:
                raise asyncio.CancelledError from None  # recorded as abandoned, as a hang is
            call.served += len(chunk)
        await response.write_eof()
        return response

    async def _sleep_unless_closing(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await self._changed.wait_until(lambda: self._closing, seconds)

    # ------------------------------------------------------------------ API methods

    def _build_handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getFile": self._get_file,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendVideoNote": self._send_video_note,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendVideo": self._send_video,
            "sendChatAction": _ok_true,
            "setMyCommands": _ok_true,
            "deleteMyCommands": _ok_true,
        }
        return {name.lower(): handler for name, handler in handlers.items()}

    async def _get_me(self, call: Call) -> Json:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False}

    async def _get_updates(self, call: Call) -> list[Json]:
        """Long poll: answer as soon as an update is queued, or ``[]`` after ``timeout`` s.

        A newer getUpdates supersedes a waiting one with 409, like Telegram, so a stale poll
        from a stopped client can never swallow updates meant for its successor.
        """
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        self._confirm(call.params.get("offset"))
        self._poll_generation += 1
        generation = self._poll_generation
        self._changed.notify_all()
        try:
            await self._changed.wait_until(
                lambda: bool(self._queue) or generation != self._poll_generation or self._closing,
                float(call.params.get("timeout") or 0),
            )
        except TimeoutError:
            return []
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return self._deliver(int(call.params.get("limit") or 100))

    def _confirm(self, offset: Any) -> None:
        """Drop delivered updates below ``offset``.

        Unlike Telegram, never-delivered updates survive a higher offset: that is what lets
        ``push_raw`` re-deliver an already confirmed update_id in duplicate-delivery tests.
        """
        if isinstance(offset, int) and offset > 0:
            self._queue = [q for q in self._queue if not (q.delivered and q.update_id < offset)]

    def _deliver(self, limit: int) -> list[Json]:
        batch = sorted(self._queue, key=lambda q: q.update_id)[:limit]
        for queued in batch:
            queued.delivered = True
        return [copy.deepcopy(q.update) for q in batch]

    async def _set_webhook(self, call: Call) -> bool:
        self.webhook_url = str(call.params.get("url") or "")
        secret = call.params.get("secret_token")
        self.webhook_secret = str(secret) if secret else None
        if call.params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _delete_webhook(self, call: Call) -> bool:
        self.webhook_url, self.webhook_secret = "", None
        if call.params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    async def _get_webhook_info(self, call: Call) -> Json:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    async def _get_file(self, call: Call) -> Json:
        stored = self.files.get(str(call.params.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.size > self.max_download_size:
            raise ApiError(400, "Bad Request: file is too big")
        found: Json = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_path": stored.file_path,
        }
        if stored.sized:
            found["file_size"] = stored.size
        return found

    async def _send_message(self, call: Call) -> Json:
        raw = str(call.params.get("text") or "")
        text = _visible_text(raw, call.params.get("parse_mode"))
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        message = self._bot_message(call.params, {"text": text})
        self._sources[(message["chat"]["id"], message["message_id"])] = (
            raw,
            call.params.get("parse_mode"),
        )
        return message

    async def _edit_message_text(self, call: Call) -> Json | bool:
        if call.params.get("inline_message_id"):
            return True
        message = self._editable(call.params)
        if "text" not in message:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        raw = str(call.params.get("text") or "")
        source = (raw, call.params.get("parse_mode"))
        key = (message["chat"]["id"], message["message_id"])
        markup = _inline_markup(call.params)
        if self._sources.get(key) == source and message.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        self._sources[key] = source
        message["text"] = _visible_text(raw, call.params.get("parse_mode"))
        return _apply_edit(message, markup)

    async def _edit_message_reply_markup(self, call: Call) -> Json | bool:
        if call.params.get("inline_message_id"):
            return True
        message = self._editable(call.params)
        markup = _inline_markup(call.params)
        if message.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        return _apply_edit(message, markup)

    async def _delete_message(self, call: Call) -> bool:
        chat = self._messages.get(_chat_id(call.params), {})
        message_id = call.params.get("message_id")
        if not isinstance(message_id, int) or chat.pop(message_id, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _answer_callback_query(self, call: Call) -> bool:
        if str(call.params.get("callback_query_id")) not in self._callback_ids:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired "
                "or query ID is invalid",
            )
        return True

    async def _send_video_note(self, call: Call) -> Json:
        note = self._uploaded_media(call, "video_note", "video_notes/note.mp4")
        note["length"] = int(call.params.get("length") or 240)
        note["duration"] = int(call.params.get("duration") or 0)
        return self._bot_message(call.params, {"video_note": note})

    async def _send_video(self, call: Call) -> Json:
        video = self._uploaded_media(call, "video", "videos/video.mp4")
        video["width"] = int(call.params.get("width") or 640)
        video["height"] = int(call.params.get("height") or 640)
        video["duration"] = int(call.params.get("duration") or 0)
        return self._bot_message(call.params, self._captioned(call, {"video": video}))

    async def _send_document(self, call: Call) -> Json:
        document = self._uploaded_media(call, "document", "documents/doc.bin")
        name = call.file_names.get("document")
        if name:
            document["file_name"] = name
        return self._bot_message(call.params, self._captioned(call, {"document": document}))

    async def _send_photo(self, call: Call) -> Json:
        photo = self._uploaded_media(call, "photo", "photos/photo.jpg")
        width, height = _photo_dimensions(self.files[photo["file_id"]].data)[-1]
        photo.update(width=width, height=height)
        return self._bot_message(call.params, self._captioned(call, {"photo": [photo]}))

    def _captioned(self, call: Call, content: Json) -> Json:
        caption = call.params.get("caption")
        text = _visible_text(str(caption), call.params.get("parse_mode")) if caption else None
        return _with_caption(content, text)

    def _uploaded_media(self, call: Call, field_name: str, hint: str) -> Json:
        """File JSON for an uploaded part or a re-sent file_id (``<field>`` param)."""
        if field_name in call.files:
            data = call.files[field_name]
            file_id, unique_id = self.add_file(data, file_path_hint=hint)
        else:
            stored = self.files.get(str(call.params.get(field_name)))
            if stored is None:
                raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
            data, file_id, unique_id = stored.data, stored.file_id, stored.file_unique_id
        return {"file_id": file_id, "file_unique_id": unique_id, "file_size": len(data)}

    def _upload_bytes(self, call: Call, field_name: str) -> bytes:
        if field_name in call.files:
            return call.files[field_name]
        stored = self.files.get(str(call.params.get(field_name)))
        return stored.data if stored is not None else b""


# ---------------------------------------------------------------------- helpers


async def _ok_true(call: Call) -> bool:
    """Catch-all: unknown methods succeed, so the bot is never blocked by the fake's gaps."""
    return True


def _pop(queues: dict[str, deque[Any]], key: str) -> Any:
    queue = queues.get(key)
    return queue.popleft() if queue else None


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after}"
    return _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}")


def _chat_id(params: dict[str, Any]) -> int:
    value = params.get("chat_id")
    if value is None or value == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if not isinstance(value, int):
        raise ApiError(400, "Bad Request: chat not found")
    return value


def _inline_markup(params: dict[str, Any]) -> Json | None:
    """Only inline keyboards are echoed back in Message.reply_markup, as Telegram does."""
    markup = params.get("reply_markup")
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


def _apply_edit(message: Json, markup: Json | None) -> Json:
    if markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = markup
    message["edit_date"] = int(time.time())
    return copy.deepcopy(message)


def _with_caption(content: Json, caption: str | None) -> Json:
    if caption is not None:
        content["caption"] = caption
    return content


def _utf16_len(text: str) -> int:
    """Telegram entity offsets/lengths count UTF-16 code units, not code points."""
    return len(text.encode("utf-16-le")) // 2


class _HtmlText(HTMLParser):
    """Collects the visible text of an HTML-formatted message."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _visible_text(text: str, parse_mode: Any) -> str:
    """What the user sees: HTML tags stripped (entities are not modelled); others verbatim."""
    if str(parse_mode or "").upper() != "HTML":
        return text
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    return "".join(parser.parts)


def _photo_dimensions(image: bytes) -> list[tuple[int, int]]:
    """Three PhotoSize boxes (90, 320, full) from the real image size, 1280x960 if unreadable."""
    try:
        with Image.open(io.BytesIO(image)) as img:
            width, height = img.size
    except (UnidentifiedImageError, OSError, ValueError):
        width, height = 1280, 960
    dims = []
    for box in (90, 320, max(width, height)):
        scale = min(1.0, box / max(width, height))
        dims.append((max(1, round(width * scale)), max(1, round(height * scale))))
    return dims


async def _read_params(
    request: web.Request,
) -> tuple[dict[str, Any], dict[str, bytes], dict[str, str]]:
    """Params from query, JSON, urlencoded or multipart bodies, with attach:// resolved."""
    raw: dict[str, Any] = dict(request.query)
    files: dict[str, bytes] = {}
    names: dict[str, str] = {}
    if request.content_type == "application/json" and request.can_read_body:
        body = await request.json()
        if isinstance(body, dict):
            raw.update(body)
    elif request.can_read_body:
        for key, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                files[key], names[key] = value.file.read(), value.filename
            elif isinstance(value, bytes | bytearray):
                raw[key] = bytes(value).decode()
            else:
                raw[key] = value
    params = {key: _coerce(key, value) for key, value in raw.items()}
    _resolve_attachments(params, files, names)
    return params, files, names


def _coerce(key: str, value: Any) -> Any:
    """Undo form encoding for known fields; free text (``text``, ``caption``) stays a str."""
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        with contextlib.suppress(ValueError):
            return json.loads(value)
    elif key in _INT_FIELDS:
        with contextlib.suppress(ValueError):
            return int(value)
    elif key in _BOOL_FIELDS and value in ("true", "false"):
        return value == "true"
    return value


def _resolve_attachments(
    params: dict[str, Any], files: dict[str, bytes], names: dict[str, str]
) -> None:
    """aiogram uploads ``video_note=attach://<random>`` plus a part named ``<random>``."""
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("attach://"):
            part = value.removeprefix("attach://")
            if part in files:
                files[key] = files.pop(part)
            if part in names:
                names[key] = names.pop(part)
