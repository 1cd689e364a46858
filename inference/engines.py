"""Engine choice: ``auto`` picks the best engine available here; the default tier is always on.

``auto`` takes Silero when torch is installed (the ``neural`` extra) and its weights are in
MODELS_DIR (``govorun models download silero-v5-cis-base``), else eSpeak NG. The choice is
reported in the render output and the worker's log, so the operator always knows.
"""

from __future__ import annotations

import importlib.util
import logging

from inference.tts.base import TTSEngine
from inference.tts.espeak import EspeakEngine

log = logging.getLogger("govorun.engines")
SILERO_MODEL = "silero-v5-cis-base"  # MIT; the CC BY-NC models are an explicit opt-in


def create_tts(name: str = "auto") -> TTSEngine:
    if name == "espeak" or (name == "auto" and not _silero_ready()):
        return EspeakEngine()
    if name in ("auto", "silero"):
        from inference.models import ModelStore
        from inference.tts.silero import load_silero

        return load_silero(ModelStore.from_settings(), SILERO_MODEL)
    raise ValueError(f"unknown TTS engine: {name}")


def _silero_ready() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    from inference.models import ModelStore

    present = ModelStore.from_settings().is_present(SILERO_MODEL)
    if not present:
        log.info("Silero weights not found: using eSpeak NG")
    return present
