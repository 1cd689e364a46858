"""Settings shared by the bot and the worker: one class per environment prefix."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class TelegramSettings(BaseSettings):
    """``BOT_TOKEN`` and, for a local Bot API server, ``TELEGRAM_API_BASE``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    bot_token: SecretStr = Field(SecretStr(""), validation_alias="BOT_TOKEN")
    telegram_api_base: str | None = Field(None, validation_alias="TELEGRAM_API_BASE")


class RedisSettings(BaseSettings):
    """``REDIS_URL``: the one Redis that every bot replica and worker share."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
