"""Both speech engines get the normalized text from the pipeline; Silero's stress marks are
placed on it after normalization, never on the digits and abbreviations of the raw text."""

from __future__ import annotations

from pathlib import Path

import pytest

from inference.pipeline import Renderer
from inference.settings import RenderSettings
from inference.text import normalize
from inference.tts.base import Speech, Voice
from inference.tts.espeak import EspeakEngine

RAW = "Встреча 1 марта в 14:30, придут 21 человек и 2 собаки. См. https://example.com"


class _Recording:
    """The real eSpeak engine, remembering the text it was asked to say."""

    name = "espeak"

    def __init__(self) -> None:
        self._engine = EspeakEngine()
        self.texts: list[str] = []

    def voices(self) -> list[Voice]:
        return self._engine.voices()

    def synthesize(self, text: str, voice: str | None = None, rate: float = 1.0) -> Speech:
        self.texts.append(text)
        return self._engine.synthesize(text, voice, rate)


def test_espeak_gets_the_normalized_text(astronaut_png: bytes, tmp_path: Path) -> None:
    engine = _Recording()
    Renderer(RenderSettings(size=240), tts=engine).render(
        astronaut_png, tmp_path / "note.mp4", text=RAW
    )
    assert " ".join(engine.texts) == normalize(RAW)
    assert "первого марта" in normalize(RAW) and "двадцать один человек" in normalize(RAW)


def test_silero_marks_stress_on_the_normalized_text(astronaut_png: bytes, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("silero_stress")
    from inference.tts.silero import SileroEngine
    from inference.tts.stress import StressPlacer
    from tests.test_tts_silero import _export_stand_in

    model = _export_stand_in(tmp_path, tmp_path / "stand_in.pt")
    engine = SileroEngine(model, needs_stress=True, stress=StressPlacer())
    Renderer(RenderSettings(size=240), tts=engine).render(
        astronaut_png, tmp_path / "note.mp4", text=RAW
    )
    marked = " ".join(call["text"] for call in engine.model.calls)
    assert "+" in marked
    # silero-stress restores "ё" ("всё"); nothing else may differ from the normalized text.
    assert marked.replace("+", "").replace("ё", "е") == normalize(RAW).replace("ё", "е")
