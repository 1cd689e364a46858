"""The worker's public contract: what the bot may import (no heavy imports here).

The bot enqueues ``JOB_NAME`` with one argument, a ``RenderJob`` dumped to a dict. Blobs
(photo, voice) travel through Redis under keys declared in ``core.keys``, never inside the
job, so the queue stays small and the blobs expire on their own.
"""

from __future__ import annotations

import functools
import hashlib
import socket
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from core import keys
from inference.tts.voices import ESPEAK_VOICES

if TYPE_CHECKING:
    from inference.settings import RenderSettings

JOB_NAME = "render_note"
CHECK_JOB_NAME = "check_photo"
QUEUE_NAME = keys.QUEUE()
CHECK_QUEUE_NAME = keys.CHECK_QUEUE()  # quick face checks never wait behind renders

# How lively the face is, calm by default: ``inference.animate.track.MIMIC_LEVELS`` repeated
# here so the bot imports no numpy (tests/test_locales.py keeps the two equal).
MimicLevel = Literal["calm", "lively"]
MIMIC_LEVELS: tuple[MimicLevel, ...] = ("calm", "lively")
# How the face is drawn: the photo itself, or a stylized picture of it
# (``inference.animate.looks.LOOKS``, kept equal by tests/test_look_choice.py).
LookName = Literal["photo", "cartoon", "sketch", "painting"]
StylizedLook = Literal["cartoon", "sketch", "painting"]
LOOKS: tuple[LookName, ...] = ("photo", "cartoon", "sketch", "painting")


class RenderJob(BaseModel):
    job_id: str
    chat_id: int
    user_id: int
    request_message_id: int
    status_message_id: int
    photo_key: str
    text: str | None = None
    audio_key: str | None = None
    voice: str | None = None
    mimic: MimicLevel = "calm"  # jobs queued before the field existed parse as calm
    look: LookName = "photo"  # likewise, as the photo
    language: str = "ru"
    estimated_seconds: float = Field(0.0, ge=0.0)


OutcomeKind = Literal["sent", "duplicate", "expired", "refused", "timeout", "blocked", "failed"]


class JobOutcome(BaseModel):
    """How a render job ended: what ``render_note`` returns, logs and counts.

    ``kind`` is low-cardinality (log field, metric label); ``refusal`` is the error code of a
    refused job; ``notes`` how many notes were sent.
    """

    kind: OutcomeKind
    notes: int = 0
    refusal: str | None = None

    @property
    def delivered(self) -> bool:
        return self.kind in ("sent", "duplicate")

    def __str__(self) -> str:
        if self.kind == "sent":
            return f"sent {self.notes}"
        return f"refused: {self.refusal}" if self.kind == "refused" else self.kind


class VoiceInfo(BaseModel):
    id: str
    name: str


class WorkerAnnouncement(BaseModel):
    """A live worker's heartbeat (``keys.WORKERS``): its engines, capacity and voices."""

    engines: dict[str, str]
    max_jobs: int
    voices: list[VoiceInfo]


class PhotoCheck(BaseModel):
    """The answer to ``CHECK_JOB_NAME``: a face was found, or the refusal's code and params.

    ``embedding`` is the face's 128-d dlib descriptor (for consent, strict mode, blocklist);
    for a video (a verification video note) it is the mean over several frames.
    """

    ok: bool
    error: str | None = None
    params: dict[str, int | float | str] = Field(default_factory=dict)
    embedding: list[float] | None = None


# Same person below, different people above: measured on the shared fixture faces, where one
# person's photos lie 0.07–0.40 apart and different people 0.76–0.88 (dlib suggests 0.6).
FACE_MATCH_THRESHOLD = 0.55


def face_distance(a: list[float], b: list[float]) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5)


def user_ref(user_id: int) -> str:
    """A salted hash of a user id, for records that outlive /delete (bans, quotas, audit).

    The salt (``GOVORUN_ID_SALT``) keeps the small space of Telegram ids from being
    enumerated back out of the hashes; set it once per deployment and keep it.
    """
    return hashlib.sha256(f"{_id_salt()}:{user_id}".encode()).hexdigest()[:24]


@functools.cache
def _id_salt() -> str:
    """``GOVORUN_ID_SALT`` from the environment or ``.env``, read once per process."""
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class IdSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="GOVORUN_", env_file=".env", extra="ignore")
        id_salt: str = "govorun"

    return IdSettings().id_salt


def job_id_for(chat_id: int, message_id: int) -> str:
    """Derived from the request, so a repeated update maps to the same job (arq dedupes).

    Salted, so the id a note carries (metadata, watermark) reveals nothing and cannot be
    computed by someone who knows a chat and a message number.
    """
    digest = hashlib.sha256(f"{_id_salt()}:{chat_id}:{message_id}".encode()).hexdigest()[:20]
    return f"note-{digest}"


def check_text(text: str, limits: RenderSettings) -> float:
    """Refuse an empty or over-long text before anything is queued; the estimated seconds.

    Pure Python (the text stage, imported here so the contract stays light, and the render
    limits the worker reads from the same ``RENDER_`` settings); raises ``RenderError``.
    """
    from inference.text import estimate_duration, plan_notes

    chunks = plan_notes(
        text,
        max_seconds=limits.max_note_seconds,
        max_notes=limits.max_notes,
        rate=limits.speech_rate,
    )
    return sum(estimate_duration(chunk, limits.speech_rate) for chunk in chunks)


# The default engine's voices, for the bot's /voice keyboard (id -> display name).
VOICES = ESPEAK_VOICES


HEALTH_CHECK_INTERVAL_S = 15


def health_check_key(queue: str, host: str | None = None) -> str:
    """arq's health key, one per host: a shared one is deleted by any worker that stops and
    written only once per interval, so scaled workers would look dead for a while. It lives
    here so that ``govorun worker --check`` answers without importing the engines."""
    return keys.HEALTH(queue=queue, host=host or socket.gethostname())
