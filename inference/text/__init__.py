"""The text stage: user text into speakable Russian, split into notes that fit the limit."""

from __future__ import annotations

from .duration import COMMA_PAUSE, SECONDS_PER_SYLLABLE, SENTENCE_PAUSE, estimate_duration
from .normalize import normalize
from .numbers import plural
from .sentences import plan_notes, split_sentences

__all__ = [
    "COMMA_PAUSE",
    "SECONDS_PER_SYLLABLE",
    "SENTENCE_PAUSE",
    "estimate_duration",
    "normalize",
    "plan_notes",
    "plural",
    "split_sentences",
]
