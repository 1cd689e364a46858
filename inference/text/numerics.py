"""Digits into words: dates, times, money, units, ordinals, Roman centuries.

One left-to-right scan finds each numeric expression; what follows a number (a unit, a
currency, an ordinal ending, a month name) decides its form and the noun's agreement, so the
scan reads ahead instead of substituting in several regex passes that would fight over the
same digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .numbers import Case, Gender, agree, cardinal, is_quantity, number_words, ordinal

MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


@dataclass(frozen=True)
class Noun:
    """A counted noun: its three agreement forms and the gender the number takes."""

    one: str
    few: str
    many: str
    gender: Gender = "m"

    @property
    def forms(self) -> tuple[str, str, str]:
        return (self.one, self.few, self.many)


@dataclass(frozen=True)
class Currency:
    unit: Noun
    cents: Noun | None = None


_RUB = Currency(Noun("рубль", "рубля", "рублей"), Noun("копейка", "копейки", "копеек", "f"))
_USD = Currency(Noun("доллар", "доллара", "долларов"), Noun("цент", "цента", "центов"))
_EUR = Currency(Noun("евро", "евро", "евро"), Noun("цент", "цента", "центов"))
_GBP = Currency(Noun("фунт", "фунта", "фунтов"), Noun("пенс", "пенса", "пенсов"))
_JPY = Currency(Noun("иена", "иены", "иен", "f"))

_CURRENCIES = {
    "$": _USD,
    "usd": _USD,
    "долл.": _USD,
    "€": _EUR,
    "eur": _EUR,
    "£": _GBP,
    "gbp": _GBP,
    "₽": _RUB,
    "руб": _RUB,
    "руб.": _RUB,
    "р.": _RUB,
    "rub": _RUB,
    "¥": _JPY,
}
_SCALES = {
    "тыс": Noun("тысяча", "тысячи", "тысяч", "f"),
    "к": Noun("тысяча", "тысячи", "тысяч", "f"),
    "k": Noun("тысяча", "тысячи", "тысяч", "f"),
    "млн": Noun("миллион", "миллиона", "миллионов"),
    "млрд": Noun("миллиард", "миллиарда", "миллиардов"),
    "трлн": Noun("триллион", "триллиона", "триллионов"),
}
_UNITS = {
    "%": Noun("процент", "процента", "процентов"),
    "°c": Noun("градус Цельсия", "градуса Цельсия", "градусов Цельсия"),
    "°": Noun("градус", "градуса", "градусов"),
    "км/ч": Noun("километр в час", "километра в час", "километров в час"),
    "км": Noun("километр", "километра", "километров"),
    "м": Noun("метр", "метра", "метров"),
    "м2": Noun("квадратный метр", "квадратных метра", "квадратных метров"),
    "см": Noun("сантиметр", "сантиметра", "сантиметров"),
    "мм": Noun("миллиметр", "миллиметра", "миллиметров"),
    "кг": Noun("килограмм", "килограмма", "килограммов"),
    "г": Noun("грамм", "грамма", "граммов"),
    "мг": Noun("миллиграмм", "миллиграмма", "миллиграммов"),
    "л": Noun("литр", "литра", "литров"),
    "мл": Noun("миллилитр", "миллилитра", "миллилитров"),
    "ч": Noun("час", "часа", "часов"),
    "мин": Noun("минута", "минуты", "минут", "f"),
    "сек": Noun("секунда", "секунды", "секунд", "f"),
    "коп": Noun("копейка", "копейки", "копеек", "f"),
    "чел": Noun("человек", "человека", "человек"),
    "шт": Noun("штука", "штуки", "штук", "f"),
}
# Symbols left over when no number stood next to them.
_LONE_SYMBOLS = str.maketrans(
    {
        "%": " процентов ",
        "$": " долларов ",
        "€": " евро ",
        "£": " фунтов ",
        "₽": " рублей ",
        "¥": " иен ",
        "°": " градусов ",
        "#": " ",
        "/": " ",
    }
)

_NOT_LETTER = r"(?![а-яёА-ЯЁa-zA-Z])"
_MONTH = "|".join(MONTHS_GENITIVE)
_ROMAN = r"(?=[IVXLC])(?:C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})"
# After a name only I..XXXIX: "Витамин C" must not become "Витамин сотый".
_REGNAL = r"(?=[IVX])(?:X{0,3})(?:IX|IV|V?I{0,3})"

_MASTER = re.compile(
    rf"""
    # Every alternative starts with one of these; testing that first makes the scan ~6x faster.
    (?=[\d\#$€£₽¥IVXLC-])
    (?:
    (?P<date>(?<![\d.,])(?P<day>0?[1-9]|[12]\d|3[01])\.(?P<mon>0?[1-9]|1[0-2])\.
        (?P<year>\d{{4}}|\d{{2}})(?!\d|[.,]\d))
    | (?P<iso>(?<![\d.,-])(?P<iyear>\d{{4}})-(?P<imon>0[1-9]|1[0-2])-
        (?P<iday>0[1-9]|[12]\d|3[01])(?![\d-]))
    | (?P<time>(?<![\d.,:])(?P<hh>[01]?\d|2[0-3]):(?P<mm>[0-5]\d)(?::[0-5]\d)?(?!\d|[.,:]\d))
    | (?P<dotted>(?<![\d.,])\d+(?:\.\d+){{2,}}(?!\d))
    | (?P<ratio>(?<![\d.,/])(?P<left>\d{{1,6}})/(?P<right>\d{{1,6}})(?![\d/]))
    | (?P<century>(?<![A-Za-z])(?P<cnum>{_ROMAN})[ ]+
        (?P<cword>век|века|веку|веком|веке|в\.){_NOT_LETTER})
    | (?P<regnal>(?<![A-Za-z])(?P<rnum>{_REGNAL})(?![A-Za-z\d]))
    | (?P<number>
        (?P<hash>\#[ ]?)?
        (?:(?P<pre>[$€£₽¥])[ ]?)?
        (?P<minus>(?<![\w.,-])-)?
        (?P<int>\d+)(?:(?P<sep>[.,])(?P<frac>\d+))?)
    )
    """,
    re.VERBOSE,
)

_THOUSANDS_SPACED = re.compile(r"(?<![\d.,])\d{1,3}(?:[ ]\d{3})+(?![\d]|[.,]\d{3})")
_THOUSANDS_COMMAS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3}){2,}(?![\d,])")

_ORDINAL_TAIL = re.compile(r"(?:-|(?=[а-яё]{2}))(?P<suffix>[а-яё]{1,4})(?![а-яёa-z\d])")
_MONTH_TAIL = re.compile(
    rf"[ ]+(?P<month>{_MONTH}){_NOT_LETTER}"
    r"(?:[ ]+(?P<year>\d{4})(?!\d|[.,]\d)(?P<yword>[ ]?(?:г\.|года(?![а-яё])))?)?"
)
_YEAR_TAIL = re.compile(r"[ ]?(?P<word>г\.|г(?![а-яё])|год(?:а|у|ом|е)?(?![а-яё]))")
_SCALE_TAIL = re.compile(
    r"(?:[ ]?(?P<scale>тыс|млн|млрд|трлн)(?P<dot>\.)?|(?P<short>[кk]))(?![а-яёa-z\d])"
)
_CURRENCY_TAIL = re.compile(
    r"[ ]?(?P<cur>[$€£₽¥]|руб\.|руб(?![а-яё])|р\.|долл\.|(?i:(?:usd|eur|gbp|rub)(?![a-z])))"
)
_UNIT_TAIL = re.compile(
    r"[ ]?(?:(?P<sym>%|°[ ]?[CС](?![а-яёa-z])|°)"
    r"|(?P<unit>км/ч|км|м2|см|мм|мг|мл|кг|мин|сек|коп|чел|шт|м|г|л|ч)(?P<dot>\.)?"
    r"(?![а-яёa-z\d]))"
)
_YEARS_NEXT = re.compile(r"[ ]+год")
_NAME_BEFORE = re.compile(r"(?<![А-Яа-яЁё])[А-ЯЁ][а-яё]*([а-яё])[ ]+$")
_SENTENCE_NEXT = re.compile(r"[ ]*(?:$|\n|[«\"(]?[A-ZА-ЯЁ])")
_PREPOSITION_BEFORE = re.compile(
    r"(?:^|[^а-яё])(?P<prep>в|во|о|об|к|ко|по|с|со|до|от|после|около|из|для)[ ]+$",
    re.IGNORECASE,
)

_ORDINAL_SUFFIXES: dict[str, tuple[tuple[str, Case, Gender | None], ...]] = {}
"""Ending after "1-" -> forms to try, first whose word ends the same way wins.

A form is (kind, case, gender) with kind "ord" or "card"; gender None means plural. Cardinal
readings come first where Russians write them ("2-х" = "двух", "7-ми" = "семи").
"""


def _suffixes(keys: str, *forms: tuple[str, Case, Gender | None]) -> None:
    for key in keys.split():
        _ORDINAL_SUFFIXES[key] = forms


_suffixes("й ый ий ой", ("ord", "n", "m"), ("ord", "g", "f"))
_suffixes("я ая яя ья", ("ord", "n", "f"))
_suffixes("е ое ее ье", ("ord", "n", "n"))
_suffixes("го ого его ьего", ("ord", "g", "m"))
_suffixes("му ому ему ьему", ("ord", "d", "m"))
_suffixes("м ом ем ьем", ("ord", "p", "m"), ("ord", "i", "m"))
_suffixes("ым им ьим", ("ord", "i", "m"))
_suffixes("ю ую юю ью", ("ord", "a", "f"), ("card", "i", "m"))
_suffixes("ей ьей", ("ord", "g", "f"))
_suffixes("ые ие ьи", ("ord", "n", None))
_suffixes("х ых их ьих", ("card", "g", "m"), ("ord", "g", None))
_suffixes("ух ёх ех и ти", ("card", "g", "m"))
_suffixes("ми", ("card", "g", "m"), ("ord", "i", None))
_suffixes("мя", ("card", "i", "m"))


def expand_numerics(text: str) -> str:
    """Replace every numeric expression in ``text`` with Russian words."""
    text = _THOUSANDS_SPACED.sub(_drop_separators, text)
    text = _THOUSANDS_COMMAS.sub(_drop_separators, text)
    out: list[str] = []
    pos = 0
    while (match := _MASTER.search(text, pos)) is not None:
        out.append(text[pos : match.start()])
        words, end = _render(text, match)
        out.append(_padded(text, match.start(), end, words))
        pos = end
    out.append(text[pos:])
    return "".join(out).translate(_LONE_SYMBOLS)


def _drop_separators(match: re.Match[str]) -> str:
    return match.group().replace(" ", "").replace(",", "")


def _padded(text: str, start: int, end: int, words: str) -> str:
    """Space the words off their neighbours, except a hyphen: "2-3" reads "два-три"."""
    before = "" if start > 0 and text[start - 1] == "-" else " "
    after = "" if end < len(text) and text[end] == "-" else " "
    return f"{before}{words}{after}"


def _render(text: str, m: re.Match[str]) -> tuple[str, int]:
    kind = m.lastgroup
    if kind == "date":
        return _date(text, m.start(), int(m["day"]), int(m["mon"]), m["year"]), m.end()
    if kind == "iso":
        return _date(text, m.start(), int(m["iday"]), int(m["imon"]), m["iyear"]), m.end()
    if kind == "time":
        return _time(m["hh"], m["mm"]), m.end()
    if kind == "dotted":
        return " точка ".join(number_words(part) for part in m["dotted"].split(".")), m.end()
    if kind == "ratio":
        return f"{number_words(m['left'])} на {number_words(m['right'])}", m.end()
    if kind == "century":
        return _century(text, m), m.end()
    if kind == "regnal":
        return _regnal(text, m), m.end()
    return _number(text, m)


def _date(text: str, start: int, day: int, month: int, year: str | None) -> str:
    words = f"{_day(text, start, day)} {MONTHS_GENITIVE[month - 1]}"
    if year:
        words += f" {ordinal(int(year), 'm', 'g')} года"
    return words


def _day(text: str, start: int, day: int) -> str:
    """The day's case follows the preposition: "с 5 мая" -> "с пятого мая", else "пятое мая"."""
    prep = _preposition_before(text, start)
    if prep in ("с", "со", "до", "от", "после", "около", "из", "для"):
        return ordinal(day, "n", "g")
    if prep in ("к", "ко"):
        return ordinal(day, "n", "d")
    return ordinal(day, "n", "n")


def _preposition_before(text: str, start: int) -> str:
    found = _PREPOSITION_BEFORE.search(text, max(0, start - 12), start)
    return found["prep"].lower() if found else ""


def _time(hours: str, minutes: str) -> str:
    """Clock time: "14:30" -> "четырнадцать тридцать", "9:05" -> "девять ноль пять"."""
    if minutes == "00":
        tail = "ноль ноль"
    elif minutes.startswith("0"):
        tail = f"ноль {cardinal(int(minutes), 'f')}"
    else:
        tail = cardinal(int(minutes), "f")
    return f"{cardinal(int(hours))} {tail}"


def _roman_value(numeral: str) -> int:
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100}
    total = 0
    for current, following in zip(numeral, [*numeral[1:], ""], strict=True):
        value = values[current]
        total += -value if following and values[following] > value else value
    return total


def _regnal(text: str, m: re.Match[str]) -> str:
    """Regnal numbers: "Пётр I" -> "первый", "Екатерина II" -> "вторая"; a lone "I" stays."""
    name = _NAME_BEFORE.search(text, max(0, m.start() - 40), m.start())
    if name is None:
        return m.group()
    gender: Gender = "f" if name.group(1)[-1] in "ая" else "m"
    return ordinal(_roman_value(m["rnum"]), gender)


_CENTURY_CASES: dict[str, Case] = {"век": "n", "века": "g", "веку": "d", "веком": "i", "веке": "p"}


def _century(text: str, m: re.Match[str]) -> str:
    """Centuries: "XX век" -> "двадцатый век", "в XX в." -> "в двадцатом веке"."""
    word = m["cword"]
    if word == "в.":
        in_century = _preposition_before(text, m.start()) in ("в", "во")
        word = "веке" if in_century else "века"
    return f"{ordinal(_roman_value(m['cnum']), 'm', _CENTURY_CASES[word])} {word}"


def _number(text: str, m: re.Match[str]) -> tuple[str, int]:
    int_s, frac_s, end = m["int"], m["frac"], m.end()
    prefix = ("номер " if m["hash"] else "") + ("минус " if m["minus"] else "")
    currency = _CURRENCIES[m["pre"]] if m["pre"] else None
    plain_integer = frac_s is None and not m["minus"] and currency is None
    if plain_integer:
        special = _ordinal(text, int_s, end) or _day_of_month(text, m) or _year(text, m)
        if special is not None:
            return prefix + special[0], special[1]
    scaled = _scaled(text, int_s, frac_s, m["sep"], end, currency)
    if scaled is not None:
        return prefix + scaled[0], scaled[1]
    if currency is None and (found := _CURRENCY_TAIL.match(text, end)):
        currency = _CURRENCIES[found["cur"].lower()]
        closing = _closing(text, found.end(), found["cur"])
        return prefix + _money(int_s, frac_s, m["sep"], currency) + closing, found.end()
    if currency is not None:
        return prefix + _money(int_s, frac_s, m["sep"], currency), end
    unit = _unit(text, int_s, frac_s, m["sep"], end)
    if unit is not None:
        return prefix + unit[0], unit[1]
    return prefix + number_words(int_s, frac_s, m["sep"] or ","), end


def _closing(text: str, end: int, consumed: str) -> str:
    """An abbreviation's full stop that also ended the sentence ("5 руб. Потом") stays."""
    return "." if consumed.endswith(".") and _SENTENCE_NEXT.match(text, end) else ""


def _ordinal(text: str, int_s: str, end: int) -> tuple[str, int] | None:
    """Numbers with endings: "1-й" -> "первый", "2-го" -> "второго", "5-ти" -> "пяти"."""
    found = _ORDINAL_TAIL.match(text, end)
    if found is None or not is_quantity(int_s):
        return None
    suffix = found["suffix"]
    forms = _ORDINAL_SUFFIXES.get(suffix)
    if forms is None:
        return None
    n = int(int_s)
    if suffix in ("е", "ое", "ые") and _YEARS_NEXT.match(text, found.end()):
        forms = (("ord", "n", None),)  # "90-е годы"
    candidates = [_inflect(n, form) for form in forms]
    word = next((c for c in candidates if c.endswith(suffix)), candidates[0])
    return word, found.end()


def _inflect(n: int, form: tuple[str, Case, Gender | None]) -> str:
    kind, case, gender = form
    if kind == "card":
        return cardinal(n, gender or "m", case)
    return ordinal(n, gender or "m", case, plural=gender is None)


def _day_of_month(text: str, m: re.Match[str]) -> tuple[str, int] | None:
    """A day before a month name: "24 ноября 2026 г." -> "двадцать четвёртое ноября ..."."""
    found = _MONTH_TAIL.match(text, m.end())
    if found is None or not 1 <= int(m["int"]) <= 31:
        return None
    month = MONTHS_GENITIVE.index(found["month"]) + 1
    return _date(text, m.start(), int(m["int"]), month, found["year"]), found.end()


_YEAR_WORD_CASES: dict[str, Case] = {"год": "n", "года": "g", "годом": "i", "годе": "p"}


def _year(text: str, m: re.Match[str]) -> tuple[str, int] | None:
    """Years: "в 2026 г." -> "в две тысячи двадцать шестом году", "2026 года" -> "...шестого"."""
    found = _YEAR_TAIL.match(text, m.end())
    if found is None or len(m["int"]) != 4 or not 1000 <= int(m["int"]) <= 2999:
        return None
    word = found["word"]
    prep = _preposition_before(text, m.start())
    case: Case
    if word in _YEAR_WORD_CASES:
        case = _YEAR_WORD_CASES[word]
    elif word == "году":
        case = "d" if prep in ("к", "ко", "по") else "p"
    else:  # "г." / "г": the preposition tells the case the writer meant
        case = "p" if prep in ("в", "во", "о", "об") else "g"
        word = "году" if case == "p" else "года"
    closing = _closing(text, found.end(), found["word"])
    return f"{ordinal(int(m['int']), 'm', case)} {word}{closing}", found.end()


def _scaled(
    text: str, int_s: str, frac_s: str | None, sep: str | None, end: int, currency: Currency | None
) -> tuple[str, int] | None:
    """Scale words: "5 млн руб." -> "пять миллионов рублей", "1,5 тыс." -> "...тысячи"."""
    found = _SCALE_TAIL.match(text, end)
    if found is None:
        return None
    scale = _SCALES[found["scale"] or found["short"]]
    words = f"{number_words(int_s, frac_s, sep or ',', scale.gender)} "
    words += agree(int_s, frac_s, scale.forms)
    end, consumed = found.end(), found.group()
    if currency is None and (cur := _CURRENCY_TAIL.match(text, end)):
        currency, end, consumed = _CURRENCIES[cur["cur"].lower()], cur.end(), cur["cur"]
    if currency is not None:
        words += f" {currency.unit.many}"  # after тысяч/миллионов it is always genitive plural
    return words + _closing(text, end, consumed), end


def _money(int_s: str, frac_s: str | None, sep: str | None, currency: Currency) -> str:
    """Money: "5.99 $" -> "пять долларов девяносто девять центов"; odd fractions stay decimal."""
    unit, cents = currency.unit, currency.cents
    if frac_s is not None and (len(frac_s) != 2 or cents is None or not is_quantity(int_s)):
        number = number_words(int_s, frac_s, sep or ",", unit.gender)
        return f"{number} {agree(int_s, frac_s, unit.forms)}"
    words = f"{number_words(int_s, None, gender=unit.gender)} {agree(int_s, None, unit.forms)}"
    if frac_s is not None and cents is not None and int(frac_s) > 0:
        count = frac_s.lstrip("0")
        words += f" {number_words(count, None, gender=cents.gender)} "
        words += agree(count, None, cents.forms)
    return words


def _unit(
    text: str, int_s: str, frac_s: str | None, sep: str | None, end: int
) -> tuple[str, int] | None:
    """Units: "15%" -> "пятнадцать процентов", "2,5 км" -> "две целых пять десятых километра"."""
    found = _UNIT_TAIL.match(text, end)
    if found is None:
        return None
    key = (found["sym"] or found["unit"]).replace(" ", "").replace("С", "c").lower()
    noun = _UNITS[key]
    words = f"{number_words(int_s, frac_s, sep or ',', noun.gender)} "
    words += agree(int_s, frac_s, noun.forms)
    return words + _closing(text, found.end(), found.group()), found.end()
