"""What the face should do while a note's words are spoken: nods, head shakes, brows, smiles.

The animator gets, for each chunk the speech engine reads, its words with character offsets and
cue tags taken from a small lexicon ("да" nods, "нет" shakes, "жаль" saddens). Emoji carry
mood too, but normalization drops them before the text reaches a chunk, so ``emoji_moods``
reads them from the raw text and remembers the words of the sentence they sat in;
``read_script`` then finds those words again in whichever chunk holds them.

Everything here is a pure function of its arguments, never raises and never logs user text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise

from .normalize import normalize
from .sentences import split_sentences

_log = logging.getLogger(__name__)


class Cue(StrEnum):
    """One thing the face can do on a word."""

    NOD = "nod"
    SHAKE = "shake"
    SMILE = "smile"
    SAD = "sad"
    NEGATION = "negation"  # a slight frown on any negative word, stronger cues aside
    EMPHASIS = "emphasis"  # raised brows on an intensifier


@dataclass(frozen=True)
class Word:
    """A word of a chunk: ``chunk[start:start + len(text)] == text``."""

    text: str
    start: int
    cues: frozenset[Cue]
    content: bool  # a content word, where a beat of the head may land; not a function word
    mark: str  # the punctuation right after the word: "" or one of . , ! ? : ; —


@dataclass(frozen=True)
class Mood:
    """The normalized, lowercased (ё as е) words of one raw sentence that carried emoji."""

    words: tuple[str, ...]
    cue: Cue  # SMILE or SAD


@dataclass(frozen=True)
class Script:
    """A chunk, exactly as given to the speech engine, and its words in order."""

    text: str
    words: tuple[Word, ...]


# --- Lexicon. Every entry is lowercase with ё written as е, as words are folded before lookup.

# Hard-stem adjective endings, so that one line covers "любимый", "любимая", "любимую" ...
_ADJECTIVE_ENDINGS = ("ый", "ая", "ое", "ые", "ого", "ой", "ому", "ым", "ых", "ую", "ыми", "ом")


def _adjective(stem: str) -> frozenset[str]:
    return frozenset(stem + ending for ending in _ADJECTIVE_ENDINGS)


# Agreement and confirmation: a nod.
_NOD = frozenset(
    {
        "да", "ага", "угу", "конечно", "верно", "точно", "правильно", "разумеется",
        "безусловно", "несомненно", "естественно", "согласен", "согласна", "согласны",
        "ладно", "хорошо", "ок", "окей", "договорились",
    }
)  # fmt: skip

# Refusal and denial: a head shake. "не" alone is only NEGATION: "я не знаю" refuses nothing.
_SHAKE = frozenset(
    {
        "нет", "не-а", "неа", "ни-ни", "нетушки", "никак", "отнюдь", "неправда", "неверно",
    }
)  # fmt: skip

# Joy, thanks, love, praise: a smile. Greetings are left out: "Привет" is said with any face.
_SMILE = (
    frozenset(
        {
            "рад", "рада", "радо", "рады", "радуюсь", "радуемся", "радует", "радостно",
            "радость", "спасибо", "спасибочки", "благодарю", "благодарим", "благодарен",
            "благодарна", "благодарны", "люблю", "любишь", "любит", "любим", "любите", "любят",
            "любил", "любила", "любили", "любовь", "любви", "любовью", "обожаю", "обожаем",
            "отлично", "здорово", "прекрасно", "замечательно", "чудесно", "великолепно",
            "классно", "круто", "супер", "ура", "браво", "молодец", "молодцы", "умница",
            "поздравляю", "поздравляем", "счастлив", "счастлива", "счастливы", "счастье",
            "весело", "смешно", "ха", "хаха", "хахаха", "приятно", "мило", "обнимаю", "целую",
            "улыбаюсь",
        }
    )
    | _adjective("любим")
    | _adjective("счастлив")
    | _adjective("радостн")
    | _adjective("весел")
    | _adjective("мил")
)  # fmt: skip

# Regret, sorrow, apology: sad brows.
_SAD = (
    frozenset(
        {
            "жаль", "жалко", "грустно", "грусть", "грущу", "печально", "печаль", "увы",
            "сожалею", "скучаю", "скучаем", "скучаешь", "тоскую", "тоска", "тоскливо",
            "обидно", "больно", "одиноко", "расстроен", "расстроена", "расстроены",
            "соболезную", "соболезнования", "извини", "извините", "прости", "простите",
        }
    )
    | _adjective("грустн")
    | _adjective("печальн")
)  # fmt: skip

# Any negative word: a slight frown, under whatever stronger cue the word also has.
_NEGATION = frozenset(
    {
        "не", "ни", "нет", "не-а", "неа", "ни-ни", "нельзя", "невозможно", "никогда", "никак",
        "ничего", "ничто", "ничем", "ничему", "никто", "никого", "никому", "никем", "нигде",
        "никуда", "ниоткуда", "нисколько", "нету", "никакой", "никакая", "никакое",
        "никакие", "никакого", "никакому", "никаким", "никаких", "никакую",
    }
)  # fmt: skip

# Intensifiers: raised brows. "так" and "просто" would be, too often they are not: left out.
_EMPHASIS = (
    frozenset(
        {
            "очень", "обязательно", "действительно", "абсолютно", "совсем", "совершенно",
            "точно", "именно", "особенно", "крайне", "весьма", "невероятно", "безумно",
            "ужасно", "слишком", "непременно", "сильно", "гораздо", "намного", "настолько",
        }
    )
    | _adjective("сам")
)  # fmt: skip

# Phrases tag every word they span, and only when no mark breaks them.
_PHRASES: tuple[tuple[tuple[str, ...], Cue], ...] = (
    (("именно", "так"), Cue.NOD),
    (("так", "точно"), Cue.NOD),
    (("само", "собой"), Cue.NOD),
    (("ни", "за", "что"), Cue.SHAKE),
    (("ни", "в", "коем", "случае"), Cue.SHAKE),
    (("ни", "в", "коем", "разе"), Cue.SHAKE),
    (("вовсе", "нет"), Cue.SHAKE),
    (("с", "днем", "рождения"), Cue.SMILE),
    (("с", "новым", "годом"), Cue.SMILE),
    (("с", "праздником"), Cue.SMILE),
    (("к", "сожалению"), Cue.SAD),
    (("к", "несчастью"), Cue.SAD),
)

_LEXICON: tuple[tuple[frozenset[str], Cue], ...] = (
    (_NOD, Cue.NOD),
    (_SHAKE, Cue.SHAKE),
    (_SMILE, Cue.SMILE),
    (_SAD, Cue.SAD),
    (_NEGATION, Cue.NEGATION),
    (_EMPHASIS, Cue.EMPHASIS),
)

# Function words: the head does not beat on these. Prepositions, conjunctions, particles,
# pronouns (personal, possessive, demonstrative, interrogative) and the forms of "быть".
_FUNCTION_WORDS = frozenset(
    {
        # prepositions
        "в", "во", "на", "с", "со", "к", "ко", "по", "о", "об", "обо", "от", "ото", "до",
        "из", "изо", "за", "у", "для", "без", "безо", "под", "подо", "над", "надо", "при",
        "про", "через", "перед", "передо", "между", "около", "возле", "вокруг", "после",
        "кроме", "вместо", "среди", "сквозь", "ради", "из-за", "из-под", "вроде",
        # conjunctions
        "и", "а", "но", "или", "либо", "что", "чтобы", "чтоб", "если", "когда", "как",
        "потому", "поэтому", "также", "тоже", "хотя", "пока", "зато", "однако", "будто",
        "словно", "причем", "притом", "пусть",
        # particles
        "не", "ни", "ли", "же", "ж", "бы", "б", "ведь", "вот", "вон", "уж", "уже", "еще",
        "лишь", "только", "даже", "ну", "разве", "неужели", "то", "так", "тут", "там",
        "здесь", "где", "куда", "откуда", "туда", "сюда", "тогда", "зачем", "почему",
        # personal and reflexive pronouns
        "я", "ты", "он", "она", "оно", "мы", "вы", "они", "меня", "мне", "мной", "мною",
        "тебя", "тебе", "тобой", "тобою", "его", "него", "ему", "нему", "им", "ним", "ими",
        "ними", "ее", "нее", "ей", "ней", "ею", "нею", "нас", "нам", "нами", "вас", "вам",
        "вами", "их", "них", "нем", "себя", "себе", "собой", "собою",
        # possessive
        "мой", "моя", "мое", "мои", "моего", "моей", "моему", "моим", "моих", "моими", "моем",
        "мою", "твой", "твоя", "твое", "твои", "твоего", "твоей", "твоему", "твоим", "твоих",
        "твоими", "твоем", "твою", "свой", "своя", "свое", "свои", "своего", "своей",
        "своему", "своим", "своих", "своими", "своем", "свою", "наш", "наша", "наше", "наши",
        "нашего", "нашей", "нашему", "нашим", "наших", "нашими", "нашем", "нашу", "ваш",
        "ваша", "ваше", "ваши", "вашего", "вашей", "вашему", "вашим", "ваших", "вашими",
        "вашем", "вашу",
        # demonstrative, interrogative, "весь"
        "этот", "эта", "это", "эти", "этого", "этой", "этому", "этим", "этих", "этими", "этом",
        "эту", "тот", "та", "те", "того", "той", "тому", "тех", "теми", "том", "ту", "кто",
        "кого", "кому", "кем", "ком", "чего", "чему", "чем", "весь", "вся", "все", "всего",
        "всей", "всему", "всем", "всех", "всеми", "всю", "какой", "какая", "какое", "какие",
        "какого", "каком", "какому", "каким", "каких", "какую", "который", "которая",
        "которое", "которые", "которого", "которой", "которому", "которым", "которых",
        "которую", "котором",
        # быть
        "быть", "есть", "был", "была", "было", "были", "буду", "будешь", "будет", "будем",
        "будете", "будут", "будь", "будьте",
    }
)  # fmt: skip

# "кто-то", "где-нибудь", "кое-что": a pronoun with a particle is still a function word.
_PRONOUN_SUFFIXES = ("-то", "-нибудь", "-либо")
_PRONOUN_PREFIX = "кое-"

# --- Emoji. Variation selectors (U+FE0F), skin tones and joiners are simply not in either set.

_SMILE_EMOJI = frozenset(
    "🙂😊😀😃😄😁😆😅😂🤣☺😉🥰😍😘😗😙😚😋😌😎😇🤗🤩🥳😛😜😝😺😸😹😻😽"
    "❤♥❣💕💖💗💓💞💘💝🧡💛💚💙💜🤍🤎🫶👍👏🙌🎉🎊"
)
_SAD_EMOJI = frozenset("😢😞😭😔☹🙁😟💔😥😿😓😪😩😫😖😣🥺😕😰")
# Symbol-like characters an emoji is drawn from: a sentence may end on one without a stop.
_EMOJI_CHAR = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d]")

# Text faces as Russian chats write them: ":)", ";-)", ":D", "=(" and bare ")))" or "((".
# A bare bracket run is a face unless it opens or closes a parenthesis (see _emoticons).
_EMOTICON = re.compile(r"[:;=]-?(?P<face>\)+|\(+|D(?![A-Za-z]))|(?P<open>\(+)|(?P<close>\)+)")

_WORD = re.compile(r"[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)*")
_MARKS = frozenset(".,!?:;—")
_SPEAKABLE = re.compile(r"\w")  # as split_sentences: a piece with no letter or digit says nothing
# A capital after a face starts a new sentence even with no stop between: "Рад 🙂 Пока!".
_CAPITAL_AFTER_SPACE = re.compile(r"(?<=\S)\s+(?=[A-ZА-ЯЁ])")


def _fold(word: str) -> str:
    return word.lower().replace("ё", "е")


def emoji_moods(raw_text: str) -> tuple[Mood, ...]:
    """One Mood per sentence of the raw user text that holds smile or sad emoji (or faces).

    A piece made of emoji alone ("Привет! 🙂") belongs to the sentence before it. Where one
    sentence holds both kinds, the more frequent wins, and on a tie the last one. Never raises.
    """
    try:
        return tuple(_moods(raw_text))
    except Exception:
        # Cues are a nicety: a bug costs a note its emoji, never the job. No user text logged.
        _log.exception("reading emoji moods failed")
        return ()


def _moods(raw_text: str) -> Iterable[Mood]:
    faces = _mood_marks(raw_text)
    if not faces:
        return
    for start, end in _sentence_spans(raw_text):
        cues = [cue for position, cue in faces if start <= position < end]
        if not cues:
            continue
        words = tuple(_fold(word) for word in _WORD.findall(normalize(raw_text[start:end])))
        if words:
            yield Mood(words, _prevailing(cues))


def _prevailing(cues: Sequence[Cue]) -> Cue:
    smiles = cues.count(Cue.SMILE)
    sads = len(cues) - smiles
    if smiles != sads:
        return Cue.SMILE if smiles > sads else Cue.SAD
    return cues[-1]


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """Raw sentences as spans that tile the text; emoji alone join the sentence before them.

    ``split_sentences`` drops a piece without a word ("🙂" after "Привет!"), and a face cut off
    before a capital ("Привет! 🙂 Пока.") makes one: either way it goes with the sentence
    before it, or with the first sentence when it leads the text.
    """
    cuts = {0}
    position = 0
    for sentence in split_sentences(text):
        found = text.find(sentence, position)
        if found >= 0:
            cuts.add(found)
            position = found + len(sentence)
    for gap in _CAPITAL_AFTER_SPACE.finditer(text):
        if _ends_with_face(text, gap.start()):
            cuts.add(gap.end())
    spans: list[tuple[int, int]] = []
    for start, end in pairwise([*sorted(cuts), len(text)]):
        wordless = not _SPEAKABLE.search(text, start, end)
        if spans and (wordless or not _SPEAKABLE.search(text, *spans[-1])):
            spans[-1] = (spans[-1][0], end)
        elif start < end:
            spans.append((start, end))
    return spans


def _ends_with_face(text: str, end: int) -> bool:
    last = text[end - 1]
    return (
        last in "()"
        or bool(_EMOJI_CHAR.match(last))
        or text[max(0, end - 2) : end] in (":D", "=D")
    )


def _mood_marks(text: str) -> list[tuple[int, Cue]]:
    """Where the text smiles or frowns: emoji and text faces, with their positions."""
    marks = [
        (i, Cue.SMILE if ch in _SMILE_EMOJI else Cue.SAD)
        for i, ch in enumerate(text)
        if ch in _SMILE_EMOJI or ch in _SAD_EMOJI
    ]
    if "(" in text or ")" in text or "D" in text:
        marks.extend(_emoticons(text))
        marks.sort()
    return marks


def _emoticons(text: str) -> list[tuple[int, Cue]]:
    found: list[tuple[int, Cue]] = []
    depth = 0  # open parentheses: their ")" closes them rather than smiles
    for match in _EMOTICON.finditer(text):
        if match.group("face") is not None:
            found.append((match.start(), Cue.SAD if match.group("face")[0] == "(" else Cue.SMILE))
        elif match.group("open") is not None:
            following = text[match.end() : match.end() + 1]
            # "(см. выше)" opens a parenthesis; "Жаль((" and "жаль( ну ладно" frown.
            if following and (following.isalnum() or following in "\"'«"):
                depth += len(match.group("open"))
            else:
                found.append((match.start(), Cue.SAD))
        else:
            run = len(match.group("close"))
            closed = min(depth, run)
            depth -= closed
            # "1) купить хлеб" numbers a list; "Привет)" and "(да))" smile.
            after_digit = match.start() > 0 and text[match.start() - 1].isdigit()
            if run > closed and not (after_digit and run == 1):
                found.append((match.start() + closed, Cue.SMILE))
    return found


def read_script(chunk: str, moods: Sequence[Mood] = ()) -> Script:
    """The chunk's words with their face cues; ``moods`` from ``emoji_moods`` of the raw text.

    A mood tags the words of every run in the chunk equal to its sentence's words; sentences
    spoken in other chunks match nothing here. Never raises: on a bug the words come back
    without cues, or, failing even that, the Script has no words.
    """
    try:
        return _read(chunk, moods)
    except Exception:
        _log.exception("reading face cues failed")
        try:
            return Script(chunk, tuple(_bare_words(chunk)))
        except Exception:
            return Script(chunk, ())


def _read(chunk: str, moods: Sequence[Mood]) -> Script:
    matches = list(_WORD.finditer(chunk))
    folded = [_fold(match.group()) for match in matches]
    marks = [_mark_after(chunk, match.end()) for match in matches]
    lexical = [set(_word_cues(word)) for word in folded]
    for i in range(len(folded)):
        for phrase, cue in _PHRASES:
            if _phrase_at(folded, marks, i, phrase):
                for j in range(i, i + len(phrase)):
                    lexical[j].add(cue)
    content = [_is_content(word, bool(cues)) for word, cues in zip(folded, lexical, strict=True)]
    cues = [set(word_cues) for word_cues in lexical]
    _add_moods(cues, folded, moods)
    words = tuple(
        Word(match.group(), match.start(), frozenset(word_cues), is_content, mark)
        for match, word_cues, is_content, mark in zip(matches, cues, content, marks, strict=True)
    )
    return Script(chunk, words)


def _add_moods(cues: Sequence[set[Cue]], folded: Sequence[str], moods: Sequence[Mood]) -> None:
    """Tag every run of the chunk's words that is one of the moods' sentences."""
    # Windows of the chunk's words by length, so each mood is a lookup, not a scan: a text of
    # hundreds of emoji sentences stays near linear.
    windows: dict[int, dict[tuple[str, ...], list[int]]] = {}
    for mood in dict.fromkeys(moods):  # a sentence sent twice is looked up once
        target = tuple(_fold(word) for word in mood.words)
        if not target:
            continue
        if len(target) not in windows:
            windows[len(target)] = _windows(folded, len(target))
        for i in windows[len(target)].get(target, ()):
            for j in range(i, i + len(target)):
                cues[j].add(Cue(mood.cue))


def _windows(folded: Sequence[str], size: int) -> dict[tuple[str, ...], list[int]]:
    found: dict[tuple[str, ...], list[int]] = {}
    for i in range(len(folded) - size + 1):
        found.setdefault(tuple(folded[i : i + size]), []).append(i)
    return found


def _bare_words(chunk: str) -> Iterable[Word]:
    for match in _WORD.finditer(chunk):
        yield Word(match.group(), match.start(), frozenset(), True, "")


def _word_cues(word: str) -> Iterable[Cue]:
    parts = word.split("-")
    # "да-да", "нет-нет", "ха-ха": a repeated word means what it means once.
    if len(parts) > 1 and len(set(parts)) == 1:
        yield from _word_cues(parts[0])
    for forms, cue in _LEXICON:
        if word in forms:
            yield cue


def _phrase_at(
    folded: Sequence[str], marks: Sequence[str], i: int, phrase: tuple[str, ...]
) -> bool:
    end = i + len(phrase)
    return (
        end <= len(folded)
        and tuple(folded[i:end]) == phrase
        and not any(marks[i : end - 1])  # "ни, за что" is no phrase
    )


def _mark_after(chunk: str, end: int) -> str:
    position = end
    while position < len(chunk) and chunk[position].isspace():
        position += 1
    if position < len(chunk) and chunk[position] in _MARKS:
        return chunk[position]
    return ""


def _is_content(word: str, has_cue: bool) -> bool:
    if _is_function_word(word):
        return False
    # Short words outside the list are interjections ("ой", "ах") unless the lexicon knows them.
    return len(word.replace("-", "")) >= 3 or has_cue


def _is_function_word(word: str) -> bool:
    if word in _FUNCTION_WORDS:
        return True
    if word.startswith(_PRONOUN_PREFIX):
        return True
    for suffix in _PRONOUN_SUFFIXES:
        if word.endswith(suffix):
            return word[: -len(suffix)] in _FUNCTION_WORDS
    return False
