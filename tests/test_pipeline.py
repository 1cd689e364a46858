"""The render pipeline end to end: outputs, series, refusals, and nothing left half-done."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.demo import astronaut, png
from inference.errors import ErrorCode, RenderError
from inference.face import FaceAnalyzer
from inference.media import probe
from inference.pipeline import Renderer
from inference.settings import RenderSettings
from inference.tts.base import Speech, Voice
from inference.tts.espeak import EspeakEngine
from testkit.quality import voice_message

SHORT = "Привет! Меня зовут Говорун."
SERIES = (
    "Первое предложение довольно длинное, чтобы занять несколько секунд. "
    "Второе предложение тоже не очень короткое, и в нём есть запятая. "
    "Третье предложение завершает наш небольшой рассказ о делении текста."
)


@pytest.fixture(scope="module")
def renderer(analyzer: FaceAnalyzer) -> Renderer:
    return Renderer(RenderSettings(size=320), analyzer=analyzer)


def _refusal(renderer: Renderer, photo: bytes, out: Path, **kwargs: object) -> ErrorCode:
    with pytest.raises(RenderError) as caught:
        renderer.render(photo, out, **kwargs)  # type: ignore[arg-type]
    assert not list(out.parent.iterdir()), "a refused request leaves nothing on disk"
    return caught.value.code


def test_a_short_text_becomes_one_valid_video_note(
    renderer: Renderer, astronaut_png: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "note.mp4"
    result = renderer.render(
        astronaut_png, out, text=SHORT, metadata={"comment": "synthetic; job test-1"}
    )
    assert [note.path for note in result.notes] == [out]
    info = probe(out)
    assert (info.width, info.height) == (320, 320)
    assert (info.video_codec, info.pix_fmt, info.audio_codec) == ("h264", "yuv420p", "aac")
    assert info.faststart
    assert abs(info.duration - result.notes[0].duration) < 0.1
    assert 1.0 < info.duration < 60.0
    assert info.metadata.get("comment") == "synthetic; job test-1"
    assert result.engines == {"tts": "espeak", "animator": "warp"}
    assert set(result.timings) == {"normalize", "face", "tts", "animate", "encode"}
    assert all(seconds >= 0 for seconds in result.timings.values())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["note.mp4"]  # no temp files left


def test_a_long_text_becomes_a_numbered_series(
    analyzer: FaceAnalyzer, astronaut_png: bytes, tmp_path: Path
) -> None:
    settings = RenderSettings(size=240, max_note_seconds=6.0, max_notes=3)
    result = Renderer(settings, analyzer=analyzer).render(
        astronaut_png, tmp_path / "story.mp4", text=SERIES
    )
    names = [note.path.name for note in result.notes]
    assert names == ["story-1of3.mp4", "story-2of3.mp4", "story-3of3.mp4"]
    for note in result.notes:
        assert probe(note.path).duration <= 6.0 + 0.6


def test_a_text_over_the_cap_is_refused_before_the_photo_is_even_read(
    analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    settings = RenderSettings(max_note_seconds=5.0, max_notes=2)
    renderer = Renderer(settings, analyzer=analyzer)
    code = _refusal(renderer, b"not a photo at all", tmp_path / "n.mp4", text=SERIES * 3)
    assert code is ErrorCode.TEXT_TOO_LONG


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "\u200f\u200e", "!!! ???"])
def test_nothing_speakable_is_refused(
    renderer: Renderer, astronaut_png: bytes, tmp_path: Path, text: str
) -> None:
    assert _refusal(renderer, astronaut_png, tmp_path / "n.mp4", text=text) is ErrorCode.TEXT_EMPTY


def test_latin_text_is_spoken(renderer: Renderer, astronaut_png: bytes, tmp_path: Path) -> None:
    result = renderer.render(astronaut_png, tmp_path / "n.mp4", text="Hello, Telegram!")
    assert result.notes[0].duration > 0.5


def test_photo_refusals(renderer: Renderer, tmp_path: Path) -> None:
    from skimage import data

    cat = png(data.chelsea())  # type: ignore[no-untyped-call]
    pair = png(np.concatenate([astronaut(), astronaut()[:, ::-1]], axis=1))
    assert _refusal(renderer, cat, tmp_path / "n.mp4", text=SHORT) is ErrorCode.NO_FACE
    assert _refusal(renderer, pair, tmp_path / "n.mp4", text=SHORT) is ErrorCode.MANY_FACES
    assert _refusal(renderer, b"\xff\xd8\xff", tmp_path / "n.mp4", text=SHORT) is (
        ErrorCode.IMAGE_UNREADABLE
    )


def test_a_voice_message_is_lip_synced(
    renderer: Renderer, astronaut_png: bytes, tmp_path: Path
) -> None:
    speech = EspeakEngine().synthesize("Это моё голосовое сообщение.")
    out = tmp_path / "voice.mp4"
    result = renderer.render(astronaut_png, out, audio=voice_message(speech.samples, 22050))
    assert result.engines["tts"] == "voice"
    assert abs(probe(out).duration - speech.duration) < 0.15


def test_silent_or_broken_audio_is_refused(
    renderer: Renderer, astronaut_png: bytes, tmp_path: Path
) -> None:
    silence = voice_message(np.zeros(48000, np.float32), 48000)
    out = tmp_path / "n.mp4"
    assert _refusal(renderer, astronaut_png, out, audio=silence) is ErrorCode.AUDIO_SILENT
    assert _refusal(renderer, astronaut_png, out, audio=b"OggS junk") is (
        ErrorCode.AUDIO_UNREADABLE
    )


class _FailsOnSecondNote:
    """Real eSpeak, except that the second chunk fails: a crash in the middle of a series."""

    name = "espeak"

    def __init__(self) -> None:
        self._engine = EspeakEngine()
        self.calls = 0

    def voices(self) -> list[Voice]:
        return self._engine.voices()

    def synthesize(self, text: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("engine crashed")
        return self._engine.synthesize(text, voice, rate)


def test_a_series_that_fails_midway_leaves_no_notes(
    analyzer: FaceAnalyzer, astronaut_png: bytes, tmp_path: Path
) -> None:
    settings = RenderSettings(size=240, max_note_seconds=8.0)
    renderer = Renderer(settings, tts=_FailsOnSecondNote(), analyzer=analyzer)
    with pytest.raises(RuntimeError):
        renderer.render(astronaut_png, tmp_path / "story.mp4", text=SERIES)
    assert not list(tmp_path.iterdir())


class _SlowSpeaker:
    """Real eSpeak at a third of its speed: a voice far slower than the planner expects."""

    name = "espeak"

    def __init__(self) -> None:
        self._engine = EspeakEngine()

    def voices(self) -> list[Voice]:
        return self._engine.voices()

    def synthesize(self, text: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        speech = self._engine.synthesize(text, voice, rate)
        return Speech(np.repeat(speech.samples, 3), speech.sample_rate, None)


def test_speech_longer_than_a_note_is_split_again(
    analyzer: FaceAnalyzer, astronaut_png: bytes, tmp_path: Path
) -> None:
    """The plan is an estimate; a chunk that really runs past 60 s is re-split, not cut."""
    settings = RenderSettings(size=240, max_note_seconds=45.0, max_notes=3)
    text = " ".join(["Мы говорим очень медленно, чтобы проверить запас по длительности."] * 8)
    renderer = Renderer(settings, tts=_SlowSpeaker(), analyzer=analyzer)
    result = renderer.render(astronaut_png, tmp_path / "slow.mp4", text=text)
    assert len(result.notes) >= 2
    assert all(probe(note.path).duration <= 60.0 for note in result.notes)


def test_a_rendered_note_carries_its_job_id_even_after_a_low_bitrate_reencode(
    analyzer: FaceAnalyzer, astronaut_png: bytes, tmp_path: Path
) -> None:
    from inference.provenance import verify_file
    from tests.test_provenance import reencode

    job_id = "note-0123456789abcdef0123"
    out = tmp_path / "note.mp4"
    result = Renderer(RenderSettings(), analyzer=analyzer).render(
        astronaut_png, out, text=SERIES.split(". ")[0] + ".", job_id=job_id
    )
    assert result.job_id == job_id
    assert verify_file(out) == job_id
    assert job_id in probe(out).metadata["comment"]
    small = reencode(out, tmp_path / "small.mp4", options={"bit_rate": 150_000})
    assert small.stat().st_size < out.stat().st_size
    assert verify_file(small) == job_id
