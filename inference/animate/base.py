"""The animator interface: a framed photo in, frames of that face speaking out.

Two engines implement it: ``warp`` (CPU, embedded, always there) and ``sadtalker`` (GPU, the
neural extra). The pipeline only calls ``prepare`` once per photo and ``frames`` once per note.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from inference.animate.looks import Look
from inference.animate.track import Track
from inference.face.framing import FramedPhoto
from inference.tts.base import Speech

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Performance:
    """What the face does in one note: say ``speech`` at ``fps`` frames a second.

    ``track`` is the face's performance (``inference.animate.drive.build_track``): head, brows,
    smile, blinks, and for ``warp`` the lips; None means one made from the speech. ``mimic``
    (one of ``MIMIC_LEVELS``) is how lively the face is; the track already carries it, an
    engine with its own motion model scales that by it too. ``seed`` makes it repeatable.
    """

    speech: Speech
    fps: int
    seed: int = 0
    track: Track | None = None
    mimic: str = "calm"


class Animation(Protocol):
    """One photo, ready to speak."""

    def frames(self, performance: Performance) -> Iterator[Image]:
        """RGB frames, ``size`` × ``size``, one per 1/fps of the speech."""
        ...


class Animator(Protocol):
    name: str
    fps: int | None
    """The frame rate the engine is bound to, or None when it follows the settings."""

    def prepare(self, photo: FramedPhoto, job_id: str, look: Look | None = None) -> Animation:
        """Read the face once; ``job_id`` is for the invisible watermark in every frame.

        ``look`` is the style fitted to ``photo`` (``looks.fit_look``); None is the photo. Every
        frame, the mouth's inside included, comes out in that look.
        """
        ...
