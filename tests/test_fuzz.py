"""Fuzzing the three doors untrusted input comes through: images, audio and text.

Whatever a user sends, the only failure allowed is a typed :class:`RenderError` with one of
the codes that stage documents; anything else (an ``IndexError`` deep in a decoder, a hang, a
memory blow-up) would surface to the user as a generic crash and leave the job to retry forever.

Inputs are arbitrary bytes, valid files of every accepted format with random bytes flipped
(PNG chunks optionally given fresh CRCs, so the mutation reaches the decoder instead of the
checksum test), and truncations. Each example must also answer at all: a watchdog turns a stuck
call into a failure instead of a stuck test run (how fast they answer is not measured here).
Budgets keep every test under ~15 s.
"""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from types import FrameType
from typing import TypeVar

import av
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from inference.errors import ErrorCode, RenderError
from inference.face import load_image
from inference.media import load_audio
from inference.text import estimate_duration, normalize, plan_notes
from testkit.face_assets import animated, astronaut, encode, resized, with_exif_orientation
from testkit.quality import voice_message

T = TypeVar("T")

# Every call here takes milliseconds: a call still running after this long is stuck, on any
# machine however loaded.
_STUCK_AFTER_S = 30.0

# Pillow warns about the corrupt files this module feeds it ("Corrupt EXIF data", ...).
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.*")

# --- the guard ----------------------------------------------------------------------------------


class _Stuck(BaseException):
    """Raised by the alarm; a BaseException, so no ``except Exception`` in the code swallows it."""


@contextmanager
def _stuck_after(seconds: float) -> Iterator[None]:
    """Interrupt a call still running after ``seconds``: a watchdog, not a measurement.

    SIGALRM interrupts Python-level loops (Pillow's container parsers are Python); a loop
    inside C code cannot be interrupted, so only Python-level hangs are caught this way.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _Stuck(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _refusal_or_result(call: Callable[[], T], allowed: frozenset[ErrorCode]) -> T | None:
    """``call()``'s result, or None when it refused with one of the ``allowed`` codes."""
    try:
        with _stuck_after(_STUCK_AFTER_S):
            return call()
    except RenderError as error:
        assert error.code in allowed, f"unexpected refusal {error.code}"
        return None


# --- mutations ----------------------------------------------------------------------------------


def _fix_png_crcs(data: bytearray) -> None:
    """Recompute every chunk's CRC in place, so a flipped byte gets past the checksum."""
    pos = 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        end = pos + 8 + length
        if end + 4 > len(data):
            return
        data[end : end + 4] = struct.pack(">I", zlib.crc32(data[pos + 4 : end]) & 0xFFFFFFFF)
        pos = end + 4


@st.composite
def mutated(draw: st.DrawFn, seeds: tuple[bytes, ...]) -> bytes:
    """A seed file with a few bytes flipped (the header more often) and maybe truncated."""
    data = bytearray(draw(st.sampled_from(seeds)))
    size = len(data)
    anywhere = st.integers(0, size - 1)
    position = st.integers(0, min(size, 96) - 1) | anywhere
    for where, mask in draw(st.lists(st.tuples(position, st.integers(1, 255)), max_size=6)):
        data[where] ^= mask
    if data.startswith(b"\x89PNG") and draw(st.booleans()):
        _fix_png_crcs(data)
    if draw(st.booleans()):
        del data[draw(st.integers(0, size)) :]
    return bytes(data)


def _with_magic(magics: tuple[bytes, ...]) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes, alone or behind a real format's magic number."""
    tail = st.binary(max_size=1024)
    return tail | st.builds(lambda m, t: m + t, st.sampled_from(magics), tail)


# --- (a) images ---------------------------------------------------------------------------------

IMAGE_CODES = frozenset(
    {
        ErrorCode.IMAGE_UNREADABLE,
        ErrorCode.IMAGE_TOO_LARGE,
        ErrorCode.IMAGE_ANIMATED,
        ErrorCode.FACE_TOO_SMALL,
    }
)
IMAGE_MAGICS = (
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"GIF89a",
    b"RIFF\x00\x10\x00\x00WEBPVP8 ",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
)


@cache
def image_seeds() -> tuple[bytes, ...]:
    """Small but decodable (at least 64 px a side, so decoding is reached) files of each kind."""
    face = resized(astronaut()[60:200, 150:290], 80, 72)
    return (
        encode(face, "PNG"),
        encode(Image.fromarray(face).convert("RGBA"), "PNG"),
        encode(face, "JPEG", quality=80),
        with_exif_orientation(face, 6),
        encode(face, "WEBP", quality=60),
        encode(Image.fromarray(face).convert("P"), "GIF"),
        encode(face, "BMP"),
        encode(face, "TIFF"),
        animated("GIF", 2),
        animated("PNG", 2),
    )


def _check_image(data: bytes) -> None:
    rgb = _refusal_or_result(lambda: load_image(data), IMAGE_CODES)
    if rgb is not None:
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
        assert min(rgb.shape[:2]) >= 64 and rgb.flags.c_contiguous


@settings(max_examples=1000, deadline=None)
@given(_with_magic(IMAGE_MAGICS))
def test_load_image_on_arbitrary_bytes(data: bytes) -> None:
    _check_image(data)


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_load_image_on_mutated_files(data: st.DataObject) -> None:
    _check_image(data.draw(mutated(image_seeds())))


# --- (b) audio ----------------------------------------------------------------------------------

AUDIO_CODES = frozenset(
    {
        ErrorCode.AUDIO_UNREADABLE,
        ErrorCode.AUDIO_TOO_LONG,
        ErrorCode.AUDIO_TOO_SHORT,
        ErrorCode.AUDIO_SILENT,
    }
)
AUDIO_MAGICS = (b"OggS\x00\x02", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"ID3\x03\x00", b"fLaC")


def _encoded(fmt: str, codec: str, samples: npt.NDArray[np.float32], rate: int) -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        frame = av.AudioFrame.from_ndarray(
            (samples * 32767).astype(np.int16)[None, :], format="s16", layout="mono"
        )
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for resampled in resampler.resample(frame):
            container.mux(stream.encode(resampled))
        container.mux(stream.encode(None))
    return buffer.getvalue()


@cache
def audio_seeds() -> tuple[bytes, ...]:
    """0.7 s of a buzzing vowel in the containers people send."""
    rate = 8000
    t = np.arange(int(0.7 * rate), dtype=np.float32) / rate
    buzz = (0.3 * np.sin(2 * np.pi * 180 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(
        np.float32
    )
    return (
        voice_message(buzz, rate),
        _encoded("wav", "pcm_s16le", buzz, rate),
        _encoded("mp3", "libmp3lame", buzz, rate),
        _encoded("flac", "flac", buzz, rate),
    )


def wav(
    *,
    tag: int,
    channels: int,
    rate: int,
    byte_rate: int,
    align: int,
    bits: int,
    size: int,
    payload: bytes,
) -> bytes:
    """A RIFF/WAVE file with every header field as given, true or not."""
    fmt = struct.pack("<HHIIHH", tag, channels, rate, byte_rate, align, bits)
    return (
        b"RIFF"
        + struct.pack("<I", size)
        + b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", size)
        + payload
    )


def _check_audio(data: bytes) -> None:
    samples = _refusal_or_result(lambda: load_audio(data), AUDIO_CODES)
    if samples is not None:
        assert samples.dtype == np.float32 and samples.ndim == 1
        assert 0.5 * 48000 <= samples.size <= 60 * 48000
        assert np.isfinite(samples).all() and np.abs(samples).max() <= 1.0


@settings(max_examples=800, deadline=None)
@given(_with_magic(AUDIO_MAGICS))
def test_load_audio_on_arbitrary_bytes(data: bytes) -> None:
    _check_audio(data)


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_load_audio_on_mutated_files(data: st.DataObject) -> None:
    _check_audio(data.draw(mutated(audio_seeds())))


# Integer and float PCM, A-law, mu-law, ADPCM and odd tags, any channel count and rate.
wav_headers = st.builds(
    wav,
    tag=st.sampled_from([1, 2, 3, 6, 7, 0x11, 0x55, 0xFFFE, 0]),
    channels=st.integers(0, 12),
    rate=st.integers(1, 400_000) | st.sampled_from([0, 8000, 48000]),
    byte_rate=st.integers(0, 2**32 - 1) | st.sampled_from([0, 16000, 96000]),
    align=st.integers(0, 600),
    bits=st.sampled_from([0, 4, 7, 8, 16, 24, 32, 64]),
    size=st.integers(0, 2**32 - 1) | st.sampled_from([0, 0xFFFFFFFF, 4000, 40000]),
    payload=st.builds(
        lambda unit, n: unit * n, st.binary(min_size=1, max_size=64), st.integers(0, 400)
    ),
)


@settings(max_examples=1200, deadline=None)
@given(wav_headers)
def test_load_audio_on_lying_wav_headers(data: bytes) -> None:
    """Every WAV header field is a claim the decoder may trust: rates, sizes, block alignment."""
    _check_audio(data)


# --- (c) text -----------------------------------------------------------------------------------

TEXT_CODES = frozenset({ErrorCode.TEXT_EMPTY, ErrorCode.TEXT_TOO_LONG})
SPEAKABLE = re.compile(r"[А-Яа-яЁё .,!?:;—-]+")
_WORD_BREAK = re.compile(r"\s+(?!—)")  # as plan_notes splits an over-long clause


@contextmanager
def _logged_errors(logger: str) -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(logging.ERROR)
    logging.getLogger(logger).addHandler(handler)
    try:
        yield records
    finally:
        logging.getLogger(logger).removeHandler(handler)


any_char = st.characters(exclude_categories=())  # every category, lone surrogates included
_FRAGMENTS = (
    "Привет! ",
    "Как дела? ",
    "т.е. ",
    "и т.д. ",
    "24.11.2026 ",
    "в 14:30 ",
    "100 руб. ",
    "$5, ",
    "3,5 кг ",
    "15% ",
    "XX век ",
    "iPhone ",
    "https://example.com/a?b=c ",
    "mail@example.com ",
    "— ",
    "... ",
    "😀 ",
    "\u200f",
    "\u0301",
    "\n",
    "А. С. Пушкин ",
    "кто-нибудь ",
    "Рентгеноэлектрокардиографического ",
)
short_text = st.text(any_char, max_size=120)
prose = st.lists(st.sampled_from(_FRAGMENTS) | st.text(any_char, max_size=6), max_size=40).map(
    "".join
)
# Long strings come from repeating a short one: hypothesis cannot draw 5 000 random characters
# within its budget, and repetition is what real long messages (and floods) look like.
long_text = st.builds(
    lambda unit, length: (unit * (length // max(1, len(unit)) + 1))[:length],
    short_text | prose,
    st.integers(200, 5000),
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=short_text | prose | long_text,
    max_seconds=st.floats(1.0, 60.0),
    max_notes=st.integers(1, 10),
    rate=st.floats(0.5, 2.0),
)
def test_text_plans_only_speakable_chunks(
    text: str, max_seconds: float, max_notes: int, rate: float
) -> None:
    with _logged_errors("inference.text.normalize") as swallowed:
        normalized = normalize(text)
    # normalize() survives a rule's bug by falling back to plain cleanup and logging it; for
    # the fuzzer that fallback is still a crash, found.
    assert not swallowed, "a normalization rule raised (see the log record)"
    assert normalized == "" or SPEAKABLE.fullmatch(normalized)
    chunks = _refusal_or_result(
        lambda: plan_notes(text, max_seconds=max_seconds, max_notes=max_notes, rate=rate),
        TEXT_CODES,
    )
    if chunks is None:
        return
    assert 1 <= len(chunks) <= max_notes
    for chunk in chunks:
        assert SPEAKABLE.fullmatch(chunk), f"unspeakable characters in {chunk!r}"
        assert re.search("[А-Яа-яЁё]", chunk), f"nothing to say in {chunk!r}"
        fits = estimate_duration(chunk, rate) <= max_seconds + 1e-9
        assert fits or len(_WORD_BREAK.split(chunk)) == 1, "only a lone word may overrun"
    assert " ".join(chunks) == normalized, "no word is cut, lost or added"


# --- regressions: crashes the fuzzers found in inference/media/audio.py, now fixed ------------

_REPO = Path(__file__).resolve().parent.parent


def test_eight_channel_audio_does_not_crash_the_process() -> None:
    # In a child process: the crash is a SIGSEGV, which would end this test session.
    child = """
import struct
from inference.errors import RenderError
from inference.media import load_audio

# 1 s of a loud square wave on 8 channels (7.1), 16-bit PCM at 16 kHz: a plain, valid file.
frame_pair = struct.pack("<h", 8000) * 8 + struct.pack("<h", -8000) * 8
payload = frame_pair * 8000
fmt = struct.pack("<HHIIHH", 1, 8, 16000, 16000 * 16, 16, 16)
data = (b"RIFF" + struct.pack("<I", 36 + len(payload)) + b"WAVEfmt " + struct.pack("<I", 16)
        + fmt + b"data" + struct.pack("<I", len(payload)) + payload)
try:
    print("decoded", load_audio(data).size)
except RenderError as error:
    print("refused", error.code)
"""
    done = subprocess.run(
        [sys.executable, "-c", child],
        cwd=_REPO,
        env={**os.environ, "PYTHONPATH": str(_REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"exit status {done.returncode}: {done.stderr[-500:]}"


def test_a_tiny_low_rate_file_is_refused_cheaply() -> None:
    data = wav(
        tag=1,  # plain 8-bit PCM, mono
        channels=1,
        rate=1,  # 1 Hz
        byte_rate=1_000_000,  # a lie: the length estimated from the file size is ~0 s
        align=256,  # FFmpeg hands over 256 samples per packet
        bits=8,
        size=0xFFFFFFFF,  # "unknown", as streaming writers leave it
        payload=bytes(range(256)) * 3,
    )
    assert len(data) < 1024
    tracemalloc.start()
    try:
        with pytest.raises(RenderError) as refused:
            load_audio(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.code in AUDIO_CODES
    # A 60 s limit at 48 kHz is 11 MB of float32; refusing an 812-byte file needs far less.
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MB allocated to refuse {len(data)} bytes"


def test_nan_samples_never_leave_load_audio() -> None:
    rate = 16000
    t = np.arange(rate, dtype=np.float32) / rate
    samples = (0.3 * np.sin(2 * np.pi * 220 * t)).astype("<f4")
    samples[100] = np.nan
    payload = samples.tobytes()
    data = wav(
        tag=3,  # IEEE float
        channels=1,
        rate=rate,
        byte_rate=rate * 4,
        align=4,
        bits=32,
        size=len(payload),
        payload=payload,
    )
    try:
        decoded = load_audio(data)
    except RenderError as error:
        assert error.code in AUDIO_CODES  # refusing the file is a fine answer too
        return
    assert np.isfinite(decoded).all(), f"{np.isnan(decoded).sum()} NaN samples returned"
