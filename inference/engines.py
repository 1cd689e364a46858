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
from inference.models import ModelStore
from inference.tts.base import TTSEngine
from inference.tts.espeak import EspeakEngine

log = logging.getLogger("govorun.engines")
SILERO_MODEL = "silero-v5-cis-base"  # MIT; the CC BY-NC models are an explicit opt-in


def silero_ready(store: ModelStore | None = None) -> bool:
    """torch is installed and the Silero weights are present and verified."""
    if importlib.util.find_spec("torch") is None:
        return False
    return (store or ModelStore.from_settings()).is_present(SILERO_MODEL)


def choose_tts(name: str = "auto", store: ModelStore | None = None) -> str:
    """The TTS engine ``name`` stands for here (``auto`` resolved)."""
    if name not in ("auto", "espeak", "silero"):
        raise ValueError(f"unknown TTS engine: {name}")
    if name == "auto":
        return "silero" if silero_ready(store) else "espeak"
    return name


def choose_animator(name: str = "auto", store: ModelStore | None = None) -> tuple[str, str | None]:
    """The animator ``name`` stands for here, and why SadTalker cannot run (None if it can)."""
    if name not in ("auto", "warp", "sadtalker"):
        raise ValueError(f"unknown animator: {name}")
    if name == "warp":
        return name, None
    from inference.animate.sadtalker.engine import sadtalker_missing

    missing = sadtalker_missing(store or ModelStore.from_settings())
    if name == "auto":
        return ("warp" if missing else "sadtalker"), missing
    return name, missing


def create_tts(name: str = "auto") -> TTSEngine:
    store = ModelStore.from_settings()
    if choose_tts(name, store) == "espeak":
        if name == "auto":
            log.info("Silero not available (torch or its weights missing): using eSpeak NG")
        return EspeakEngine()
    from inference.tts.silero import load_silero

    return load_silero(store, SILERO_MODEL)


def create_animator(name: str = "auto") -> Animator:
    from inference.animate.warp import WarpEngine

    store = ModelStore.from_settings()
    chosen, missing = choose_animator(name, store)
    if chosen == "warp":
        if name == "auto":
            log.info("SadTalker not available (%s): using the warp animator", missing)
        return WarpEngine()
    from inference.animate.sadtalker.engine import load_sadtalker

    return load_sadtalker(store)
