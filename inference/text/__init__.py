"""The text stage: user text into speakable Russian, split into notes that fit the limit, with
the face cues of their words."""

from __future__ import annotations

from .cues import Cue, Mood, Script, Word, emoji_moods, read_script
from .duration import COMMA_PAUSE, SECONDS_PER_SYLLABLE, SENTENCE_PAUSE, estimate_duration
from .normalize import normalize
from .sentences import pack, plan_notes, split_sentences

__all__ = [
    "COMMA_PAUSE",
    "SECONDS_PER_SYLLABLE",
    "SENTENCE_PAUSE",
    "Cue",
    "Mood",
    "Script",
    "Word",
    "emoji_moods",
    "estimate_duration",
    "normalize",
    "pack",
    "plan_notes",
    "read_script",
    "split_sentences",
]
