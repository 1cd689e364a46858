"""Russian written abbreviations and letter acronyms, expanded into the words they stand for.

Runs after numbers are spelled out, so what is left are abbreviations standing on their own:
"т.е.", "и т.д.", "см.", "руб." without an amount. An abbreviation's full stop can also end
the sentence ("... и т.д. Потом"); when the next word is capitalised the stop is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Abbreviation:
    pattern: str
    expansion: str
    # Whether a sentence may end on it ("и т.д."); "см." or "т.е." always lead on.
    can_end: bool = False


# Patterns are case-insensitive unless they start with "(?-i:"; single letters are matched in
# lowercase only so that initials ("А. С. Пушкин") are left to the initials rule.
ABBREVIATIONS = (
    Abbreviation(r"т\.[ ]?е\.", "то есть"),
    Abbreviation(r"т\.[ ]?д\.", "так далее", can_end=True),
    Abbreviation(r"т\.[ ]?п\.", "тому подобное", can_end=True),
    Abbreviation(r"т\.[ ]?к\.", "так как"),
    Abbreviation(r"т\.[ ]?н\.", "так называемый"),
    Abbreviation(r"т\.[ ]?ч\.", "том числе"),
    Abbreviation(r"т\.[ ]?о\.", "таким образом"),
    Abbreviation(r"н\.[ ]?э\.", "нашей эры", can_end=True),
    Abbreviation(r"и[ ]др\.", "и другие", can_end=True),
    Abbreviation(r"и[ ]пр\.", "и прочее", can_end=True),
    Abbreviation(r"др\.", "другие", can_end=True),
    Abbreviation(r"см\.", "смотри"),
    Abbreviation(r"ср\.", "сравни"),
    Abbreviation(r"напр\.", "например"),
    Abbreviation(r"руб\.?", "рублей", can_end=True),
    Abbreviation(r"коп\.", "копеек", can_end=True),
    Abbreviation(r"долл\.", "долларов", can_end=True),
    Abbreviation(r"тыс\.?", "тысяч", can_end=True),
    Abbreviation(r"млн\.?", "миллионов", can_end=True),
    Abbreviation(r"млрд\.?", "миллиардов", can_end=True),
    Abbreviation(r"трлн\.?", "триллионов", can_end=True),
    Abbreviation(r"чел\.", "человек", can_end=True),
    Abbreviation(r"мин\.", "минут", can_end=True),
    Abbreviation(r"сек\.", "секунд", can_end=True),
    Abbreviation(r"гг\.", "годы", can_end=True),
    Abbreviation(r"(?-i:г\.(?=[ ]*[А-ЯЁ]))", "город"),
    Abbreviation(r"(?-i:г\.)", "год", can_end=True),
    Abbreviation(r"ул\.", "улица"),
    Abbreviation(r"пр-т", "проспект"),
    Abbreviation(r"просп\.", "проспект"),
    Abbreviation(r"пер\.", "переулок"),
    Abbreviation(r"кв\.", "квартира"),
    Abbreviation(r"обл\.", "область"),
    Abbreviation(r"р-н", "район"),
    Abbreviation(r"им\.", "имени"),
    Abbreviation(r"стр\.", "страница"),
    Abbreviation(r"рис\.", "рисунок"),
    Abbreviation(r"табл\.", "таблица"),
    Abbreviation(r"тел\.", "телефон"),
    Abbreviation(r"проф\.", "профессор"),
    Abbreviation(r"акад\.", "академик"),
    Abbreviation(r"доц\.", "доцент"),
)

_LETTER = "А-Яа-яЁё"
# A letter may follow at once only after a stop: "т.е.это" is still "то есть".
_ABBREVIATION = re.compile(
    # Every abbreviation is a short word and a stop or hyphen, or one of the bare ones; testing
    # that first keeps the long alternation off ordinary words (several times faster).
    rf"(?<![{_LETTER}])(?=(?i:[а-яё]{{1,5}}[.-]|руб|тыс|млн|млрд|трлн))(?:"
    + "|".join(
        rf"(?<![{_LETTER}])(?P<a{i}>(?i:{a.pattern}))(?:(?<=\.)|(?![{_LETTER}]))"
        for i, a in enumerate(ABBREVIATIONS)
    )
    + ")"
)
_SENTENCE_NEXT = re.compile(r"[ ]*(?:$|\n|[«\"(]?[A-ZА-ЯЁ])")
_TEXT_OR_LINE_END = re.compile(r"[ ]*(?:$|\n)")

CYRILLIC_LETTER_NAMES = {
    "А": "а",
    "Б": "бэ",
    "В": "вэ",
    "Г": "гэ",
    "Д": "дэ",
    "Е": "е",
    "Ё": "ё",
    "Ж": "жэ",
    "З": "зэ",
    "И": "и",
    "Й": "и краткое",
    "К": "ка",
    "Л": "эль",
    "М": "эм",
    "Н": "эн",
    "О": "о",
    "П": "пэ",
    "Р": "эр",
    "С": "эс",
    "Т": "тэ",
    "У": "у",
    "Ф": "эф",
    "Х": "ха",
    "Ц": "цэ",
    "Ч": "че",
    "Ш": "ша",
    "Щ": "ща",
    "Ъ": "твёрдый знак",
    "Ы": "ы",
    "Ь": "мягкий знак",
    "Э": "э",
    "Ю": "ю",
    "Я": "я",
}
# Only vowelless capitals: "РФ", "МВД" cannot be read as words, while "США", "ВУЗ" or a
# shouted "ВОТ" can, and spelling those would be wrong more often than right.
_ACRONYM = re.compile(rf"(?<![{_LETTER}])[БВГДЖЗЙКЛМНПРСТФХЦЧШЩЪЬ]{{2,6}}(?![{_LETTER}])")
# Two initials in a row are a name ("А. С. Пушкин", "Пушкин А. С."); a single capital and a
# stop may just as well be a one-letter sentence ("Кто там? Я.").
_INITIALS = re.compile(rf"(?<![{_LETTER}])([А-ЯЁ])\.\s*([А-ЯЁ])\.(?![{_LETTER}])")


def expand_abbreviations(text: str) -> str:
    """Expand abbreviations, then spell acronyms and initials."""
    text = _ABBREVIATION.sub(_expand, text)
    text = _INITIALS.sub(_initials, text)
    return _ACRONYM.sub(_spell, text)


def _expand(match: re.Match[str]) -> str:
    index = int((match.lastgroup or "a0")[1:])
    abbreviation = ABBREVIATIONS[index]
    closing = ""
    if (
        abbreviation.can_end
        and match.group().endswith(".")
        and _SENTENCE_NEXT.match(match.string, match.end())
    ):
        closing = "."
    return f" {abbreviation.expansion}{closing} "


def _initials(match: re.Match[str]) -> str:
    names = " ".join(CYRILLIC_LETTER_NAMES[letter] for letter in match.groups())
    # At the very end the initials' stop was the sentence's stop too.
    closing = "." if _TEXT_OR_LINE_END.match(match.string, match.end()) else ""
    return f" {names}{closing} "


def _spell(match: re.Match[str]) -> str:
    return " ".join(CYRILLIC_LETTER_NAMES[letter] for letter in match.group())
