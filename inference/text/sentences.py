"""Sentences, and packing them into chunks that each stay under a limit.

``pack`` is the one chunk packer: ``plan_notes`` packs a note's worth of seconds with it, and
the Silero engine packs the characters one model call takes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from razdel import sentenize

from inference.errors import ErrorCode, RenderError

from .duration import estimate_duration
from .normalize import normalize

_SPEAKABLE = re.compile(r"\w")
# razdel takes "Я." before a capital for an initial ("Я. Открой!"), but it is nearly always the
# pronoun ending a one-word sentence.
_PRONOUN_SENTENCE = re.compile(r"(?<=(?<![\w.])Я\.)\s+(?=[А-ЯЁ])")
_CLAUSE_BREAK = re.compile(r"(?<=[,;:—])\s+")
# A dash belongs to the word before it, so a split never starts a chunk with "—".
_WORD_BREAK = re.compile(r"\s+(?!—)")


def split_sentences(text: str) -> list[str]:
    """Sentences of raw or normalized text, each with its closing mark; ``razdel`` decides
    where they end (it knows "т.е.", "см.", initials and decimals). Whitespace runs inside a
    sentence become single spaces; pieces with no letter or digit (a stray "...") are dropped.
    """
    sentences = (
        " ".join(piece.split())
        for found in sentenize(text)
        for piece in _PRONOUN_SENTENCE.split(found.text)
    )
    return [s for s in sentences if _SPEAKABLE.search(s)]


def pack(text: str, fits: Callable[[str], bool]) -> Iterator[str]:
    """Chunks of ``text``, in order, each one that ``fits`` as long as possible.

    Whole sentences are packed greedily; a sentence that does not fit alone is split at clause
    marks, then between words. A word is never cut: one that does not fit alone is a chunk of
    its own. ``" ".join`` of the chunks is the text with its whitespace runs made single.
    """
    current = ""
    for piece in _pieces(text, fits):
        joined = f"{current} {piece}" if current else piece
        if current and not fits(joined):
            yield current
            joined = piece
        current = joined
    if current:
        yield current


def _pieces(text: str, fits: Callable[[str], bool]) -> Iterator[str]:
    for sentence in split_sentences(text):
        if fits(sentence):
            yield sentence
            continue
        for clause in _CLAUSE_BREAK.split(sentence):
            if fits(clause):
                yield clause
            else:
                yield from (word for word in _WORD_BREAK.split(clause) if word)


def plan_notes(text: str, *, max_seconds: float, max_notes: int, rate: float = 1.0) -> list[str]:
    """Normalize raw ``text`` and pack it into at most ``max_notes`` speakable chunks, each
    estimated to last at most ``max_seconds`` (a single word longer than that is a note alone).

    Raises RenderError TEXT_EMPTY when nothing speakable remains, TEXT_TOO_LONG when more than
    ``max_notes`` chunks would be needed; ValueError for a non-positive limit or rate.
    """
    if not max_seconds > 0 or max_notes < 1:
        raise ValueError("max_seconds and max_notes must be positive")
    normalized = normalize(text)
    if not normalized:
        raise RenderError(ErrorCode.TEXT_EMPTY)

    def fits(chunk: str) -> bool:
        return estimate_duration(chunk, rate) <= max_seconds

    chunks: list[str] = []
    for chunk in pack(normalized, fits):
        # Stop at once: a refused request should cost no more work than needed.
        if len(chunks) == max_notes:
            raise RenderError(
                ErrorCode.TEXT_TOO_LONG, max_notes=max_notes, max_seconds=int(max_seconds)
            )
        chunks.append(chunk)
    return chunks
