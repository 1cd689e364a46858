"""Arbitrary user text into Russian that eSpeak NG's Russian voice can read aloud.

The passes run in a fixed order, each on the output of the one before:

1. characters: Unicode folded to a small alphabet; links become "ссылка", e-mail addresses
   "адрес почты", emoji and other scripts' letters vanish;
2. numbers: dates, times, money, units, ordinals and plain numbers become words;
3. Latin: dictionary words, spelled acronyms, letter rules;
4. abbreviations: "т.е.", "и т.д.", "см." ... and vowelless acronyms ("РФ" -> "эр эф");
5. tidy: only Cyrillic words, single spaces and one mark per pause remain.
"""

from __future__ import annotations

import logging

from .abbreviations import expand_abbreviations
from .cleanup import clean_chars, tidy
from .numerics import expand_numerics
from .translit import transliterate

_log = logging.getLogger(__name__)

# A later pass can leave a pattern an earlier one would rewrite (tidying "г ,." leaves "г.",
# an abbreviation). Running to a fixed point makes normalize idempotent; normal text passes
# the second round unchanged, so the loop almost never runs more than twice.
_MAX_PASSES = 4


def normalize(text: str) -> str:
    """Make ``text`` speakable Russian; "" when nothing speakable remains.

    The result holds only Cyrillic letters, single spaces, the marks . , ! ? : ; and " — ",
    and hyphens inside words; every sentence ends with . ! or ?. Numbers, dates, times,
    money and units are spelled out with agreement ("2 руб." -> "два рубля"); URLs are
    replaced by the word "ссылка" and e-mail addresses by "адрес почты"; Latin words are
    transliterated; emoji, symbols, quotes and brackets are dropped. Never raises.
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
    text = clean_chars(text)
    text = expand_numerics(text)
    text = transliterate(text)
    text = expand_abbreviations(text)
    return tidy(text)


def _plain(text: str) -> str:
    try:
        return tidy(clean_chars(text))
    except Exception:
        return ""
