"""Downloads from Telegram that stop at a limit while they stream.

A message's ``file_size`` is optional (and a local Bot API server serves files of any size),
so the announced size is only a first check: the bytes are counted as they arrive and the
download is abandoned, nothing kept, as soon as they pass the limit.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest

_CHUNK = 64 * 1024
_TIMEOUT_S = 30


async def download(bot: Bot, file_id: str, limit: int) -> bytes | None:
    """The file's bytes, or None when it is larger than ``limit`` bytes."""
    try:
        file = await bot.get_file(file_id)
    except TelegramBadRequest as error:
        if "too big" in error.message:  # over the Bot API's own download limit
            return None
        raise
    if file.file_path is None or (file.file_size is not None and file.file_size > limit):
        return None  # Telegram gives no path for files it will not serve: too big
    url = bot.session.api.file_url(bot.token, file.file_path)
    stream = bot.session.stream_content(url, timeout=_TIMEOUT_S, chunk_size=_CHUNK)
    received = bytearray()
    try:
        async for chunk in stream:
            received += chunk
            if len(received) > limit:
                return None
    finally:
        await stream.aclose()  # closes the connection now, not when the generator is collected
    return bytes(received)
