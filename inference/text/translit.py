"""Latin script into Cyrillic that a Russian voice reads the way a Russian speaker would.

Three layers, most specific first: a small dictionary of words Russians say in a settled way
("iPhone" -> "айфон"), acronyms spelled with English letter names ("USB" -> "ю эс би"), and
letter rules for everything else ("Bluetooth" -> "блутут"). Latin look-alikes inside a
Cyrillic word ("Пpивет" with a Latin "p") are mapped back to the Cyrillic letters they imitate.
"""

from __future__ import annotations

import re

COMMON_WORDS = {
    "ai": "эй ай",
    "amazon": "амазон",
    "android": "андроид",
    "api": "эй пи ай",
    "app": "апп",
    "apple": "эпл",
    "bluetooth": "блютуз",
    "bmw": "бэ эм вэ",
    "bye": "бай",
    "chatgpt": "чат джи пи ти",
    "cool": "кул",
    "email": "имейл",
    "excel": "эксель",
    "facebook": "фейсбук",
    "google": "гугл",
    "gmail": "джимейл",
    "hello": "хэллоу",
    "hi": "хай",
    "huawei": "хуавэй",
    "instagram": "инстаграм",
    "internet": "интернет",
    "id": "ай ди",
    "ios": "ай о эс",
    "ipad": "айпад",
    "iphone": "айфон",
    "it": "ай ти",
    "java": "джава",
    "javascript": "джаваскрипт",
    "like": "лайк",
    "linux": "линукс",
    "love": "лав",
    "macbook": "макбук",
    "mcdonalds": "макдоналдс",
    "microsoft": "майкрософт",
    "netflix": "нетфликс",
    "no": "ноу",
    "offline": "офлайн",
    "ok": "окей",
    "okay": "окей",
    "online": "онлайн",
    "openai": "оупен эй ай",
    "python": "пайтон",
    "samsung": "самсунг",
    "skype": "скайп",
    "telegram": "телеграм",
    "the": "зе",
    "tiktok": "тикток",
    "twitter": "твиттер",
    "url": "ю ар эл",
    "usa": "ю эс эй",
    "usb": "ю эс би",
    "vk": "вэ ка",
    "whatsapp": "вотсап",
    "wifi": "вайфай",
    "windows": "виндоус",
    "xiaomi": "сяоми",
    "yandex": "яндекс",
    "yes": "ес",
    "youtube": "ютуб",
    "zoom": "зум",
}

LETTER_NAMES = {
    "a": "эй",
    "b": "би",
    "c": "си",
    "d": "ди",
    "e": "и",
    "f": "эф",
    "g": "джи",
    "h": "эйч",
    "i": "ай",
    "j": "джей",
    "k": "кей",
    "l": "эл",
    "m": "эм",
    "n": "эн",
    "o": "оу",
    "p": "пи",
    "q": "кью",
    "r": "ар",
    "s": "эс",
    "t": "ти",
    "u": "ю",
    "v": "ви",
    "w": "дабл ю",
    "x": "экс",
    "y": "уай",
    "z": "зед",
}

_MULTI_LETTER = {
    "tion": "шн",
    "sch": "ш",
    "tch": "ч",
    "igh": "ай",
    "sh": "ш",
    "ch": "ч",
    "th": "т",
    "ph": "ф",
    "oo": "у",
    "ee": "и",
    "ea": "и",
    "ck": "к",
    "qu": "кв",
    "kh": "х",
    "zh": "ж",
    "ts": "ц",
    "wh": "в",
    "ya": "я",
    "yu": "ю",
    "yo": "ё",
    "ye": "е",
    "ai": "ей",
    "ay": "ей",
    "ey": "ей",
    "oy": "ой",
    "ou": "ау",
    "ow": "оу",
    "aw": "о",
    "au": "о",
}
_SINGLE_LETTER = {
    "a": "а",
    "b": "б",
    "c": "к",
    "d": "д",
    "e": "е",
    "f": "ф",
    "g": "г",
    "h": "х",
    "i": "и",
    "j": "дж",
    "k": "к",
    "l": "л",
    "m": "м",
    "n": "н",
    "o": "о",
    "p": "п",
    "q": "к",
    "r": "р",
    "s": "с",
    "t": "т",
    "u": "у",
    "v": "в",
    "w": "в",
    "x": "кс",
    "y": "и",
    "z": "з",
}
_VOWELS = frozenset("aeiouy")
# Latin letters that look exactly like Cyrillic ones: spoofed or mistyped Russian words.
_HOMOGLYPHS = str.maketrans(
    {
        "a": "а",
        "c": "с",
        "e": "е",
        "o": "о",
        "p": "р",
        "x": "х",
        "y": "у",
        "k": "к",
        "i": "и",
        "A": "А",
        "B": "В",
        "C": "С",
        "E": "Е",
        "H": "Н",
        "K": "К",
        "M": "М",
        "O": "О",
        "P": "Р",
        "T": "Т",
        "X": "Х",
        "Y": "У",
    }
)

_GRAPHEME = re.compile(
    "|".join(sorted((re.escape(k) for k in _MULTI_LETTER), key=len, reverse=True)) + "|[a-z]"
)
_HYPHENATED = re.compile(r"(?<![A-Za-z])[A-Za-z]+(?:-[A-Za-z]+)+")
_WORD = re.compile(r"[A-Za-zА-Яа-яЁё]+")
_LATIN = re.compile(r"[A-Za-z]")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")


def transliterate(text: str) -> str:
    """Rewrite every word that contains Latin letters; other text passes through."""
    text = _HYPHENATED.sub(_hyphenated, text)
    return _WORD.sub(_word, text)


def _hyphenated(match: re.Match[str]) -> str:
    """Hyphenated words such as "Wi-Fi" and "e-mail" are dictionary words once the hyphen goes."""
    joined = match.group().replace("-", "").lower()
    return COMMON_WORDS.get(joined, match.group())


def _word(match: re.Match[str]) -> str:
    word = match.group()
    if not _LATIN.search(word):
        return word
    if _CYRILLIC.search(word):
        return _transliterate_letters(word.translate(_HOMOGLYPHS))
    return transliterate_word(word)


def _transliterate_letters(word: str) -> str:
    return "".join(_SINGLE_LETTER.get(ch.lower(), ch) for ch in word)


def transliterate_word(word: str) -> str:
    """One all-Latin word into lowercase Cyrillic."""
    lower = word.lower()
    if lower in COMMON_WORDS:
        return COMMON_WORDS[lower]
    # A lone letter or a vowelless capital run ("USB", "BBC") is spelled out, not read.
    if len(word) == 1 or (word.isupper() and not _VOWELS.intersection(lower)):
        return " ".join(LETTER_NAMES[ch] for ch in lower)
    return _GRAPHEME.sub(lambda m: _grapheme(m, lower), lower)


def _grapheme(match: re.Match[str], word: str) -> str:
    """Letter rules that depend on the neighbours: c before e/i/y, y after a vowel, final e."""
    piece, start, end = match.group(), match.start(), match.end()
    if piece in _MULTI_LETTER:
        return _MULTI_LETTER[piece]
    following = word[end] if end < len(word) else ""
    previous = word[start - 1] if start > 0 else ""
    if piece == "c" and following in ("e", "i", "y"):
        return "ц"
    if piece == "y" and previous in _VOWELS:
        return "й"
    if piece == "e":
        if start == 0:
            return "э"
        # The silent final e of "like", "table", "house".
        if end == len(word) and len(word) > 3 and previous not in _VOWELS:
            return ""
    return _SINGLE_LETTER[piece]
