"""Govorun's own readings of words, where the normalizer library has none or a wrong one.

One table, looked up before the library runs (see ``fixes.apply_readings``): Latin brand and
loan words as Russians say them (the library reads unknown Latin through English phonetics,
"Samsung" -> "сэмсэн", where Russians say "самсунг"), letter acronyms whose library reading is
not the usual one, and the few written abbreviations it does not expand. Keys are matched as
whole words; Latin keys ignore case, Cyrillic ones are matched as written, so that "ООН" is
spelled while a lowercase "оон" is left alone.
"""

from __future__ import annotations

LATIN_WORDS = {
    "adidas": "адидас",
    "ai": "эй ай",
    "amazon": "амазон",
    "android": "андроид",
    "apple": "эпл",
    "avito": "авито",
    "bluetooth": "блютуз",
    "bmw": "бэ эм вэ",
    "chat": "чат",
    "chatgpt": "чат джи пи ти",
    "excel": "эксель",
    "facebook": "фейсбук",
    "github": "гитхаб",
    "gmail": "джимейл",
    "google": "гугл",
    "huawei": "хуавей",
    "instagram": "инстаграм",
    "iphone": "айфон",
    "ipad": "айпад",
    "ios": "ай о эс",
    "it": "ай ти",
    "java": "джава",
    "javascript": "джаваскрипт",
    "linux": "линукс",
    "macbook": "макбук",
    "microsoft": "майкрософт",
    "netflix": "нетфликс",
    "nvidia": "энвидиа",
    "ok": "окей",
    "okay": "окей",
    "lego": "лего",
    "mega": "мега",
    "nokia": "нокиа",
    "openai": "оупен эй ай",
    "photo": "фото",
    "python": "пайтон",
    "samsung": "самсунг",
    "sber": "сбер",
    "shop": "шоп",
    "skype": "скайп",
    "sony": "сони",
    "stop": "стоп",
    "super": "супер",
    "telegram": "телеграм",
    "tesla": "тесла",
    "tiktok": "тикток",
    "tinkoff": "тинькофф",
    "twitter": "твиттер",
    "video": "видео",
    "vk": "вэ ка",
    "whatsapp": "вотсап",
    "wi-fi": "вайфай",
    "wifi": "вайфай",
    "windows": "виндоус",
    "xiaomi": "сяоми",
    "yandex": "яндекс",
    "youtube": "ютуб",
    "zoom": "зум",
}

CYRILLIC_WORDS = {
    # Acronyms: the library reads "ЖКХ" as "же кэ ха" and "ЦСКА" as "цэ эс ка а".
    "ЖКХ": "жэ ка ха",
    "ЦСКА": "цэ эс ка",
    "ООН": "оон",
    "РЖД": "эр жэ дэ",
    # Abbreviations the library leaves as written.
    "тел.": "телефон",
    "Тел.": "Телефон",
}
