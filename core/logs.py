"""Log setup for the services (``LOG_LEVEL``, ``LOG_FORMAT``): plain text or one JSON per line.

Context travels as ``extra=``: only the fields in :data:`FIELDS` are written, so a stray
attribute never carries user content into a log line. What may go there is ids and numbers
(a job id is a salted hash, see ``core.contract.job_id_for``), never texts, chat ids,
photos or the token; the token is also scrubbed from every line, should a library print it.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

FIELDS = ("job_id", "stage", "duration_s", "engine", "outcome")
_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_REDACTED = "[redacted]"
_ARQ_JOB_START = "%6.2fs → %s(%s)%s"  # arq.worker's line for a started job, with its arguments


class LogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOG_", env_file=".env", extra="ignore")

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = Field("text", description="json: for log collectors")


def configure_logging(
    settings: LogSettings | None = None, *, secrets: tuple[str, ...] = ()
) -> logging.Handler:
    """Replace the root handlers with one on stderr in the chosen format; returns it."""
    settings = settings or LogSettings()
    shown = tuple(s for s in secrets if s)
    formatter = JsonFormatter(shown) if settings.format == "json" else TextFormatter(shown)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    arq = logging.getLogger("arq.worker")
    if not any(isinstance(f, HideJobArguments) for f in arq.filters):
        arq.addFilter(HideJobArguments())
    return handler


class HideJobArguments(logging.Filter):
    """arq logs the start of every job with its arguments, which begin with chat and user ids
    (a render job's payload) or a key naming the user (a photo check): they are dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.msg == _ARQ_JOB_START and isinstance(args, tuple) and len(args) == 4:
            record.args = (args[0], args[1], "…", args[3])
        return True


def context(record: logging.LogRecord) -> dict[str, object]:
    """The :data:`FIELDS` a record was given through ``extra=``."""
    return {name: record.__dict__[name] for name in FIELDS if name in record.__dict__}


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value …``."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(_TEXT)
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = " ".join(f"{key}={value}" for key, value in context(record).items())
        return _scrub(f"{line} {extras}" if extras else line, self._secrets)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the context fields, exc."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **context(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return _scrub(json.dumps(entry, ensure_ascii=False, default=str), self._secrets)


def _scrub(line: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        line = line.replace(secret, _REDACTED)
    return line


def configure_service_logging() -> logging.Handler:
    """For the bot and the worker: ``LOG_*`` from the environment, the bot token scrubbed."""
    from core.config import TelegramSettings

    token = TelegramSettings().bot_token.get_secret_value()
    return configure_logging(LogSettings(), secrets=(token, token.partition(":")[2]))
