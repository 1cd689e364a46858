"""normalize(): arbitrary user text into speakable Russian for eSpeak NG."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.text import normalize, plural
from inference.text.numbers import number_words

SPEAKABLE = re.compile(r"[А-Яа-яЁё .,!?:;—-]*")


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, "рубль"),
        (2, "рубля"),
        (4, "рубля"),
        (5, "рублей"),
        (11, "рублей"),
        (12, "рублей"),
        (14, "рублей"),
        (21, "рубль"),
        (22, "рубля"),
        (111, "рублей"),
        (0, "рублей"),
        (-1, "рубль"),
    ],
)
def test_plural_agreement(n: int, expected: str) -> None:
    assert plural(n, "рубль", "рубля", "рублей") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("5", "пять."),
        ("-5 градусов", "минус пять градусов."),
        ("3,5", "три целых пять десятых."),
        ("3.5", "три целых пять десятых."),
        ("0,25", "ноль целых двадцать пять сотых."),
        ("1 000 000", "один миллион."),
        ("1\u00a0000\u2009000", "один миллион."),
        ("1\u202f500", "одна тысяча пятьсот."),
        ("1,000,000", "один миллион."),
        ("1000000000000", "один триллион."),
        ("007", "ноль ноль семь."),
        (
            "12345678901234567",
            "один два три четыре пять шесть семь восемь девять ноль один два три четыре пять "
            "шесть семь.",
        ),
    ],
)
def test_numbers(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1-й", "первый."),
        ("2-го", "второго."),
        ("21-е", "двадцать первое."),
        ("3-я", "третья."),
        ("в 5-м классе", "в пятом классе."),
        ("1-ю", "первую."),
        ("в 90-х", "в девяностых."),
        ("90-е годы", "девяностые годы."),
        ("2-х", "двух."),
        ("5-ти", "пяти."),
        ("XX век", "двадцатый век."),
        ("в XXI веке", "в двадцать первом веке."),
        ("Пётр I", "Пётр первый."),
        ("Екатерина II", "Екатерина вторая."),
    ],
)
def test_ordinals(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("14:30", "четырнадцать тридцать."),
        ("в 9:05", "в девять ноль пять."),
        ("10:00", "десять ноль ноль."),
        ("24.11.2026", "двадцать четвёртое ноября две тысячи двадцать шестого года."),
        ("2026-11-24", "двадцать четвёртое ноября две тысячи двадцать шестого года."),
        ("24 ноября 2026 г.", "двадцать четвёртое ноября две тысячи двадцать шестого года."),
        ("с 5 мая", "с пятого мая."),
        ("в 2026 году", "в две тысячи двадцать шестом году."),
        ("в 2020 г. было", "в две тысячи двадцатом году было."),
        ("2026 г. Потом", "две тысячи двадцать шестого года. Потом."),
    ],
)
def test_times_and_dates(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("15%", "пятнадцать процентов."),
        ("1%", "один процент."),
        ("2%", "два процента."),
        ("5 %", "пять процентов."),
        ("3,5%", "три целых пять десятых процента."),
        ("100 ₽", "сто рублей."),
        ("100 руб.", "сто рублей."),
        ("1 руб.", "один рубль."),
        ("2 руб", "два рубля."),
        ("$5", "пять долларов."),
        ("5 $", "пять долларов."),
        ("$1", "один доллар."),
        ("$3", "три доллара."),
        ("€10", "десять евро."),
        ("5.99 $", "пять долларов девяносто девять центов."),
        ("100,50 руб.", "сто рублей пятьдесят копеек."),
        ("5 млн руб.", "пять миллионов рублей."),
        ("1,5 млрд $", "одна целая пять десятых миллиарда долларов."),
        ("21 тыс.", "двадцать одна тысяча."),
        ("10 USD", "десять долларов."),
        ("5 коп.", "пять копеек."),
        ("2 кг", "два килограмма."),
        ("5 км/ч", "пять километров в час."),
        ("1 мин.", "одна минута."),
        ("+5°C", "плюс пять градусов Цельсия."),
        ("-1°", "минус один градус."),
    ],
)
def test_percent_money_and_units(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_abbreviation_full_stop_that_ends_a_sentence_is_kept() -> None:
    assert normalize("Стоит 5 руб. Дёшево") == "Стоит пять рублей. Дёшево."
    assert normalize("Хлеб, молоко и т.д. Потом домой") == (
        "Хлеб, молоко и так далее. Потом домой."
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("т.е. так", "то есть так."),
        ("т. е. так", "то есть так."),
        ("т.е.так", "то есть так."),
        ("и т.д.", "и так далее."),
        ("и т.п.", "и тому подобное."),
        ("и др.", "и другие."),
        ("см. ниже", "смотри ниже."),
        ("г. Москва", "город Москва."),
        ("тыс. и млн и млрд", "тысяч и миллионов и миллиардов."),
        ("цена в руб.", "цена в рублей."),
        ("РФ и МВД", "эр эф и эм вэ дэ."),
        ("А. С. Пушкин", "а эс Пушкин."),
    ],
)
def test_abbreviations(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Telegram", "телеграм."),
        ("iPhone", "айфон."),
        ("Wi-Fi", "вайфай."),
        ("USB и BBC", "ю эс би и би би си."),
        ("shop", "шоп."),
        ("chat", "чат."),
        ("photo", "фото."),
        ("cinema", "цинема."),
        ("Crème", "крем."),  # accents folded, then the final "e" is silent
        ("don't", "донт."),
        ("Пpивет", "Привет."),  # a Latin "p" inside a Russian word
        ("A & B", "эй и би."),
    ],
)
def test_latin(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2+2=4", "два плюс два равно четыре."),
        ("№5", "номер пять."),
        ("Пиши: test@example.com", "Пиши: адрес почты."),
        ("Смотри https://example.com/a?b=1.", "Смотри ссылка."),
        ("Зайди на www.example.org", "Зайди на ссылка."),
        ("Привет 😀👍🏽 мир", "Привет мир."),
        ("при\u200bвет \u202eмир\u202c", "привет мир."),
        ("мама\u0301", "мама."),
        ("«Привет», — сказал он.", "Привет, сказал он."),
        ("(скобки) [и] {всё}", "скобки и всё."),
        ("Привет!!! Как дела???", "Привет! Как дела?"),
        ("Ну... ладно", "Ну. ладно."),
        ("Что?!", "Что?"),
        ("Привет\nКак дела", "Привет. Как дела."),
        ("  много    пробелов\tи\u00a0табов  ", "много пробелов и табов."),
        ("Кто-то, где-то — тут", "Кто-то, где-то — тут."),
        ("- Привет! - Пока!", "Привет! Пока!"),
        ("10-15 минут", "десять-пятнадцать минут."),
        ("Це українська", "Це украинська."),
    ],
)
def test_symbols_and_punctuation(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "😀🎉", "...!!!", "-", "中文 العربية", "\u200b\u202e"])
def test_nothing_speakable_gives_empty_string(raw: str) -> None:
    assert normalize(raw) == ""


def test_number_words_falls_back_to_digits_for_long_fractions() -> None:
    assert number_words("3", "14159") == "три запятая один четыре один пять девять"


def test_ten_thousand_characters_normalize_fast() -> None:
    sentence = (
        "Привет! Сегодня 24.11.2026 в 14:30 мы купили 3,5 кг яблок за 100 руб. и $5, т.е. "
        "недорого. Скидка 15% на iPhone — см. https://example.com. Было -5°C. 😀 "
    )
    text = (sentence * 100)[:10_000]
    normalize(text)  # warm the caches the way a running worker has them
    started = time.perf_counter()
    normalize(text)
    assert time.perf_counter() - started < 0.1


@pytest.mark.parametrize(
    "raw", ["a" * 10_000, "1" * 10_000, "x" * 10_000, "😀" * 10_000, "т.е." * 2500]
)
def test_degenerate_long_input_stays_linear(raw: str) -> None:
    started = time.perf_counter()
    normalize(raw)
    assert time.perf_counter() - started < 0.5


# Text that exercises the rules: Cyrillic, Latin, digits, the marks and symbols they react to.
_RULE_ALPHABET = (
    "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
    "abcdehilostxyIVXCABT0123456789 \n.,!?:;-—–'\"«»()%$€₽°#/&+=№@…\u200b\u0301😀"
)
rule_text = st.text(alphabet=_RULE_ALPHABET, max_size=60) | st.lists(
    st.sampled_from(
        ["т.е.", "г.", "руб.", "тыс.", "1-й", "24.11.2026", "14:30", "5%", "$5", "XX век", " "]
    ),
    max_size=8,
).map("".join)
any_text = st.text(max_size=80)  # every Unicode category hypothesis generates


@settings(max_examples=300, deadline=None)
@given(any_text | rule_text)
def test_never_raises_and_emits_only_speakable_characters(raw: str) -> None:
    out = normalize(raw)
    assert SPEAKABLE.fullmatch(out)
    assert out == out.strip() and "  " not in out
    if out:
        assert out[-1] in ".!?"
        assert re.search(r"[А-Яа-яЁё]", out)


@settings(max_examples=300, deadline=None)
@given(any_text | rule_text)
def test_is_idempotent(raw: str) -> None:
    once = normalize(raw)
    assert normalize(once) == once
