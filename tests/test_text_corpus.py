"""The text stage reads the corpus of everyday sentences (bench/text_corpus.py) as Russians do.

Every case is asserted: one read right that is listed as a known failure fails too, so the
list stays exact and the share reported in bench/text.md can only be what this test saw.
"""

from __future__ import annotations

import pytest

from bench.text_corpus import CORPUS, KNOWN_FAILURES, Case, all_cases, read_right, spoken_words
from inference.text import normalize

_CASES = all_cases()


def test_the_corpus_is_large_and_covers_every_group() -> None:
    assert len(_CASES) >= 100
    assert all(len(cases) >= 5 for cases in CORPUS.values())
    written = [case.written for _, case in _CASES]
    assert len(set(written)) == len(written)
    assert set(written) >= KNOWN_FAILURES


@pytest.mark.parametrize(
    ("group", "case"), _CASES, ids=[f"{group}: {case.written}" for group, case in _CASES]
)
def test_sentence_is_read_as_a_russian_speaker_would(group: str, case: Case) -> None:
    spoken = normalize(case.written)
    if case.written in KNOWN_FAILURES:
        assert not read_right(spoken, case), "reads right now: take it off KNOWN_FAILURES"
    else:
        assert read_right(spoken, case), f"{group}: {spoken!r}"


def test_comparison_ignores_case_yo_hyphens_and_punctuation_only() -> None:
    assert spoken_words("Ещё — десять-пятнадцать, «минут»!") == "еще десять пятнадцать минут"
    case = Case("x", ("двадцать одна кошка",))
    assert read_right("Двадцать одна кошка.", case)
    assert not read_right("двадцать один кошка.", case)
