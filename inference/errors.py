"""Typed refusals of the render pipeline.

Every refusal carries a stable ``code`` that the bot maps to a localized message, and a few
``params`` (limits, counts) that message may quote. Neither ever holds user content: no text,
no photo bytes, no file names.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    IMAGE_UNREADABLE = "image_unreadable"
    IMAGE_TOO_LARGE = "image_too_large"
    IMAGE_ANIMATED = "image_animated"
    NO_FACE = "no_face"
    MANY_FACES = "many_faces"
    FACE_TOO_SMALL = "face_too_small"
    FACE_BLOCKED = "face_blocked"
    TEXT_EMPTY = "text_empty"
    TEXT_TOO_LONG = "text_too_long"
    AUDIO_UNREADABLE = "audio_unreadable"
    AUDIO_TOO_LONG = "audio_too_long"
    AUDIO_TOO_SHORT = "audio_too_short"
    AUDIO_SILENT = "audio_silent"
    VOICE_UNKNOWN = "voice_unknown"
    ENGINE_UNAVAILABLE = "engine_unavailable"


class RenderError(Exception):
    """A refusal with a stable code; ``params`` hold only numbers and identifiers."""

    def __init__(self, code: ErrorCode, **params: int | float | str) -> None:
        self.code = code
        self.params = params
        detail = ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
        super().__init__(f"{code.value}" + (f" ({detail})" if detail else ""))
