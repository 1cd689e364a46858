"""Engine choice: ``auto`` picks the best engine available here; the default tier is always on.

Speech: ``auto`` takes Silero when torch is installed (the ``neural`` extra) and its weights
are in MODELS_DIR (``govorun models download silero-v5-cis-base``), else eSpeak NG.
Face: ``auto`` takes SadTalker when torch sees a CUDA device, SADTALKER_HOME holds its code and
its checkpoints are in MODELS_DIR, else the ``warp`` animator. The choice is reported in the
render output, the worker's start-up log and the bot's /stats, so the operator always knows.
"""

from __future__ import annotations

import importlib.util
import logging

from inference.animate.base import Animator
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


def create_animator(name: str = "auto") -> Animator:
    from inference.animate.warp import WarpEngine

    if name == "warp":
        return WarpEngine()
    if name not in ("auto", "sadtalker"):
        raise ValueError(f"unknown animator: {name}")
    from inference.animate.sadtalker.engine import load_sadtalker, sadtalker_missing
    from inference.models import ModelStore

    store = ModelStore.from_settings()
    if name == "auto":
        reason = sadtalker_missing(store)
        if reason is not None:
            log.info("SadTalker not available (%s): using the warp animator", reason)
            return WarpEngine()
    return load_sadtalker(store)
