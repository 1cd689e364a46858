"""split_sentences(), estimate_duration() and plan_notes()."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.errors import ErrorCode, RenderError
from inference.text import (
    COMMA_PAUSE,
    SECONDS_PER_SYLLABLE,
    SENTENCE_PAUSE,
    estimate_duration,
    normalize,
    plan_notes,
    split_sentences,
)

WORD = re.compile(r"[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)*")


def test_split_keeps_the_mark_with_its_sentence() -> None:
    assert split_sentences("Привет. Как дела? Отлично! Пока.") == [
        "Привет.",
        "Как дела?",
        "Отлично!",
        "Пока.",
    ]


def test_split_drops_empty_pieces() -> None:
    assert split_sentences("") == []
    assert split_sentences("   ") == []
    assert split_sentences(" ... ") == []
    assert split_sentences("Без точки в конце") == ["Без точки в конце"]


def test_split_on_raw_text_respects_abbreviations_initials_and_decimals() -> None:
    raw = "Это т.е. пример, см. выше. А. С. Пушкин пришёл. Цена 3.5 руб. Ну и т.д. Конец..."
    assert split_sentences(raw) == [
        "Это т.е. пример, см. выше.",
        "А. С. Пушкин пришёл.",
        "Цена 3.5 руб.",
        "Ну и т.д.",
        "Конец...",
    ]


def test_split_keeps_closing_quotes_and_one_letter_sentences() -> None:
    assert split_sentences("Он сказал «да!» Потом ушёл.") == ["Он сказал «да!»", "Потом ушёл."]
    assert split_sentences("Кто там? Я. Открой!") == ["Кто там?", "Я.", "Открой!"]


def test_duration_model_counts_syllables_and_pauses() -> None:
    # 4 vowels, one comma, one sentence end.
    expected = 4 * SECONDS_PER_SYLLABLE + COMMA_PAUSE + SENTENCE_PAUSE
    assert estimate_duration("Мама, мыла.") == pytest.approx(expected)
    assert estimate_duration("Мама, мыла.", rate=2.0) == pytest.approx(expected / 2)
    assert estimate_duration("Раз — два: три; четыре!") == pytest.approx(
        6 * SECONDS_PER_SYLLABLE + 3 * COMMA_PAUSE + SENTENCE_PAUSE
    )
    assert estimate_duration("") == 0.0


@pytest.mark.parametrize("rate", [0.0, -1.0, float("nan"), float("inf")])
def test_duration_refuses_a_meaningless_rate(rate: float) -> None:
    with pytest.raises(ValueError):
        estimate_duration("Привет.", rate=rate)


def test_short_text_is_one_note() -> None:
    assert plan_notes("Привет, мир!", max_seconds=10, max_notes=3) == ["Привет, мир!"]


def test_plan_normalizes_first() -> None:
    assert plan_notes("Скидка 15% до 24.11.2026", max_seconds=60, max_notes=1) == [
        "Скидка пятнадцать процентов до двадцать четвёртого ноября две тысячи двадцать шестого "
        "года."
    ]


def test_sentences_are_packed_whole_and_greedily() -> None:
    sentence = "Раз два три четыре пять."  # 9 syllables + a stop = 1.84 s
    notes = plan_notes(sentence * 1 + (" " + sentence) * 6, max_seconds=4, max_notes=10)
    assert notes == [f"{sentence} {sentence}"] * 3 + [sentence]


def test_long_sentence_is_split_at_clauses_before_words() -> None:
    text = "Первая часть фразы, вторая часть фразы, третья часть фразы."
    notes = plan_notes(text, max_seconds=2, max_notes=5)  # a clause is 1.16 s, two are 2.32 s
    assert notes == ["Первая часть фразы,", "вторая часть фразы,", "третья часть фразы."]


def test_clause_without_marks_is_split_between_words() -> None:
    text = "Очень длинное предложение совсем без всяких знаков препинания внутри"
    notes = plan_notes(text, max_seconds=2, max_notes=10)
    assert " ".join(notes) == normalize(text)
    assert len(notes) > 1
    assert all(estimate_duration(note) <= 2 for note in notes)


def test_a_dash_never_starts_a_note() -> None:
    notes = plan_notes("Слово — слово слово слово слово слово.", max_seconds=0.6, max_notes=20)
    assert not any(note.startswith("—") for note in notes)


def test_a_word_longer_than_the_limit_gets_a_note_of_its_own() -> None:
    notes = plan_notes("Да. Превысокомногорассмотрительствующий. Нет.", max_seconds=1, max_notes=5)
    assert notes == ["Да.", "Превысокомногорассмотрительствующий.", "Нет."]


def test_rate_makes_room() -> None:
    text = "Раз два три четыре пять. " * 4
    assert len(plan_notes(text, max_seconds=4, max_notes=10, rate=1.0)) == 2
    assert len(plan_notes(text, max_seconds=4, max_notes=10, rate=2.0)) == 1


@pytest.mark.parametrize("text", ["", "   ", "😀🎉", "!!!", "中文"])
def test_nothing_speakable_is_refused(text: str) -> None:
    with pytest.raises(RenderError) as caught:
        plan_notes(text, max_seconds=60, max_notes=3)
    assert caught.value.code is ErrorCode.TEXT_EMPTY


def test_too_many_notes_are_refused_with_the_limits_only() -> None:
    secret = "Секретный текст пользователя. " * 50
    with pytest.raises(RenderError) as caught:
        plan_notes(secret, max_seconds=5.5, max_notes=2)
    assert caught.value.code is ErrorCode.TEXT_TOO_LONG
    assert caught.value.params == {"max_notes": 2, "max_seconds": 5}
    assert "Секрет" not in str(caught.value)


def test_exactly_max_notes_is_accepted() -> None:
    sentence = "Раз два три четыре пять."
    assert len(plan_notes(f"{sentence} {sentence}", max_seconds=2, max_notes=2)) == 2


@pytest.mark.parametrize(("max_seconds", "max_notes"), [(0, 1), (-1, 1), (10, 0)])
def test_meaningless_limits_are_a_programming_error(max_seconds: float, max_notes: int) -> None:
    with pytest.raises(ValueError):
        plan_notes("Привет.", max_seconds=max_seconds, max_notes=max_notes)


_WORDS = st.sampled_from(
    [
        "мама",
        "мыла",
        "раму",
        "превысокомногорассмотрительствующий",
        "и",
        "да",
        "кто-то",
        "5",
        "т.е.",
        "iPhone",
    ]
)
_MARKS = st.sampled_from([" ", " ", " ", ", ", ". ", "! ", "? ", " — ", "; ", ": ", "\n"])
_texts = st.lists(st.tuples(_WORDS, _MARKS), max_size=60).map(
    lambda pairs: "".join(word + mark for word, mark in pairs)
)


@settings(max_examples=300, deadline=None)
@given(_texts | st.text(max_size=200), st.floats(0.5, 20), st.floats(0.5, 3))
def test_plan_never_cuts_a_word_and_respects_the_limit(
    text: str, max_seconds: float, rate: float
) -> None:
    normalized = normalize(text)
    try:
        notes = plan_notes(text, max_seconds=max_seconds, max_notes=1000, rate=rate)
    except RenderError as refused:
        assert refused.code is ErrorCode.TEXT_EMPTY
        assert normalized == ""
        return
    assert " ".join(notes) == normalized
    assert WORD.findall(" ".join(notes)) == WORD.findall(normalized)
    for note in notes:
        assert note == note.strip() and note
        if estimate_duration(note, rate) > max_seconds:
            assert len(WORD.findall(note)) == 1, note


@settings(max_examples=200, deadline=None)
@given(_texts)
def test_split_sentences_of_normalized_text_rejoins_exactly(text: str) -> None:
    normalized = normalize(text)
    sentences = split_sentences(normalized)
    assert " ".join(sentences) == normalized
    assert all(s[-1] in ".!?" for s in sentences)
