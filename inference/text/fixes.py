"""Every correction Govorun makes around the normalizer library, in one place.

``before_library`` rewrites what the library would read wrong into a form it reads right, so
the library still does the agreement; ``after_library`` catches what it left unread. Each rule
names the reading it fixes, and ``tests/test_text_normalize.py`` holds each one.
"""

from __future__ import annotations

import re

from .readings import CYRILLIC_WORDS, LATIN_WORDS

_DIGIT_WORDS = (
    "ноль",
    "один",
    "два",
    "три",
    "четыре",
    "пять",
    "шесть",
    "семь",
    "восемь",
    "девять",
)

_LATIN_WORD = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(re.escape(key) for key in sorted(LATIN_WORDS, key=len, reverse=True))
    + r")(?![\w-])",
    re.IGNORECASE,
)
_CYRILLIC_WORD = re.compile(
    r"(?<!\w)(?:"
    + "|".join(re.escape(key) for key in sorted(CYRILLIC_WORDS, key=len, reverse=True))
    + r")(?:(?<=\.)|(?!\w))"
)

# Clock time. The library reads "до 18:00" as "до восемнадцати часов ноля минут" and "к 10:30"
# as "к десять, тридцать"; with their units ("к 10 ч 30 мин") it puts hours and minutes in the
# case the preposition asks for. Bare numbers ("к 10 30") would read well too, but would take
# a unit that follows ("14 30 — см. ниже" became "тридцать сантиметров").
_CLOCK = r"(?<![\d:.,])(?:[01]?\d|2[0-3]):[0-5]\d(?!\d|[:.,]\d)"
_TIME = re.compile(r"(?<![\d:.,])(?P<h>[01]?\d|2[0-3]):(?P<m>[0-5]\d)(?!\d|[:.,]\d)")
# "9:00-18:00" is said "с девяти до восемнадцати".
_TIME_RANGE = re.compile(
    rf"(?P<from>(?<!\w)(?i:с|со|от)[ ]+)?(?P<start>{_CLOCK})[ ]?[-–—][ ]?(?P<end>{_CLOCK})"
)

# "Сегодня 23 февраля" is a date in the nominative ("двадцать третье"); the library reads the
# genitive of "встреча 23 февраля". An ordinal ending tells it which.
_MONTHS = "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
_TODAY_DATE = re.compile(
    rf"(?i:\b(?P<day_word>сегодня|завтра|вчера|послезавтра|позавчера)),?[ ]+"
    rf"(?P<day>[12]?\d|3[01])[ ]+(?P<month>{_MONTHS})\b"
)

# The library reads the number after "цена", "стоимость", "сумма" as their genitive object
# ("цена ста рублей"), even against the noun written after it ("цена 21 рубль" became
# "цена двадцати одного рубля"). A dash makes the number the predicate it is.
_PRICE_HEAD = re.compile(r"(?<!\w)(?P<head>[Цц]ена|[Сс]тоимость|[Сс]умма)[ ]+(?=\d)")

# Russian phone numbers written from "8": the library reads "8 800 555-35-35" as eight million
# and so on. Grouped with commas, each group is read as a number, as people say them.
_PHONE_8 = re.compile(r"(?<![\d+])8[ -]?\(?(\d{3})\)?[ -]?(\d{3})[ -]?(\d{2})[ -]?(\d{2})(?![\d])")

# Digit runs that are codes, not quantities: a leading zero ("007", "0451", which the library
# reads as "семь") or more digits than a listener can follow as one number.
_LONGEST_QUANTITY = 13
_CODE = re.compile(
    # Not a group of "1 000 000", nor part of a date, time or fraction.
    rf"(?<![\d.,:/-])(?<!\d )(?:0\d+|\d{{{_LONGEST_QUANTITY + 1},}})(?![\d]|[.,:/-]\d)"
)
_HASH_NUMBER = re.compile(r"#[ ]?(?=\d)")
# The library glues "т.е.так" into "то естьтак": a dotted abbreviation needs a space after it.
_GLUED_ABBREVIATION = re.compile(r"(?<![а-яё])((?:[а-яё]\.){2})(?=[а-яё])", re.IGNORECASE)
# No Latin word is this long, and the library's phonetic reading of a run of letters slows
# down faster than its length grows (10,000 letters took seconds): such a run says nothing.
_LATIN_RUN = re.compile(r"[A-Za-z]{41,}")
_DIGITS = re.compile(r"\d+")


def spell_digits(digits: str) -> str:
    """Read a digit string one digit at a time: "007" -> "ноль ноль семь"."""
    return " ".join(_DIGIT_WORDS[int(d)] for d in digits if d.isdigit())


def apply_readings(text: str) -> str:
    """Govorun's readings of brand names, acronyms and abbreviations (``readings.py``)."""
    text = _LATIN_WORD.sub(lambda m: LATIN_WORDS[m.group().lower()], text)
    return _CYRILLIC_WORD.sub(lambda m: CYRILLIC_WORDS[m.group()], text)


def before_library(text: str) -> str:
    text = _LATIN_RUN.sub(" ", text)
    text = apply_readings(text)
    text = _GLUED_ABBREVIATION.sub(r"\1 ", text)
    text = _PHONE_8.sub(lambda m: "8, " + ", ".join(m.groups()), text)
    text = _CODE.sub(lambda m: f" {spell_digits(m.group())} ", text)
    text = _HASH_NUMBER.sub("№", text)
    text = _TIME_RANGE.sub(lambda m: f"{m['from'] or 'с '}{m['start']} до {m['end']}", text)
    text = _TIME.sub(_time, text)
    text = _TODAY_DATE.sub(r"\g<day_word> \g<day>-е \g<month>", text)
    return _PRICE_HEAD.sub(r"\g<head> — ", text)


def after_library(text: str) -> str:
    """Digits the library left as they were are read one by one rather than dropped."""
    return _DIGITS.sub(lambda m: f" {spell_digits(m.group())} ", text)


def _time(match: re.Match[str]) -> str:
    hours, minutes = match["h"], match["m"]
    if minutes == "00":
        return f"{int(hours)} ч"
    return f"{int(hours)} ч {int(minutes)} мин"
