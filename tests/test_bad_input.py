"""A corpus of bad (and odd but fine) inputs, each rendered through the real pipeline.

The promise (the README's "Reliability" section): every bad input gets a clear localized
answer and leaves no half state. So each case below goes through
:class:`~inference.pipeline.Renderer` exactly as a worker would run it, and checks three things:

* the outcome: a :class:`~inference.errors.RenderError` with the expected stable code, or, for
  inputs that only look odd (EXIF rotation, CMYK, 16-bit, Latin text, control characters), a
  valid video note;
* the answer: the Russian and English messages for the code format with the error's params and
  quote nothing of what the user sent;
* the disk: after a refusal the output folder is empty (no partial note, no temp file); after
  a success it holds the note and nothing else.

Every input is built here from the public-domain astronaut portrait or from scratch; no binary
fixture is committed.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from inference.errors import ErrorCode, RenderError
from inference.face import FaceAnalyzer
from inference.media import probe
from inference.pipeline import Renderer
from inference.settings import RenderSettings
from inference.text import normalize
from inference.tts.base import Speech
from inference.tts.espeak import EspeakEngine
from locales import translate
from testkit.bad_input import (
    VOICE_RATE,
    five_minute_voice,
    five_minutes_hollowed,
    ten_thousand_characters,
    tone,
    twenty_megabytes,
)
from testkit.face_assets import (
    animated,
    astronaut,
    chelsea,
    encode,
    png_bomb,
    png_header_only,
    two_astronauts,
    with_exif_orientation,
)
from testkit.quality import voice_message

SIZE = 240
TEXT = "Привет! Это проверка."
# A window this long of the user's input must never show up in an answer or an error string.
_ECHO_WINDOW = 8
_PRINTABLE_RUN = re.compile(rb"[\x21-\x7e]{6,}")


class CountingEspeak(EspeakEngine):
    """The real eSpeak engine, counting the texts it was asked to speak."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def synthesize(self, text: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        self.calls += 1
        return super().synthesize(text, voice, rate)


@pytest.fixture(scope="module")
def renderer(analyzer: FaceAnalyzer) -> Renderer:
    return Renderer(RenderSettings(size=SIZE), analyzer=analyzer, tts=CountingEspeak())


@dataclass(frozen=True)
class Case:
    """One input; ``expected`` is the refusal code, or None when a note must come out."""

    id: str
    build: Callable[[], bytes | str]
    expected: ErrorCode | None
    spoken: str | None = None  # what the text must come out as, where that is the point


def _outcome(
    renderer: Renderer,
    tmp_path: Path,
    photo: bytes,
    *,
    text: str | None = None,
    audio: bytes | None = None,
) -> tuple[RenderError | None, Path]:
    """Render into a folder of its own; the refusal (or None) and the note's path."""
    folder = tmp_path / "out"
    folder.mkdir(exist_ok=True)
    out = folder / "note.mp4"
    try:
        renderer.render(photo, out, text=text, audio=audio)
    except RenderError as error:
        return error, out
    return None, out


def _check(case: Case, error: RenderError | None, out: Path, user_input: bytes | str) -> None:
    if case.expected is None:
        assert error is None, f"{case.id}: refused with {error!r}, a note was expected"
        _assert_valid_note(out)
    else:
        assert error is not None, f"{case.id}: rendered, {case.expected} was expected"
        assert error.code is case.expected, f"{case.id}: {error.code} != {case.expected}"
        leftovers = sorted(p.name for p in out.parent.iterdir())
        assert leftovers == [], f"{case.id}: a refusal left {leftovers} behind"
        _assert_answer_is_clean(error, user_input)


def _assert_valid_note(out: Path) -> None:
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name], "no temp files left"
    info = probe(out)
    assert (info.width, info.height) == (SIZE, SIZE)
    assert (info.video_codec, info.pix_fmt, info.audio_codec) == ("h264", "yuv420p", "aac")
    assert info.faststart
    assert 0.3 < info.duration <= 60.0


def _assert_answer_is_clean(error: RenderError, user_input: bytes | str) -> None:
    assert all(isinstance(v, int | float | str) for v in error.params.values())
    fragments = _fragments(user_input)
    for language in ("ru", "en"):
        message = translate(f"error.{error.code.value}", language, **error.params)
        assert message.strip() and "{" not in message and "}" not in message
        for shown in (message, str(error)):
            echoed = [f for f in fragments if f in shown]
            assert not echoed, f"{language} answer quotes the input: {echoed[:3]}"
    assert re.search("[а-яё]", translate(f"error.{error.code.value}", "ru", **error.params))


def _fragments(user_input: bytes | str) -> set[str]:
    """Pieces of the input an answer that echoes it would contain."""
    if isinstance(user_input, bytes):
        head = user_input[:65536]
        # Printable runs in binary input (magic numbers, box names), and text sent as "audio".
        runs = {m.group().decode("ascii")[:_ECHO_WINDOW] for m in _PRINTABLE_RUN.finditer(head)}
        try:
            return runs | _fragments(head.decode("utf-8"))
        except UnicodeDecodeError:
            return runs
    squeezed = " ".join(user_input.split())
    return {
        squeezed[i : i + _ECHO_WINDOW]
        for i in range(max(0, len(squeezed) - _ECHO_WINDOW + 1))
        if squeezed[i : i + _ECHO_WINDOW].strip()
    }


# --- photos -----------------------------------------------------------------------------------


def _truncated_jpeg() -> bytes:
    data = encode(astronaut(), "JPEG", quality=90)
    return data[: len(data) // 2]


def _heic() -> bytes:
    # An ISO-BMFF "ftyp" box naming HEIC brands, then an "mdat" of noise: what an iPhone sends
    # as a document. Pillow has no HEIC decoder (none is installed, on purpose).
    ftyp = b"ftypheic" + b"\x00\x00\x00\x00" + b"mif1heic"
    noise = np.random.default_rng(6).bytes(4096)
    return (
        struct.pack(">I", 4 + len(ftyp))
        + ftyp
        + struct.pack(">I", 8 + len(noise))
        + b"mdat"
        + noise
    )


def _eps() -> bytes:
    # Pillow could hand this to Ghostscript; the loader does not even try.
    return b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 512 512\nshowpage\n%%EOF\n"


def _cmyk_jpeg() -> bytes:
    return encode(Image.fromarray(astronaut()).convert("CMYK"), "JPEG", quality=92)


def _png16_grey() -> bytes:
    grey = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257
    data = encode(Image.fromarray(grey), "PNG")
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    return data


def _png16_rgb() -> bytes:
    bgr16 = cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR).astype(np.uint16) * 257
    ok, data = cv2.imencode(".png", bgr16)
    assert ok
    raw = bytes(data.tobytes())
    assert raw[24] == 16, "bit depth in IHDR"
    return raw


def _sideways_without_exif() -> bytes:
    # The pixels a phone stores for the EXIF case, with the tag lost: the face lies on its side.
    return encode(np.ascontiguousarray(np.rot90(astronaut(), -1)), "JPEG", quality=95)


PHOTOS = [
    Case("zero-byte file", lambda: b"", ErrorCode.IMAGE_UNREADABLE),
    Case("truncated JPEG", _truncated_jpeg, ErrorCode.IMAGE_UNREADABLE),
    Case("PNG bomb 30000x30000", lambda: png_bomb(30000, 30000), ErrorCode.IMAGE_TOO_LARGE),
    Case("PNG bomb 7000x7000", lambda: png_bomb(7000, 7000), ErrorCode.IMAGE_TOO_LARGE),
    # No pixel data at all: only an answer from the header can say "too large" to it.
    Case("PNG bomb, header only", lambda: png_header_only(7000, 7000), ErrorCode.IMAGE_TOO_LARGE),
    Case("animated GIF", lambda: animated("GIF", 3), ErrorCode.IMAGE_ANIMATED),
    Case("animated WebP", lambda: animated("WEBP", 2), ErrorCode.IMAGE_ANIMATED),
    Case("animated PNG", lambda: animated("PNG", 2), ErrorCode.IMAGE_ANIMATED),
    Case("HEIC", _heic, ErrorCode.IMAGE_UNREADABLE),
    Case("EPS", _eps, ErrorCode.IMAGE_UNREADABLE),
    Case("20 MB random document", twenty_megabytes, ErrorCode.IMAGE_UNREADABLE),
    Case("tiny photo", lambda: encode(astronaut()[::10, ::10], "PNG"), ErrorCode.FACE_TOO_SMALL),
    Case("cat, no face", lambda: encode(chelsea(), "JPEG"), ErrorCode.NO_FACE),
    Case("two faces", lambda: encode(two_astronauts(), "JPEG"), ErrorCode.MANY_FACES),
    Case("sideways, EXIF tag lost", _sideways_without_exif, ErrorCode.NO_FACE),
    Case("EXIF orientation 6", lambda: with_exif_orientation(astronaut(), 6), None),
    Case("CMYK JPEG", _cmyk_jpeg, None),
    Case("16-bit greyscale PNG", _png16_grey, None),
    Case("16-bit RGB PNG", _png16_rgb, None),
]


@pytest.mark.parametrize("case", PHOTOS, ids=[c.id for c in PHOTOS])
def test_photo(case: Case, renderer: Renderer, tmp_path: Path) -> None:
    photo = case.build()
    assert isinstance(photo, bytes)
    error, out = _outcome(renderer, tmp_path, photo, text=TEXT)
    _check(case, error, out, photo)


# --- texts ------------------------------------------------------------------------------------


TEXTS = [
    Case("empty", lambda: "", ErrorCode.TEXT_EMPTY),
    Case("only emoji", lambda: "😀🎉👍🏽❤️‍🔥🇷🇺", ErrorCode.TEXT_EMPTY),
    Case("only spaces", lambda: "   \t \n \u00a0\u2003\u3000  ", ErrorCode.TEXT_EMPTY),
    Case("only punctuation", lambda: "?!... —  ,,, ;:", ErrorCode.TEXT_EMPTY),
    Case("10 000 characters", ten_thousand_characters, ErrorCode.TEXT_TOO_LONG),
    Case("Latin only", lambda: "Hello world, this is a test", None),
    Case("mixed scripts", lambda: "Привет, world! Это test номер 2, 日本 и Ελλάδα.", None),
    Case(
        "control characters",
        lambda: "\x00\x07Привет,\x1b\x7f мир!\r\n\x0b\x0cКак\u00ad де\x00ла?\x08",
        None,
        spoken="Привет, мир! Как дела?",
    ),
    Case(
        "RTL marks",
        lambda: "\u200fПри\u200fвет\u200f, \u202bмир\u202c!\u200e \u2067Пока.\u2069\ufeff",
        None,
        spoken="Привет, мир! Пока.",
    ),
]


@pytest.mark.parametrize("case", TEXTS, ids=[c.id for c in TEXTS])
def test_text(case: Case, renderer: Renderer, astronaut_png: bytes, tmp_path: Path) -> None:
    text = case.build()
    assert isinstance(text, str)
    tts = renderer.tts
    assert isinstance(tts, CountingEspeak)
    spoken_before = tts.calls
    error, out = _outcome(renderer, tmp_path, astronaut_png, text=text)
    _check(case, error, out, text)
    if case.spoken is not None:
        assert normalize(text) == case.spoken, "invisible characters must not split words"
    if case.expected is ErrorCode.TEXT_TOO_LONG:
        assert error is not None and error.params == {"max_notes": 3, "max_seconds": 55}
        # Refused from the estimate: nothing was synthesized, and the photo was not even read
        # (an unreadable one changes nothing).
        assert tts.calls == spoken_before
        unreadable, _ = _outcome(renderer, tmp_path, b"not a photo", text=text)
        assert unreadable is not None and unreadable.code is ErrorCode.TEXT_TOO_LONG


# --- voice messages ---------------------------------------------------------------------------

VOICES = [
    Case(
        "silent",
        lambda: voice_message(np.zeros(2 * VOICE_RATE, np.float32), VOICE_RATE),
        ErrorCode.AUDIO_SILENT,
    ),
    Case("0.1 s", lambda: tone(0.1), ErrorCode.AUDIO_TOO_SHORT),
    Case("5 minutes", five_minute_voice, ErrorCode.AUDIO_TOO_LONG),
    # The headers still say 5 minutes, but only about a second of audio is left to decode:
    # only an answer from the headers can say "too long" to it.
    Case("5 minutes, the middle missing", five_minutes_hollowed, ErrorCode.AUDIO_TOO_LONG),
    Case(
        "not audio: text",
        lambda: "просто текст, not audio at all\n".encode() * 40,
        ErrorCode.AUDIO_UNREADABLE,
    ),
    Case("not audio: a photo", lambda: encode(astronaut(), "PNG"), ErrorCode.AUDIO_UNREADABLE),
    Case("zero bytes", lambda: b"", ErrorCode.AUDIO_UNREADABLE),
    Case("truncated voice", lambda: tone(3.0)[:90], ErrorCode.AUDIO_UNREADABLE),
]


@pytest.mark.parametrize("case", VOICES, ids=[c.id for c in VOICES])
def test_voice(case: Case, renderer: Renderer, astronaut_png: bytes, tmp_path: Path) -> None:
    audio = case.build()
    assert isinstance(audio, bytes)
    error, out = _outcome(renderer, tmp_path, astronaut_png, audio=audio)
    _check(case, error, out, audio)
