"""Arbitrary user text into the Russian words a voice reads aloud.

The reading itself is the ``ru-normalizr`` library's (numbers that agree in gender and case
through ``pymorphy3``'s dictionary, dates, times, units, money, Roman numerals, abbreviations,
Latin words); around it:

1. ``clean_chars``: Unicode folded to what the library reads; links become "ссылка", e-mail
   addresses "адрес почты", emoji and other scripts' letters vanish;
2. ``fixes.before_library``: Govorun's own readings (brands, a few acronyms) and rewrites of
   what the library would read wrong;
3. the library, in its text-to-speech profile;
4. ``fixes.after_library`` and ``tidy``: only Cyrillic words, single spaces and one mark per
   pause remain.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from . import fixes
from .cleanup import clean_chars, tidy

if TYPE_CHECKING:
    from ru_normalizr import Normalizer

_log = logging.getLogger(__name__)

# Tidying can leave something the library would read once more (a capitalised word it takes
# for an acronym); running to a fixed point keeps normalize idempotent, which re-splitting a
# note relies on. Normal text passes the second round unchanged.
_MAX_PASSES = 3
_load_lock = threading.Lock()
_normalizer: Normalizer | None = None


def normalize(text: str) -> str:
    """Make ``text`` speakable Russian; "" when nothing speakable remains.

    The result holds only Cyrillic letters, single spaces, the marks . , ! ? : ; and " — ",
    and hyphens inside words; every sentence ends with . ! or ?. Never raises.
    """
    try:
        result = _normalize_once(text)
        for _ in range(_MAX_PASSES - 1):
            again = _normalize_once(result)
            if again == result:
                break
            result = again
        return result
    except Exception:
        # A rule's bug must cost one message its niceties, not the whole job. The traceback
        # holds no user text; the text itself is never logged.
        _log.exception("text normalization failed; falling back to plain cleanup")
        return _plain(text)


def _normalize_once(text: str) -> str:
    text = fixes.before_library(clean_chars(text))
    if not text.strip():
        return ""
    text = _library().normalize(text)
    return tidy(fixes.after_library(text))


def _library() -> Normalizer:
    """The library's normalizer, built on first use: importing it loads the morphology
    dictionary (tens of MB), which a process that never reads text should not pay for."""
    global _normalizer
    with _load_lock:
        if _normalizer is None:
            from ru_normalizr import NormalizeOptions, Normalizer

            options = NormalizeOptions.tts(
                # "а", not the doubled "аа" meant for neural voices: eSpeak reads "аа" as two.
                letter_vowel_mode="single",
                # Numbers in brackets are the user's, not footnotes to drop.
                remove_links=False,
            )
            _normalizer = Normalizer(options)
        return _normalizer


def _plain(text: str) -> str:
    try:
        return tidy(fixes.after_library(clean_chars(text)))
    except Exception:
        return ""
