"""Render settings, read from the environment (prefix ``RENDER_``) or a ``.env`` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class RenderSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENDER_", env_file=".env", extra="ignore")

    tts_engine: Literal["auto", "espeak", "silero"] = "auto"
    animator: Literal["auto", "warp", "sadtalker"] = "auto"
    voice: str = "ru-male"
    speech_rate: float = Field(1.0, ge=0.5, le=2.0)
    size: int = Field(640, ge=240, le=640)
    fps: int = Field(25, ge=10, le=30)  # the warp animator's; SadTalker always makes 25
    # Telegram's limit is 60 s; a little headroom covers the estimate's error.
    max_note_seconds: float = Field(55.0, gt=1.0, le=60.0)
    max_notes: int = Field(3, ge=1, le=10)
    max_audio_seconds: float = Field(60.0, gt=1.0, le=60.0)
    max_image_pixels: int = Field(40_000_000, ge=1_000_000)
    min_face_px: int = Field(80, ge=32)
    crf: int = Field(26, ge=16, le=35)
    preset: str = "veryfast"


class SigningSettings(BaseSettings):
    """How notes are signed with C2PA Content Credentials (prefix ``C2PA_``).

    ``cert`` and ``key`` are the operator's, from a certificate authority: each a PEM file's path
    or the PEM itself. Without them the installation issues its own (kept in Redis for workers,
    in ``identity_file`` for the command line).
    """

    model_config = SettingsConfigDict(env_prefix="C2PA_", env_file=".env", extra="ignore")

    cert: str | None = None  # the signing certificate, then its issuers
    key: SecretStr | None = None
    identity_file: Path = Path("~/.local/share/govorun/c2pa-identity.pem")
    trust_anchors: str | None = None  # root certificates `govorun verify` trusts besides ours
