"""User-facing texts, Russian first: ``locales/<lang>.json``, one flat key space.

Messages use ``str.format`` placeholders (``{max_seconds}``) filled from an error's params.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
_HERE = Path(__file__).resolve().parent


@cache
def catalog(language: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((_HERE / f"{language}.json").read_text("utf-8"))
    return data


def translate(key: str, language: str = DEFAULT_LANGUAGE, **params: object) -> str:
    """The message for ``key``; unknown languages fall back to Russian."""
    messages = catalog(language if language in LANGUAGES else DEFAULT_LANGUAGE)
    return messages[key].format(**params)
