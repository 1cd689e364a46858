"""Engine choice: ``auto`` picks the best engine available here; the default tier is always on.

The neural tier (Silero, SadTalker) plugs in here; until its weights are present, ``auto``
means the embedded engines, and the choice is reported so the operator always knows.
"""

from __future__ import annotations

from inference.tts.base import TTSEngine
from inference.tts.espeak import EspeakEngine


def create_tts(name: str = "auto") -> TTSEngine:
    if name in ("auto", "espeak"):
        return EspeakEngine()
    raise ValueError(f"unknown TTS engine: {name}")
