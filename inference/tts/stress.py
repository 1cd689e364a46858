"""Stress marks for Silero voices that need them (``v5_cis_base``), from ``silero-stress``.

Silero's notation is a "+" right before the stressed vowel ("к+ошка", "молок+о"); the
``v5_cis_base`` models read words without one with a guessed stress, so Govorun marks every word
before synthesis. ``silero-stress`` (MIT) ships its Russian accentor inside the wheel and works
offline; it also restores "ё" ("Лева" → "Л+ёва") and resolves common homographs from context.

The accentor is loaded once per process (about 50 MB, a few seconds) and shared. Importing
``silero_stress`` calls ``torch.set_num_threads(1)`` for the whole process; the loader puts the
previous thread count back so the TTS model keeps its threads.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from inference.errors import ErrorCode, RenderError
from inference.text.duration import VOWELS

log = logging.getLogger(__name__)

# A "+" not right before a vowel is not a stress mark: a stray one would be read as noise.
_STRAY_PLUS = re.compile(rf"\+(?![{VOWELS}])")

_accentor: Any = None
_accentor_lock = threading.Lock()


def _load_accentor() -> Any:
    """The shared Russian accentor, loaded on first use."""
    global _accentor
    with _accentor_lock:
        if _accentor is None:
            try:
                import torch

                threads = torch.get_num_threads()
                try:
                    from silero_stress import load_accentor

                    accentor = load_accentor(lang="ru")
                finally:
                    torch.set_num_threads(threads)
            except Exception as exc:  # ImportError, or a broken wheel
                log.warning("silero-stress unavailable: %s", type(exc).__name__)
                raise RenderError(ErrorCode.ENGINE_UNAVAILABLE, engine="silero-stress") from None
            if accentor is None:
                raise RenderError(ErrorCode.ENGINE_UNAVAILABLE, engine="silero-stress")
            _accentor = accentor
        return _accentor


class StressPlacer:
    """Puts Silero's "+" before the stressed vowel of every Russian word.

    Marks already in the text ("з+амок") are kept, so a user can override a guess; a "+" that
    does not precede a vowel is removed. Words without vowels, Latin words and digits pass
    through unchanged.
    """

    def __init__(
        self,
        *,
        put_yo: bool = True,
        put_stress_homo: bool = True,
        put_yo_homo: bool = True,
    ) -> None:
        self._options = {
            "put_stress": True,
            "put_stress_homo": put_stress_homo,
            "put_yo": put_yo,
            "put_yo_homo": put_yo_homo,
        }
        self._accentor = _load_accentor()
        # The accentor keeps no per-call state that we know of; serialize anyway, it is cheap
        # (~0.5 ms a word) next to synthesis.
        self._lock = threading.Lock()

    def place(self, text: str) -> str:
        cleaned = _STRAY_PLUS.sub("", text)
        if not any(ch in VOWELS for ch in cleaned):
            return cleaned
        with self._lock:
            result = self._accentor(cleaned, **self._options)
        return str(result)
