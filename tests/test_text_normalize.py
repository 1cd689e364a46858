"""normalize(): arbitrary user text into speakable Russian, and the fixes around the library.

The corpus of everyday sentences is in test_text_corpus.py; this file holds the edges: odd
characters, limits, each of Govorun's fixes (inference/text/fixes.py) and the invariants.
"""

from __future__ import annotations

import io
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inference.text import normalize

SPEAKABLE = re.compile(r"[А-Яа-яЁё .,!?:;—-]*")


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
        # The library capitalises a sentence's first word.
        ("1-й", "Первый."),
        ("2-го", "Второго."),
        ("21-е", "Двадцать первое."),
        ("3-я", "Третья."),
        ("в 5-м классе", "в пятом классе."),
        ("1-ю", "Первую."),
        ("в 90-х", "в девяностых."),
        ("90-е годы", "девяностые годы."),
        ("2-х", "Двух."),
        ("5-ти", "Пяти."),
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
        ("14:30", "четырнадцать часов тридцать минут."),
        # fixes._time: whole hours and minutes with a leading zero are read with their units.
        ("в 9:05", "в девять часов пять минут."),
        ("10:00", "десять часов."),
        ("до 18:00", "до восемнадцати часов."),
        ("к 10:30", "к десяти часам тридцати минутам."),
        ("в 14:30: приходи", "в четырнадцать часов тридцать минут: приходи."),
        ("в 14:30 — см. ниже", "в четырнадцать часов тридцать минут — смотри ниже."),
        ("с 9:00-18:00", "с девяти часов до восемнадцати часов."),
        (
            "Работаем 9:00 — 18:30.",
            "Работаем с девяти часов до восемнадцати часов тридцати минут.",
        ),
        ("24.11.2026", "двадцать четвёртого ноября две тысячи двадцать шестого года."),
        ("2026-11-24", "двадцать четвёртого ноября две тысячи двадцать шестого года."),
        ("24 ноября 2026 г.", "двадцать четвёртого ноября две тысячи двадцать шестого года."),
        # fixes._TODAY_DATE: "сегодня" takes the date in the nominative.
        ("Сегодня 23 февраля.", "Сегодня двадцать третье февраля."),
        ("Завтра, 1 марта, выходной.", "Завтра первое марта, выходной."),
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
        ("1,5 млрд $", "полтора миллиарда долларов."),
        # fixes._PRICE_HEAD: the library read "цена ста рублей", "цена двадцати одного рубля".
        ("Цена 100 рублей.", "Цена — сто рублей."),
        ("Стоимость 21 рубль.", "Стоимость — двадцать один рубль."),
        ("по цене 100 рублей", "по цене сто рублей."),
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
        ("цена в руб.", "цена в рублях."),
        ("РФ и МВД", "Эр эф и эм вэ дэ."),
        # readings.CYRILLIC_WORDS: where the library's own reading is not the usual one.
        ("ЖКХ и ЦСКА", "жэ ка ха и цэ эс ка."),
        ("Тел. 22-33-44", "Телефон двадцать два — тридцать три — сорок четыре."),
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
        ("USB и BBC", "Ю эс би и би би си."),
        # readings.LATIN_WORDS, where the library's English phonetics ("фоутоу") miss.
        ("photo", "фото."),
        ("Samsung Galaxy", "самсунг гэлэкси."),
        ("Wi-Fi и wifi", "вайфай и вайфай."),
        # Anything else through the library's English phonetics.
        ("deadline", "дэдлайн."),
        ("Пpивет", "Привет."),  # a Latin "p" inside a Russian word
        ("A & B", "эй энд би."),
        ("Иванов & сыновья", "Иванов и сыновья."),
        ("x" * 41, ""),  # no word: fixes._LATIN_RUN
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
        ("Ну... ладно", "Ну. Ладно."),
        ("Что?!", "Что?"),
        ("Привет\nКак дела", "Привет. Как дела."),
        ("  много    пробелов\tи\u00a0табов  ", "много пробелов и табов."),
        ("Кто-то, где-то — тут", "Кто-то, где-то — тут."),
        ("- Привет! - Пока!", "Привет! Пока!"),
        ("10-15 минут", "десять — пятнадцать минут."),
        ("5 − 3", "пять минус три."),
        ("#1 в рейтинге", "номер один в рейтинге."),
        (
            "Звони 8 (912) 345-67-89",
            "Звони восемь, девятьсот двенадцать, триста сорок пять, шестьдесят семь, "
            "восемьдесят девять.",
        ),
        ("т.е.так", "то есть так."),  # fixes._GLUED_ABBREVIATION
        ("Це українська", "Це украинська."),
    ],
)
def test_symbols_and_punctuation(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "😀🎉", "...!!!", "-", "中文 العربية", "\u200b\u202e"])
def test_nothing_speakable_gives_empty_string(raw: str) -> None:
    assert normalize(raw) == ""


_ORDINARY = (
    "Привет! Сегодня 24.11.2026 в 14:30 мы купили 3,5 кг яблок за 100 руб. и $5, т.е. "
    "недорого. Скидка 15% на iPhone — см. https://example.com. Было -5°C. 😀 "
)


def _seconds(text: str) -> float:
    started = time.perf_counter()
    normalize(text)
    return time.perf_counter() - started


@pytest.mark.parametrize(
    "raw", ["a" * 10_000, "1" * 10_000, "x" * 10_000, "😀" * 10_000, "т.е." * 2500]
)
def test_degenerate_long_input_costs_no_more_than_ordinary_text(raw: str) -> None:
    # Speed itself is measured in bench/text.py; this guards against a rule whose cost grows
    # faster than the text (a Latin run once took seconds), against ordinary text of the same
    # length timed in the same minute.
    ordinary = (_ORDINARY * 100)[:10_000]
    normalize(ordinary)  # warm the caches the way a running worker has them
    assert _seconds(raw) < 3 * _seconds(ordinary) + 0.05


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


def test_govorun_normalize_prints_what_will_be_spoken_on_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from govorun.cli import main

    raw = "У нас 21 кошка.\nВстреча 1 марта в 14:30 😀"
    assert main(["normalize", raw]) == 0
    printed = capsys.readouterr().out
    assert printed == normalize(raw) + "\n"
    assert (
        printed == "У нас двадцать одна кошка. Встреча первого марта в четырнадцать часов "
        "тридцать минут.\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(raw))
    assert main(["normalize", "-"]) == 0
    assert capsys.readouterr().out == printed


def test_govorun_normalize_refuses_text_with_nothing_to_say(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from govorun.cli import main

    assert main(["normalize", "😀🎉"]) == 2
    assert "Напишите несколько слов" in capsys.readouterr().err
    assert main(["normalize", "😀🎉", "--lang", "en"]) == 2
    assert "write a few words" in capsys.readouterr().err
