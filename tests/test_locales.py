import re
import string
from pathlib import Path

import pytest

from core.contract import MIMIC_LEVELS as CONTRACT_MIMIC_LEVELS
from inference.animate.track import MIMIC_LEVELS
from inference.errors import ErrorCode
from locales import LANGUAGES, catalog, translate


def _placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def test_languages_have_the_same_keys_and_placeholders() -> None:
    russian = catalog("ru")
    for language in LANGUAGES:
        messages = catalog(language)
        assert messages.keys() == russian.keys(), language
        for key, message in messages.items():
            assert _placeholders(message) == _placeholders(russian[key]), (language, key)


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_error_code_has_a_message(code: ErrorCode) -> None:
    for language in LANGUAGES:
        assert f"error.{code.value}" in catalog(language)


def test_every_mimic_level_has_a_label_and_a_confirmation() -> None:
    assert CONTRACT_MIMIC_LEVELS == MIMIC_LEVELS  # the bot's copy of the renderer's levels
    for language in LANGUAGES:
        for level in MIMIC_LEVELS:
            assert translate(f"mimic.level.{level}", language)
            assert translate(f"mimic.chosen.{level}", language)


def test_help_lists_every_command_the_bot_announces() -> None:
    from bot.main import COMMANDS

    for language in LANGUAGES:
        shown = set(re.findall(r"/(\w+)", translate("help", language, max_seconds=1, max_voice=1)))
        assert set(COMMANDS) - {"start", "help"} <= shown, language
    assert "mimic" in COMMANDS


def test_russian_texts_are_russian_and_english_are_english() -> None:
    for message in catalog("ru").values():
        words = re.sub(r"\{\w+\}|/\w+", "", message)  # placeholders and commands aside
        assert re.search("[а-яё]", words) or not re.search("[a-z]", words), message
    for message in catalog("en").values():
        assert not re.search("[а-яё]", message)


def test_translate_fills_params_and_falls_back_to_russian() -> None:
    assert "30" in translate("error.audio_too_long", "en", max_seconds=30)
    assert translate("error.no_face", "xx") == catalog("ru")["error.no_face"]


def test_every_key_used_in_code_exists_in_both_languages() -> None:
    """Keys appear in code as t("..."), translate("..."), Reply("...") or show("...")."""
    root = Path(__file__).resolve().parents[1]
    pattern = re.compile(
        r"""(?:\bt|translate|Reply|show)\(\s*f?["']([a-z_]+\.[a-z_.{}]+|[a-z_]+)["']"""
    )
    used: set[str] = set()
    for folder in ("bot", "worker", "core", "inference", "govorun"):
        for path in (root / folder).rglob("*.py"):
            used |= set(pattern.findall(path.read_text("utf-8")))
    static = {key for key in used if "{" not in key}
    assert {"start", "help", "status.done", "photo.accepted"} <= static  # the scan works
    for language in LANGUAGES:
        assert static <= catalog(language).keys(), sorted(static - catalog(language).keys())
    for key in used - static:  # f-strings: status.{name} and error.{code}
        prefix = key.split("{", 1)[0]
        assert any(k.startswith(prefix) for k in catalog("ru")), key
