"""The docs stay in step with the code: every setting is documented, every picture exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic_settings import BaseSettings

from bot.settings import BotSettings
from core.config import RedisSettings, TelegramSettings
from core.logs import LogSettings
from core.metrics import MetricsSettings
from core.quotas import QuotaSettings
from inference.animate.sadtalker.engine import SadTalkerSettings
from inference.models.store import ModelSettings
from inference.settings import RenderSettings, SigningSettings
from inference.tts.silero import SileroSettings
from worker.settings import WorkerSettings

ROOT = Path(__file__).resolve().parent.parent
SETTINGS: tuple[type[BaseSettings], ...] = (
    TelegramSettings,
    RedisSettings,
    BotSettings,
    QuotaSettings,
    WorkerSettings,
    RenderSettings,
    SigningSettings,
    SadTalkerSettings,
    SileroSettings,
    ModelSettings,
    LogSettings,
    MetricsSettings,
)
DOCS = ("README.md", "README.ru.md", ".env.example")


def variables() -> list[str]:
    names = ["GOVORUN_ID_SALT"]  # core/contract.py reads it (pydantic-settings, once)
    for settings in SETTINGS:
        prefix = str(settings.model_config.get("env_prefix", ""))
        names += [(prefix + field).upper() for field in settings.model_fields]
    return names


@pytest.mark.parametrize("doc", DOCS)
def test_every_setting_is_documented(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    missing = [name for name in variables() if not re.search(rf"\b{name}\b", text)]
    assert not missing, f"{doc} does not mention {missing}"


def test_the_readmes_are_twins() -> None:
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    russian = (ROOT / "README.ru.md").read_text(encoding="utf-8")
    assert len(re.findall(r"(?m)^#{1,3} ", english)) == len(re.findall(r"(?m)^#{1,3} ", russian))
    assert "README.ru.md" in english and "README.md" in russian
    for picture in ("bench/render.png", "docs/demo.gif", "docs/demo-frames.png", "docs/looks.png"):
        assert picture in english and picture in russian


@pytest.mark.parametrize(
    "doc", ["README.md", "README.ru.md", "docs/architecture.md", "docs/operators.md"]
)
def test_linked_files_exist(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)\)|src=\"([^\"]+)\"", text):
        path = next(t for t in target if t)
        if "://" not in path:
            assert (ROOT / doc).parent.joinpath(path).exists(), f"{doc} links to missing {path}"
