"""Govorun's own character handling around the normalizer library: before it and after it.

``clean_chars`` reduces arbitrary Unicode to what the library reads: ASCII letters and digits,
Russian Cyrillic, whitespace with newlines kept (they end sentences), the punctuation Russian
prose uses and the symbols that are read aloud (% $ € ° + = / ...). Links and e-mail addresses
become the words "ссылка" and "адрес почты" (nobody wants a URL read out letter by letter);
emoji and other scripts' letters vanish. ``tidy`` then leaves only what the speech engine
should see.
"""

from __future__ import annotations

import re
import unicodedata

URL_WORD = "ссылка"
EMAIL_WORD = "адрес почты"

# Some symbols must be read before NFKC turns them into letters ("№" -> "No", "™" -> "TM").
_BEFORE_NFKC = str.maketrans({"№": " номер ", "™": " ", "®": " ", "©": " ", "℗": " ", "℠": " "})

_ASCII_KEEP = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n.,!?:;-%$#/'+=&()[]^~*\""
)
_CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
_CYRILLIC_KEEP = frozenset(_CYRILLIC + _CYRILLIC.upper())
_SYMBOLS_KEEP = frozenset("€£₽¥°—«»±×≈")

# Letters of neighbouring Cyrillic alphabets, mapped to the nearest Russian reading.
_CYRILLIC_NEIGHBOURS = {
    "і": "и",
    "ї": "и",
    "є": "е",
    "ґ": "г",
    "ў": "у",
    "ј": "й",
    "љ": "ль",
    "њ": "нь",
    "ђ": "дж",
    "ћ": "ч",
    "џ": "дж",
    "ѕ": "з",
    "ѣ": "е",
    "ѳ": "ф",
    "ѵ": "и",
    "ә": "а",
    "ө": "о",
    "ү": "у",
    "ұ": "у",
    "қ": "к",
    "ң": "н",
    "ғ": "г",
    "һ": "х",
}
# Latin letters without a decomposition to an ASCII base.
_LATIN_SPECIAL = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "Ae",
    "œ": "oe",
    "Œ": "Oe",
    "ø": "o",
    "Ø": "O",
    "đ": "d",
    "Đ": "D",
    "ł": "l",
    "Ł": "L",
    "þ": "th",
    "Þ": "Th",
    "ð": "d",
    "Ð": "D",
    "ı": "i",
}
_EXPLICIT: dict[str, str | None] = {
    **_CYRILLIC_NEIGHBOURS,
    **{k.upper(): v.capitalize() for k, v in _CYRILLIC_NEIGHBOURS.items()},
    **_LATIN_SPECIAL,
    "−": " минус ",  # U+2212 is unambiguous, unlike the hyphen; the library would drop it
    "\t": " ",
    "⁄": "/",  # NFKC writes "½" as "1⁄2"
    # Apostrophes: dropped inside words later ("don't"), a space elsewhere.
    "’": "'",
    "‘": "'",
    "ʼ": "'",
    "`": "'",
    "´": "'",
    "′": "'",
    "‐": "-",
    "‑": "-",
}
_LINE_BREAKS = frozenset("\r\v\f\x1c\x1d\x1e\x85")

# str.translate consults this lazily; a bound keeps adversarial input from growing it forever.
_CACHE_LIMIT = 20_000


def _classify(ch: str) -> str | None:
    """What one character (already NFKC) becomes: itself, a replacement, a space, or nothing."""
    if ch in _ASCII_KEEP or ch in _CYRILLIC_KEEP or ch in _SYMBOLS_KEEP:
        return ch
    if ch in _EXPLICIT:
        return _EXPLICIT[ch]
    if ch in _LINE_BREAKS:
        return "\n"
    category = unicodedata.category(ch)
    if category == "Zs":
        return " "
    if category in ("Zl", "Zp"):
        return "\n"
    # Invisible: zero-width and bidi marks (Cf), stress accents and other combining marks,
    # stray controls. They sit inside words, so they vanish rather than become spaces.
    if category in ("Cc", "Cf", "Cs", "Mn", "Mc", "Me"):
        return None
    if category == "Nd":
        return str(unicodedata.decimal(ch, 0))
    if category == "Pd":
        return "—"
    if category[0] == "L":
        return _fold_letter(ch)
    return " "


def _fold_letter(ch: str) -> str:
    """Drop accents ("é" -> "e", "ӧ" -> "о"); letters of other scripts become a space."""
    decomposed = unicodedata.normalize("NFKD", ch)
    base = "".join(c for c in decomposed if c in _CYRILLIC_KEEP or (c.isascii() and c.isalpha()))
    return base or " "


class _CharMap(dict[int, str | None]):
    """A translate table filled on demand, so the whole of Unicode needs no precomputing."""

    def __missing__(self, codepoint: int) -> str | None:
        value = _classify(chr(codepoint))
        if len(self) < _CACHE_LIMIT:
            self[codepoint] = value
        return value


_CHAR_MAP = _CharMap()

_URL = re.compile(
    r"(?<![\w./])(?:(?:https?|ftp)://|www\.)[^\s<>\"'«»]*[^\s<>\"'«».,!?:;)\]]"
    r"|(?<![\w@.-])(?:[a-z0-9а-яё-]+\.)+"
    r"(?:ru|com|org|net|io|me|su|info|biz|dev|app|ai|by|kz|ua|uk|de|edu|gov|рф)"
    r"(?![\w-])(?:/[^\s<>\"'«»]*[^\s<>\"'«».,!?:;)\]])?",
    re.IGNORECASE,
)
# Every pattern with a leading run starts only where a run starts (the lookbehind): otherwise
# a long run without a match is rescanned from each of its characters, quadratic time.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_APOSTROPHE_IN_WORD = re.compile(r"(?<=[A-Za-zА-Яа-яЁё])'(?=[A-Za-zА-Яа-яЁё])")
_SPACES_BEFORE_MARK = re.compile(r"(?<![ \t])[ \t]+(?=[.,!?:;])")


def clean_chars(text: str) -> str:
    """Reduce arbitrary Unicode to the small alphabet the word passes work on."""
    text = unicodedata.normalize("NFKC", text.translate(_BEFORE_NFKC))
    text = text.replace("\r\n", "\n")
    # Before the character map: links and addresses are made of characters it rewrites.
    if "@" in text:
        text = _EMAIL.sub(f" {EMAIL_WORD} ", text)
    text = _URL.sub(f" {URL_WORD} ", text)
    text = text.translate(_CHAR_MAP)
    text = _APOSTROPHE_IN_WORD.sub("", text).replace("'", " ")
    # Early, so that "т.д ." is seen here as the abbreviation it will look like after tidy().
    return _SPACES_BEFORE_MARK.sub("", text)


def collapse_marks(run: str) -> str:
    """One mark for a run: a question outranks an exclamation, which outranks a full stop."""
    for mark in "?!.":
        if mark in run:
            return mark
    return run.strip()[0]


# The library marks stress in a few readings of its own ("вайф+ай"); tidy would split the word.
_STRESS_MARK = re.compile(r"\+(?=[аеёиоуыэюяАЕЁИОУЫЭЮЯ])")
_STRAY = re.compile(r"[^А-Яа-яЁё.,!?:;—\-\n ]+")
_LOOSE_HYPHEN = re.compile(r"(?<![А-Яа-яЁё])-|-(?![А-Яа-яЁё])")
_LINE_END_AFTER_WORD = re.compile(r"(?<=[А-Яа-яЁё])[ ]*\n\s*")
_WHITESPACE = re.compile(r"\s+")
_MARKS = re.compile(r"[ ]*([.,!?:;—](?:[ ]*[.,!?:;—])*)[ ]*")
_LEADING_MARKS = re.compile(r"^[ .,!?:;—]+")
_HAS_LETTER = re.compile(r"[А-Яа-яЁё]")


def tidy(text: str) -> str:
    """Leave only Cyrillic words, single spaces and one mark per pause; end with . ! or ?."""
    text = _STRAY.sub(" ", _STRESS_MARK.sub("", text))
    text = _LOOSE_HYPHEN.sub(" ", text)
    # A line break after a bare word is a sentence end the writer did not type.
    text = _LINE_END_AFTER_WORD.sub(". ", text)
    text = _WHITESPACE.sub(" ", text)
    text = _MARKS.sub(_spaced_mark, text)
    text = _LEADING_MARKS.sub("", text).strip()
    if not _HAS_LETTER.search(text):
        return ""
    if text[-1] in ".!?":
        return text
    if text[-1] in ",:;—":
        return text[:-1].rstrip() + "."
    return text + "."


def _spaced_mark(match: re.Match[str]) -> str:
    mark = collapse_marks(match.group(1))
    # A dash stands between words; the other marks cling to the word before them.
    return " — " if mark == "—" else f"{mark} "
