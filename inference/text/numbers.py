"""Russian number words: cardinals, ordinals, decimals and the noun agreement they need.

Everything takes digit strings or ints that a regex has already validated and returns plain
lowercase Cyrillic words. num2words does the morphology; this module decides *when* a digit
run is a quantity at all and falls back to reading digits one by one, so no caller ever sees
an exception from it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from num2words import num2words

Case = Literal["n", "g", "d", "a", "i", "p"]
Gender = Literal["m", "f", "n"]

# A run this long is still a quantity (up to ~10^13); longer runs are codes, card or phone
# numbers, and a listener follows them better digit by digit than as "квадриллионы".
MAX_CARDINAL_DIGITS = 13
# "3,141" still reads well as "три целых сто сорок одна тысячная"; beyond that the fraction
# words ("стотысячных") are harder to follow than the digits themselves.
MAX_FRACTION_DIGITS = 3

_DIGIT_WORDS = {
    "0": "ноль",
    "1": "один",
    "2": "два",
    "3": "три",
    "4": "четыре",
    "5": "пять",
    "6": "шесть",
    "7": "семь",
    "8": "восемь",
    "9": "девять",
}
_SEPARATOR_WORDS = {",": "запятая", ".": "точка"}


def plural(n: int, one: str, few: str, many: str) -> str:
    """Pick the noun form Russian uses after ``n``: 1 рубль, 2 рубля, 5 рублей, 11 рублей."""
    n = abs(n)
    if 11 <= n % 100 <= 14:
        return many
    last = n % 10
    if last == 1:
        return one
    if 2 <= last <= 4:
        return few
    return many


def spell_digits(digits: str) -> str:
    """Read a digit string one digit at a time: "007" -> "ноль ноль семь"."""
    return " ".join(_DIGIT_WORDS[d] for d in digits if d in _DIGIT_WORDS)


def is_quantity(digits: str) -> bool:
    """Whether a digit run should be read as a number rather than digit by digit."""
    if not digits or len(digits) > MAX_CARDINAL_DIGITS:
        return False
    # A leading zero marks a code ("007", "0451"), not an amount; "0" itself is an amount.
    return digits == "0" or not digits.startswith("0")


@lru_cache(maxsize=4096)
def cardinal(n: int, gender: Gender = "m", case: Case = "n") -> str:
    """Cardinal words: 21 -> "двадцать один" (gender "f": "двадцать одна")."""
    try:
        return str(num2words(n, lang="ru", gender=gender, case=case))
    except Exception:  # num2words is third-party; a reading beats a crash
        return spell_digits(str(abs(n)))


@lru_cache(maxsize=4096)
def ordinal(n: int, gender: Gender = "m", case: Case = "n", plural: bool = False) -> str:
    """Ordinal words: 21 -> "двадцать первый"; case and gender use num2words' Russian codes."""
    try:
        return str(num2words(n, lang="ru", to="ordinal", gender=gender, case=case, plural=plural))
    except Exception:  # num2words is third-party; a reading beats a crash
        return spell_digits(str(abs(n)))


@lru_cache(maxsize=1024)
def _decimal(int_digits: str, frac_digits: str) -> str:
    try:
        return str(num2words(f"{int(int_digits)}.{frac_digits}", lang="ru"))
    except Exception:  # num2words is third-party; a reading beats a crash
        return f"{spell_digits(int_digits)} {_SEPARATOR_WORDS[',']} {spell_digits(frac_digits)}"


def number_words(
    int_digits: str,
    frac_digits: str | None = None,
    separator: str = ",",
    gender: Gender = "m",
) -> str:
    """Words for a non-negative number given as digit strings.

    "3", "5" -> "три целых пять десятых". Runs that are not quantities (too long, leading
    zero) are read digit by digit, with the separator spoken as "запятая"/"точка".
    """
    if frac_digits is None:
        if is_quantity(int_digits):
            return cardinal(int(int_digits), gender)
        return spell_digits(int_digits)
    if is_quantity(int_digits) and 0 < len(frac_digits) <= MAX_FRACTION_DIGITS:
        return _decimal(int_digits, frac_digits)
    word = _SEPARATOR_WORDS.get(separator, _SEPARATOR_WORDS[","])
    return f"{number_words(int_digits)} {word} {spell_digits(frac_digits)}"


def agree(int_digits: str, frac_digits: str | None, forms: tuple[str, str, str]) -> str:
    """The noun form after a number: fractions take the genitive singular ("2,5 процента")."""
    one, few, many = forms
    if frac_digits is not None:
        return few
    if not is_quantity(int_digits):
        return many
    return plural(int(int_digits), one, few, many)
