"""read_script() and emoji_moods(): the face cues the animator reads off a note's words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inference.text import (
    Cue,
    Mood,
    Script,
    Word,
    emoji_moods,
    normalize,
    plan_notes,
    read_script,
)


def _word(script: Script, text: str) -> Word:
    matches = [word for word in script.words if word.text == text]
    assert len(matches) == 1, f"{text!r} should occur once in {script.text!r}"
    return matches[0]


def _cues(chunk: str, moods: tuple[Mood, ...] = ()) -> dict[str, frozenset[Cue]]:
    return {word.text: word.cues for word in read_script(chunk, moods).words}


def _single_chunk(raw: str) -> str:
    (chunk,) = plan_notes(raw, max_seconds=60, max_notes=1)
    return chunk


def test_agreement_nods() -> None:
    assert _cues("Да, конечно.") == {"Да": {Cue.NOD}, "конечно": {Cue.NOD}}


def test_refusal_shakes_over_the_whole_phrase_and_keeps_marks() -> None:
    script = read_script("Нет, ни за что!")
    assert [word.text for word in script.words] == ["Нет", "ни", "за", "что"]
    assert all(Cue.SHAKE in word.cues for word in script.words)
    assert _word(script, "Нет").cues == {Cue.SHAKE, Cue.NEGATION}
    assert [word.mark for word in script.words] == [",", "", "", "!"]


def test_not_before_a_verb_is_negation_not_a_shake() -> None:
    script = read_script("Я не знаю.")
    assert _word(script, "не").cues == {Cue.NEGATION}
    assert _word(script, "Я").cues == frozenset()
    assert _word(script, "знаю").cues == frozenset()


def test_thanks_and_joy_smile_and_intensifiers_raise_the_brows() -> None:
    cues = _cues("Спасибо, я очень рада!")
    assert cues == {
        "Спасибо": {Cue.SMILE},
        "я": frozenset(),
        "очень": {Cue.EMPHASIS},
        "рада": {Cue.SMILE},
    }


def test_regret_is_sad() -> None:
    assert _cues("Мне жаль.") == {"Мне": frozenset(), "жаль": {Cue.SAD}}
    cues = _cues("К сожалению, он ушёл.")
    assert cues["К"] == cues["сожалению"] == {Cue.SAD}
    assert cues["ушёл"] == frozenset()


def test_word_forms_people_write_are_covered() -> None:
    for word in ("рад", "Рада", "рады", "люблю", "любим", "любимый", "любимую", "ЛЮБИМЫЕ"):
        assert Cue.SMILE in _cues(f"{word}.")[word], word
    for word in ("согласен", "согласна", "угу", "ага", "точно", "разумеется"):
        assert Cue.NOD in _cues(f"{word}.")[word], word
    assert _cues("Да-да, угу.")["Да-да"] == {Cue.NOD}
    assert _cues("Не-а.")["Не-а"] == {Cue.SHAKE, Cue.NEGATION}


def test_cues_need_the_whole_word_and_the_whole_phrase() -> None:
    cues = _cues("Они дают нетто, недавно данные.")
    assert all(not word_cues for word_cues in cues.values()), cues
    # "за что" without "ни" refuses nothing; a mark inside breaks the phrase.
    assert _cues("За что?") == {"За": frozenset(), "что": frozenset()}
    assert _cues("Ни, за что.")["за"] == frozenset()


def test_yo_is_read_as_ye_but_kept_in_the_text() -> None:
    script = read_script("С днём рождения! Всё ещё здесь.")
    assert _word(script, "днём").cues == {Cue.SMILE}
    assert _word(script, "С").cues == {Cue.SMILE}
    assert not _word(script, "Всё").content  # "все", a pronoun
    assert not _word(script, "ещё").content


def test_offsets_round_trip_on_a_planned_note() -> None:
    raw = "Ну что ж, кто-то сказал «нет» — и всё! Правда? 25 рублей: не-а; это ещё 3,5%."
    chunk = _single_chunk(raw)
    script = read_script(chunk)
    assert script.text == chunk
    assert len(script.words) == len(chunk.replace(" — ", " ").split())
    for word in script.words:
        assert chunk[word.start : word.start + len(word.text)] == word.text
    assert [word.start for word in script.words] == sorted({w.start for w in script.words})
    assert "—" in {word.mark for word in script.words}


def test_content_words_are_the_ones_that_carry_meaning() -> None:
    script = read_script("Я был с ним в парке, и это было здорово, да.")
    content = {word.text: word.content for word in script.words}
    assert content == {
        "Я": False,
        "был": False,
        "с": False,
        "ним": False,
        "в": False,
        "парке": True,
        "и": False,
        "это": False,
        "было": False,
        "здорово": True,
        "да": True,  # short, but a cue word
    }
    assert not _word(read_script("Ой, кто-нибудь!"), "кто-нибудь").content
    assert not _word(read_script("Ой, кто-нибудь!"), "Ой").content


def test_an_empty_or_wordless_chunk_has_no_words() -> None:
    assert read_script("") == Script("", ())
    assert read_script(" — ... !").words == ()


def test_emoji_smile_on_the_sentence_it_ends_not_the_one_before() -> None:
    raw = "Привет! Рад тебя видеть 🙂"
    chunk = _single_chunk(raw)
    moods = emoji_moods(raw)
    assert moods == (Mood(("рад", "тебя", "видеть"), Cue.SMILE),)
    script = read_script(chunk, moods)
    assert Cue.SMILE not in _word(script, "Привет").cues
    for text in ("Рад", "тебя", "видеть"):
        assert Cue.SMILE in _word(script, text).cues
    # The mood adds a cue; it does not turn a pronoun into a content word.
    assert not _word(script, "тебя").content


def test_an_emoji_alone_after_a_stop_belongs_to_the_sentence_before() -> None:
    raw = "Привет! 🙂"
    moods = emoji_moods(raw)
    assert moods == (Mood(("привет",), Cue.SMILE),)
    assert _cues(_single_chunk(raw), moods) == {"Привет": {Cue.SMILE}}
    for raw in ("Привет! 🙂 Пока.", "Привет! 🙂. Пока.", "🙂 Привет! Пока.", "🙂. Привет! Пока."):
        assert emoji_moods(raw) == (Mood(("привет",), Cue.SMILE),), raw


def test_sad_emoji_and_variation_selectors() -> None:
    raw = "Ещё увидимся 😢"
    moods = emoji_moods(raw)
    assert moods == (Mood(("еще", "увидимся"), Cue.SAD),)
    assert _cues(_single_chunk(raw), moods) == {"Ещё": {Cue.SAD}, "увидимся": {Cue.SAD}}
    assert emoji_moods("Увидимся ❤️") == (Mood(("увидимся",), Cue.SMILE),)
    assert emoji_moods("Увидимся ☹️") == (Mood(("увидимся",), Cue.SAD),)


def test_a_mood_from_another_chunk_tags_nothing() -> None:
    raw = "Сегодня мы идём в парк. А завтра поедем на море 🙂"
    chunks = plan_notes(raw, max_seconds=3, max_notes=5)
    assert len(chunks) == 2
    moods = emoji_moods(raw)
    assert all(not word.cues for word in read_script(chunks[0], moods).words)
    assert all(Cue.SMILE in word.cues for word in read_script(chunks[1], moods).words)


def test_text_without_emoji_has_no_moods() -> None:
    assert emoji_moods("") == ()
    assert emoji_moods("Просто текст. Без смайлов!") == ()
    assert emoji_moods("🙂🙂🙂") == ()  # nothing to say, nothing to tag


def test_a_face_before_a_capital_ends_its_sentence() -> None:
    moods = emoji_moods("Рад тебя видеть 🙂 Как дела?")
    assert moods == (Mood(("рад", "тебя", "видеть"), Cue.SMILE),)


def test_text_faces_as_russian_chats_write_them() -> None:
    assert emoji_moods("Привет) Как дела?") == (Mood(("привет",), Cue.SMILE),)
    assert emoji_moods("Спасибо :-)") == (Mood(("спасибо",), Cue.SMILE),)
    assert emoji_moods("Жаль((") == (Mood(("жаль",), Cue.SAD),)
    assert emoji_moods("Не приду :(") == (Mood(("не", "приду"), Cue.SAD),)
    # Parentheses and numbered lists are no faces.
    assert emoji_moods("Это (см. выше) важно.") == ()
    assert emoji_moods("Купи: 1) хлеб, 2) молоко.") == ()


def test_the_more_frequent_mood_wins_a_sentence() -> None:
    assert emoji_moods("Ну вот 😢🙂🙂") == (Mood(("ну", "вот"), Cue.SMILE),)
    assert emoji_moods("Ну вот 🙂😢") == (Mood(("ну", "вот"), Cue.SAD),)


def test_moods_match_case_and_yo_insensitively() -> None:
    mood = Mood(("ЕЩЁ", "Увидимся"), Cue.SMILE)
    assert _cues("Ещё увидимся.", (mood,)) == {"Ещё": {Cue.SMILE}, "увидимся": {Cue.SMILE}}


# Pieces that exercise every branch: phrases, hyphens, marks, brackets, faces and emoji joiners.
_PIECES = [
    *"аЁё-— .,!?:;()\n\t🙂😢❤\ufe0f\u200dA1'«»",
    "не-а",
    "ни за что",
    "к сожалению",
    "Привет",
    ":)",
    ":-(",
    "=D",
    " Да",
]
_odd_texts = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(_odd_texts | st.text(max_size=120))
def test_never_raises_and_offsets_always_round_trip(text: str) -> None:
    for chunk in (text, normalize(text)):
        script = read_script(chunk, emoji_moods(text))
        assert script.text == chunk
        for word in script.words:
            assert chunk[word.start : word.start + len(word.text)] == word.text
            assert word.text and "-" not in (word.text[0], word.text[-1])
            assert word.mark in ("", ".", ",", "!", "?", ":", ";", "—")
            assert word.cues <= set(Cue)
    for mood in emoji_moods(text):
        assert mood.cue in (Cue.SMILE, Cue.SAD)
        assert mood.words and all(w == w.lower() and "ё" not in w for w in mood.words)
