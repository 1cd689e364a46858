"""The render pipeline, wired in one place: text → normalize → TTS → face → animate → encode.

Every stage is a plain function or a small engine object; this module only orders them, times
them and names the outputs. Checks come first, so a refused request costs almost nothing: the
text is planned (and an over-long one refused) before the photo is even decoded, and the photo
is checked before any speech is synthesized.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from inference import __version__
from inference.animate.base import Animation, Animator, Performance
from inference.animate.drive import build_track
from inference.animate.looks import LOOKS, fit_look
from inference.animate.track import MIMIC_LEVELS
from inference.engines import create_animator, create_tts
from inference.errors import ErrorCode, RenderError
from inference.face import FaceAnalyzer, frame_square, load_image
from inference.media import NoteEncoder, load_audio
from inference.provenance import NoteSigner, VisibleMark, issue_identity
from inference.settings import RenderSettings
from inference.text import emoji_moods, estimate_duration, plan_notes, read_script
from inference.tts.base import Speech, TTSEngine

STAGES = ("normalize", "face", "tts", "animate", "encode")
_VOICE_RATE = 48000
_NOTE_LIMIT_S = 60.0  # Telegram's hard limit for one video note


class RenderCancelled(Exception):
    """The caller stopped the render (a worker shutting down); nothing was written."""


class Progress:
    """Stage notifications and a stop flag; the worker subclasses it to update the user."""

    def __init__(self) -> None:
        self.cancelled = threading.Event()

    def stage(self, name: str) -> None:
        """Called on the render's thread as ``speech``, ``animation`` and ``encoding`` start."""

    def planned(self, notes: int) -> None:
        """Called once the text is planned: how many notes it became (re-splits may add)."""


@dataclass(frozen=True)
class RenderedNote:
    path: Path
    duration: float
    frames: int


@dataclass
class RenderResult:
    notes: list[RenderedNote]
    engines: dict[str, str]
    job_id: str
    timings: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    @property
    def duration(self) -> float:
        return sum(note.duration for note in self.notes)


class Renderer:
    """Holds the loaded engines; ``render`` may be called many times (warm worker)."""

    def __init__(
        self,
        settings: RenderSettings | None = None,
        *,
        tts: TTSEngine | None = None,
        analyzer: FaceAnalyzer | None = None,
        animator: Animator | None = None,
        signer: NoteSigner | None = None,
    ) -> None:
        self.settings = settings or RenderSettings()
        # Every note is signed; without an identity of the caller's, by a throwaway one.
        self.signer = signer or NoteSigner(issue_identity(), __version__)
        self.tts = tts or create_tts(self.settings.tts_engine)
        self.animator = animator or create_animator(self.settings.animator)
        self.analyzer = analyzer or FaceAnalyzer(min_face_px=self.settings.min_face_px)

    @property
    def engines(self) -> dict[str, str]:
        return {"tts": self.tts.name, "animator": self.animator.name}

    @property
    def fps(self) -> int:
        """The notes' frame rate: the animator's own where it is bound to one."""
        return self.animator.fps or self.settings.fps

    def render(
        self,
        photo: bytes,
        output: Path,
        *,
        text: str | None = None,
        audio: bytes | None = None,
        voice: str | None = None,
        metadata: dict[str, str] | None = None,
        seed: int = 0,
        progress: Progress | None = None,
        job_id: str | None = None,
        mark_label: str = "ИИ",
        mimic: str = "calm",
        look: str = "photo",
    ) -> RenderResult:
        """Render one note, or a numbered series when the text needs more than one.

        Exactly one of ``text`` and ``audio`` is given. Outputs appear only when complete.
        ``progress`` hears each stage as it starts and may stop the render between frames.
        ``mimic`` is how lively the face is, one of ``MIMIC_LEVELS``; ``look`` how the face is
        drawn, one of ``LOOKS`` (the photo itself, or a stylized picture of it).
        """
        if mimic not in MIMIC_LEVELS:
            raise ValueError(f"mimic must be one of {MIMIC_LEVELS}")
        if look not in LOOKS:
            raise ValueError(f"look must be one of {LOOKS}")
        progress = progress or Progress()
        if (text is None) == (audio is None):
            raise ValueError("give either text or audio")
        cfg = self.settings
        job_id = job_id or f"note-{secrets.token_hex(10)}"  # CLI renders have no queue job
        result = RenderResult(notes=[], engines=self.engines, job_id=job_id)
        metadata = {**provenance_metadata(job_id), **(metadata or {})}
        timings = result.timings
        with _timed(timings, "normalize"):
            chunks = self._plan(text) if text is not None else []
            # Emoji are gone from the chunks: their moods are read from the text as written.
            moods = emoji_moods(text) if text is not None else ()
        progress.planned(len(chunks) if text is not None else 1)
        if audio is not None:
            with _timed(timings, "tts"):
                recording = self._voice_message(audio)
            result.engines["tts"] = "voice"
        with _timed(timings, "face"):
            image = load_image(photo, max_pixels=cfg.max_image_pixels)
            framed = frame_square(image, self.analyzer.find_face(image), cfg.size)
            style = fit_look(look, framed)  # once: the frames move the stylized picture
            animation = self.animator.prepare(framed, job_id, style)
            badge = VisibleMark(cfg.size, mark_label, style.badge)
        progress.stage("speech")
        with _timed(timings, "tts"):
            spoken = [(recording, None)] if audio is not None else self._speak(chunks, voice)
        progress.stage("animation")
        try:
            for index, (speech, chunk) in enumerate(spoken):
                path = _note_path(output, index, len(spoken))
                script = read_script(chunk, moods) if chunk is not None else None
                with _timed(timings, "animate"):
                    track = build_track(speech, self.fps, seed + index, script, mimic)
                performance = Performance(speech, self.fps, seed + index, track, mimic)
                sign = partial(self.signer.sign, job_id=job_id, engines=result.engines)
                note = self._animate_and_encode(
                    animation, badge, performance, path, metadata, sign, timings, progress
                )
                result.notes.append(note)
        except BaseException:
            # A series is delivered whole or not at all.
            for note in result.notes:
                note.path.unlink(missing_ok=True)
            raise
        return result

    def _voice_message(self, audio: bytes) -> Speech:
        limit = self.settings.max_audio_seconds
        return Speech(load_audio(audio, sample_rate=_VOICE_RATE, max_seconds=limit), _VOICE_RATE)

    def _speak(self, chunks: list[str], voice: str | None) -> list[tuple[Speech, str | None]]:
        """Synthesize each planned chunk (returned beside its speech); one that came out
        longer than a note is re-split.

        The plan rests on an estimate, so the real length is checked before any frame is made.
        """
        cfg = self.settings
        # A voice this engine does not have (chosen under another engine) means its default.
        known = {v.id for v in self.tts.voices()}
        voice = next((v for v in (voice, cfg.voice) if v in known), None)
        speeches: list[tuple[Speech, str | None]] = []
        pending = list(chunks)
        while pending:
            chunk = pending.pop(0)
            speech = self.tts.synthesize(chunk, voice, cfg.speech_rate)
            if speech.duration > _NOTE_LIMIT_S:
                estimate = estimate_duration(chunk, cfg.speech_rate)
                target = estimate * cfg.max_note_seconds / speech.duration
                pending[:0] = plan_notes(chunk, max_seconds=target, max_notes=cfg.max_notes)
                continue
            speeches.append((speech, chunk))
            if len(speeches) + len(pending) > cfg.max_notes:
                raise RenderError(
                    ErrorCode.TEXT_TOO_LONG,
                    max_notes=cfg.max_notes,
                    max_seconds=int(cfg.max_note_seconds),
                )
        return speeches

    def _plan(self, text: str) -> list[str]:
        cfg = self.settings
        return plan_notes(
            text, max_seconds=cfg.max_note_seconds, max_notes=cfg.max_notes, rate=cfg.speech_rate
        )

    def _animate_and_encode(
        self,
        animation: Animation,
        badge: VisibleMark,
        performance: Performance,
        path: Path,
        metadata: dict[str, str] | None,
        sign: Callable[[Path], None],
        timings: dict[str, float],
        progress: Progress,
    ) -> RenderedNote:
        cfg, fps = self.settings, self.fps
        speech = performance.speech
        encoder = NoteEncoder(
            path,
            size=cfg.size,
            fps=fps,
            audio=speech.samples,
            sample_rate=speech.sample_rate,
            metadata=metadata,
            crf=cfg.crf,
            preset=cfg.preset,
            seal=sign,
        )
        # Frames are made on this thread while the encoder's thread compresses earlier ones;
        # time spent handing frames over (when the encoder lags) counts as encoding.
        count = 0
        with encoder:
            frames = animation.frames(performance)
            while True:
                if progress.cancelled.is_set():
                    raise RenderCancelled
                started = time.perf_counter()
                frame = next(frames, None)
                if frame is None:
                    break
                frame = badge.apply(frame)
                handed = time.perf_counter()
                encoder.write(frame)
                timings["animate"] += handed - started
                timings["encode"] += time.perf_counter() - handed
                count += 1
            progress.stage("encoding")
            flush_started = time.perf_counter()
        timings["encode"] += time.perf_counter() - flush_started
        return RenderedNote(path, count / fps, count)


def provenance_metadata(job_id: str) -> dict[str, str]:
    """MP4 tags saying the video is synthetic and which job made it."""
    return {
        "title": "Govorun video note",
        "comment": f"AI-generated (synthetic) video. Made by Govorun, job {job_id}.",
        "description": "synthetic",
    }


def _note_path(output: Path, index: int, total: int) -> Path:
    if total == 1:
        return output
    return output.with_name(f"{output.stem}-{index + 1}of{total}{output.suffix}")


@contextmanager
def _timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] += time.perf_counter() - started
