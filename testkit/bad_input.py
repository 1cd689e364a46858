"""Hostile inputs of the bad-input corpus that the refusal benchmark times as well.

Built from scratch here (nothing binary is committed): a 20 MB random "photo", a 10 000-character
text, voice messages of a vowel-like buzz, five minutes of it, and the same five minutes with
everything but the first pages and the last one left out.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from testkit.quality import voice_message

VOICE_RATE = 8000  # narrow-band mono: quick to build, and Opus takes it as it is


def twenty_megabytes() -> bytes:
    return np.random.default_rng(20).bytes(20 * 1024 * 1024)


def ten_thousand_characters() -> str:
    sentence = (
        "Сегодня мы долго гуляли по парку, кормили уток и разговаривали о самых разных вещах. "
    )
    text = (sentence * (10_000 // len(sentence) + 1))[:10_000]
    assert len(text) == 10_000
    return text


def tone(seconds: float, amplitude: float = 0.3) -> bytes:
    """A voice message of a vowel-like buzz with a syllable rhythm (nothing calls it silent)."""
    t = np.arange(round(seconds * VOICE_RATE), dtype=np.float32) / VOICE_RATE
    buzz = np.sin(2 * np.pi * 180 * t) + 0.5 * np.sin(2 * np.pi * 540 * t)
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return voice_message((amplitude / 1.5 * buzz * envelope).astype(np.float32), VOICE_RATE)


@cache
def five_minute_voice() -> bytes:
    """Five minutes of voice message; built once (encoding it takes a couple of seconds)."""
    return tone(300.0)


def ogg_pages(data: bytes) -> list[bytes]:
    """The pages of an OGG stream, each whole (header, segment table, body)."""
    pages, at = [], 0
    while at < len(data):
        assert data[at : at + 4] == b"OggS", "not an OGG page"
        segments = data[at + 26]
        end = at + 27 + segments + sum(data[at + 27 : at + 27 + segments])
        pages.append(data[at:end])
        at = end
    return pages


def five_minutes_hollowed() -> bytes:
    """The five-minute voice message with all but its first pages and its last one left out:
    its headers still say five minutes, about a second of audio is left to decode."""
    pages = ogg_pages(five_minute_voice())
    return b"".join([*pages[:3], pages[-1]])
