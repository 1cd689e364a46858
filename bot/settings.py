"""Bot settings, prefix ``BOT_`` (the token itself is ``BOT_TOKEN``, see core.config)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.contract import StylizedLook


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BOT_", env_file=".env", extra="ignore")

    admin_ids: list[int] = Field(default_factory=list)
    mode: Literal["polling", "webhook"] = "polling"
    webhook_base_url: str = ""  # public https://host the Bot API posts to
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr = SecretStr("")
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    max_photo_mb: float = Field(10.0, gt=0)
    max_voice_seconds: int = Field(60, ge=1, le=60)
    max_voice_mb: float = Field(5.0, gt=0)
    photo_ttl_hours: int = Field(24, ge=1)
    check_timeout_s: float = Field(30.0, gt=0)
    # Strict consent: "it is me" needs a verified face (/verify with a selfie or video note),
    # and the "I have permission" path is allowed this many times a day.
    strict_consent: bool = False
    permission_per_day: int = Field(3, ge=0)
    # A deepfake mitigation: a photo accepted with "I have permission" (another person's face)
    # is only ever drawn, in the user's /look if that is a drawing, else in permission_look.
    permission_look_required: bool = False
    permission_look: StylizedLook = "cartoon"
