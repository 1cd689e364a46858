"""Sentences, and packing them into notes that each stay under the length limit."""

from __future__ import annotations

import re
from collections.abc import Iterator

from inference.errors import ErrorCode, RenderError

from .duration import SpeechCost, speech_cost
from .normalize import normalize

_TERMINAL = re.compile(r"[.!?…]+[»\"')\]]*(?=\s|$)")
_WORD_BEFORE = re.compile(r"\S+$")
_NEXT_CHAR = re.compile(r"\s*(\S)")
# Raw-text abbreviations whose stop does not end a sentence when a lowercase word follows.
_ABBREVIATIONS = frozenset(
    [
        "др",
        "пр",
        "см",
        "ср",
        "напр",
        "руб",
        "коп",
        "долл",
        "тыс",
        "млн",
        "млрд",
        "трлн",
        "чел",
        "мин",
        "сек",
        "гг",
        "ул",
        "кв",
        "обл",
        "им",
        "стр",
        "рис",
        "табл",
        "тел",
        "проф",
        "акад",
        "доц",
        "просп",
        "пер",
    ]
)
_SPEAKABLE = re.compile(r"\w")
_CLAUSE_BREAK = re.compile(r"(?<=[,;:—])\s+")
# A dash belongs to the word before it, so a split never starts a note with "—".
_WORD_BREAK = re.compile(r"\s+(?!—)")


def split_sentences(text: str) -> list[str]:
    """Split at . ! ? (the mark stays with its sentence); empty pieces are dropped.

    Works on raw text too: a stop after an abbreviation ("т.е.", "см.") or a single letter
    ends nothing when the next word starts in lowercase, nor does an initial ("А. С. Пушкин").
    Pieces with no letter or digit (a stray "...") are dropped.
    """
    sentences: list[str] = []
    start = 0
    for match in _TERMINAL.finditer(text):
        if _is_boundary(text, match):
            sentences.append(text[start : match.end()].strip())
            start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if _SPEAKABLE.search(s)]


def _is_boundary(text: str, match: re.Match[str]) -> bool:
    following = _NEXT_CHAR.match(text, match.end())
    if following is None:
        return True
    # A short window: the word before is all that matters, and rescanning from the start of
    # the text for every stop would be quadratic.
    before = _WORD_BEFORE.search(text, max(0, match.start() - 32), match.start())
    if before is None:
        return True
    word = before.group()
    if not following.group(1).islower():
        # "А. С. Пушкин": an initial before a capital; "Я." is more often a whole sentence.
        return not (len(word) == 1 and word.isupper() and word != "Я" and match.group() == ".")
    word = word.lower()
    return not ("." in word or len(word) == 1 or word in _ABBREVIATIONS)


def plan_notes(text: str, *, max_seconds: float, max_notes: int, rate: float = 1.0) -> list[str]:
    """Normalize raw ``text`` and pack it into at most ``max_notes`` speakable chunks.

    Whole sentences are packed greedily while the estimated duration stays within
    ``max_seconds``; a longer sentence is split at clause marks, then between words. A word is
    never cut, so a single word longer than ``max_seconds`` makes a chunk of its own.

    Raises RenderError TEXT_EMPTY when nothing speakable remains, TEXT_TOO_LONG when more than
    ``max_notes`` chunks would be needed; ValueError for a non-positive limit or rate.
    """
    if not max_seconds > 0 or max_notes < 1:
        raise ValueError("max_seconds and max_notes must be positive")
    normalized = normalize(text)
    if not normalized:
        raise RenderError(ErrorCode.TEXT_EMPTY)
    chunks: list[str] = []
    current: list[str] = []
    cost = SpeechCost()
    for piece in _pieces(normalized, max_seconds, rate):
        piece_cost = speech_cost(piece)
        if current and (cost + piece_cost).seconds(rate) > max_seconds:
            chunks.append(" ".join(current))
            # Stop at once: a refused request should cost no more work than needed.
            if len(chunks) >= max_notes:
                raise _too_long(max_seconds, max_notes)
            current, cost = [], SpeechCost()
        current.append(piece)
        cost = cost + piece_cost
    chunks.append(" ".join(current))
    return chunks


def _pieces(text: str, max_seconds: float, rate: float) -> Iterator[str]:
    """Sentences, with each one too long for a note broken into clauses, then words."""
    for sentence in split_sentences(text):
        if _fits(sentence, max_seconds, rate):
            yield sentence
            continue
        for clause in _CLAUSE_BREAK.split(sentence):
            if _fits(clause, max_seconds, rate):
                yield clause
            else:
                yield from (word for word in _WORD_BREAK.split(clause) if word)


def _fits(text: str, max_seconds: float, rate: float) -> bool:
    return speech_cost(text).seconds(rate) <= max_seconds


def _too_long(max_seconds: float, max_notes: int) -> RenderError:
    return RenderError(ErrorCode.TEXT_TOO_LONG, max_notes=max_notes, max_seconds=int(max_seconds))
