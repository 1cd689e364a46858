"""The ``sadtalker`` animator: SadTalker's networks behind Govorun's animator interface.

Per photo (``prepare``): the face box SadTalker expects is cut from the framed photo using the
landmarks Govorun already found, the 3DMM coefficients are read once and cached in memory, so a
new text for the same photo skips the reconstruction. Per note (``frames``): speech → mel
windows → coefficients → frames rendered in batches and streamed to the encoder as they come.
The user's mimic level picks the preset, and the face's track (when given) adds its head turns
to SadTalker's pose, sets the blinks and scales the expressions where the face emotes.

A stylized look is applied to SadTalker's frames, not to its input: its networks are trained on
photos (a drawn face would be read worse, and the sync with it), and its renderer invents the
whole face each frame, the mouth's inside included, so only its output can be made to match
the look. The look is fitted once to the photo's face crop (its tones, paper, canvas) and each
256 px frame is drawn with it before it is scaled to the note.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from inference.animate.looks import Look, Restyle, fit_look
from inference.animate.sadtalker import glue
from inference.animate.sadtalker.glue import FloatArray, Image, LruCache
from inference.animate.sadtalker.home import SadTalkerUnavailable, check_home
from inference.animate.track import Track
from inference.models import ModelStore
from inference.provenance import FrameMarker

if TYPE_CHECKING:
    # inference.face loads dlib's models and inference.media PyAV (imported in `frames`): the
    # settings and `drive` do without, so the random-weights benchmark runs on a bare GPU.
    from inference.animate.base import Performance
    from inference.face.framing import FramedPhoto

CHECKPOINT = "sadtalker-256"
MAPPING = "sadtalker-mapping-00229"  # the MappingNet SadTalker pairs with the crop preprocess


class SadTalkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SADTALKER_", env_file=".env", extra="ignore")

    home: Path | None = Field(None, description="folder holding SadTalker's src/ (upstream)")
    batch_size: int = Field(32, ge=1, le=256, description="frames rendered per GPU call")
    # Upstream renders in fp32. Half precision stays off until `govorun bench --engine sadtalker
    # --random-weights` on a GPU shows it safe: no NaN or inf, PSNR >= 35 dB against fp32.
    fp16: bool = False
    device: str = "cuda"
    photo_cache: int = Field(64, ge=0, description="photos whose coefficients stay in memory")


class Nets(Protocol):
    """What the engine needs from SadTalker's networks (``upstream.UpstreamNets``)."""

    lm3d: npt.NDArray[np.float64]  # the five reference points of SadTalker's 3D face
    size: int  # the face renderer's resolution: 256 for the checkpoint Govorun uses

    def reconstruct(self, aligned: Image) -> FloatArray: ...

    def mel(self, samples: FloatArray) -> FloatArray: ...

    def motion(
        self,
        mels: FloatArray,
        reference: FloatArray,
        blink: FloatArray,
        pose_style: int,
        seed: int,
    ) -> FloatArray: ...

    def prepare(self, face: Image, semantics: FloatArray) -> Any: ...

    def render(self, source: Any, targets: FloatArray) -> FloatArray: ...


@dataclass(frozen=True)
class PhotoFace:
    """What SadTalker keeps of a photo: the 256 px face crop and its 73 coefficients."""

    face: Image
    coeffs: FloatArray
    landmarks: FloatArray  # in face-crop pixels at the renderer's size


class SadTalkerAnimator:
    name = "sadtalker"
    fps: int | None = glue.FPS

    def __init__(
        self,
        nets: Nets,
        *,
        batch_size: int,
        model_id: str = CHECKPOINT,
        photo_cache: int = 64,
    ) -> None:
        self.nets = nets
        self.batch_size = batch_size
        self.model_id = model_id
        self.photos: LruCache[PhotoFace] = LruCache(photo_cache)

    def prepare(
        self, photo: FramedPhoto, job_id: str, look: Look | None = None
    ) -> SadTalkerAnimation:
        face = self._photo_face(photo)
        restyle = None
        if look is not None and look.restyle is not None:
            from inference.face.framing import FramedPhoto  # dlib: never on the bench's path

            crop = FramedPhoto(face.face, face.landmarks, photo.scale)
            restyle = fit_look(look.name, crop).restyle
        return SadTalkerAnimation(self, face, job_id, photo.image.shape[0], restyle)

    def _photo_face(self, photo: FramedPhoto) -> PhotoFace:
        height, width = photo.image.shape[:2]
        x0, y0, x1, y1 = glue.face_crop(photo.landmarks, width, height)
        size = self.nets.size
        crop = photo.image[y0:y1, x0:x1]
        face = np.asarray(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA), np.uint8)
        scale = np.array([size / (x1 - x0), size / (y1 - y0)], np.float32)
        landmarks = ((np.asarray(photo.landmarks, np.float32) - (x0, y0)) * scale).astype(
            np.float32
        )
        key = glue.photo_key(face, self.model_id)
        cached = self.photos.get(key)
        if cached is not None:
            return cached
        aligned, params = glue.align_for_reconstruction(face, landmarks, self.nets.lm3d)
        coeffs = glue.photo_coeffs(self.nets.reconstruct(aligned), params)
        result = PhotoFace(face, coeffs, landmarks)
        self.photos.put(key, result)
        return result


class SadTalkerAnimation:
    def __init__(
        self,
        engine: SadTalkerAnimator,
        photo: PhotoFace,
        job_id: str,
        size: int,
        restyle: Restyle | None = None,
    ):
        self.engine = engine
        self.photo = photo
        self.size = size
        self.restyle = restyle
        # The face crop fills the note: its landmarks, scaled to the note, guide the mark.
        self.marker = FrameMarker(job_id, photo.landmarks * (size / photo.face.shape[0]))

    def frames(self, performance: Performance) -> Iterator[Image]:
        if performance.fps != glue.FPS:
            raise ValueError(f"SadTalker renders at {glue.FPS} fps, not {performance.fps}")
        speech = performance.speech
        from inference.media.audio import resample

        engine, photo = self.engine, self.photo
        samples = resample(speech.samples, speech.sample_rate, glue.AUDIO_RATE)
        # The user's mimic level picks the preset, per note, as warp reads it too.
        batches = drive(
            engine.nets,
            photo.face,
            photo.coeffs,
            samples,
            batch_size=engine.batch_size,
            preset=glue.preset_for(performance.mimic),
            seed=performance.seed,
            track=performance.track,
        )
        for rendered in batches:
            for frame in glue.to_frames(rendered, engine.nets.size):
                yield self._finish(frame)

    def _finish(self, frame: Image) -> Image:
        if self.restyle is not None:
            frame = self.restyle(frame, (0, 0))
        if frame.shape[0] != self.size:
            size = (self.size, self.size)
            frame = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_LANCZOS4), np.uint8)
        return self.marker(frame)


def drive(
    nets: Nets,
    face: Image,
    coeffs: FloatArray,
    samples: FloatArray,
    *,
    batch_size: int,
    preset: glue.Preset,
    seed: int,
    track: Track | None = None,
) -> Iterator[FloatArray]:
    """SadTalker's networks on one note: 16 kHz speech in, rendered batches out.

    Each batch is ``batch_size`` consecutive frames (the last one fewer), (n, 3, size, size) in
    [0, 1]. ``face`` and ``coeffs`` are the photo's (``PhotoFace``); a ``track`` (the face's
    nods, blinks and emotions) rides on SadTalker's own motion.
    """
    samples = glue.whole_frames(samples)
    count = glue.video_frames(len(samples))
    if count == 0:
        return
    mels = glue.mel_windows(nets.mel(samples), count)
    if track is None:
        blink = glue.blink_ratio(count, np.random.default_rng(seed))
    else:
        # The track's blinks, not random ones: both animators blink on the same words.
        track = glue.fit_track(track, count)
        blink = glue.track_blinks(track)
    reference = glue.reference_coeffs(coeffs, count)
    generated = nets.motion(mels, reference, blink, preset.pose_style, seed)
    driving = glue.driving_coeffs(generated, coeffs, preset, track)
    source = nets.prepare(face, glue.source_semantics(coeffs))
    for start in range(0, count, batch_size):
        stop = min(start + batch_size, count)
        yield nets.render(source, glue.target_windows(driving, start, stop))


def load_sadtalker(
    store: ModelStore, settings: SadTalkerSettings | None = None
) -> SadTalkerAnimator:
    """SadTalker on its GPU, from SADTALKER_HOME and the verified checkpoints in ``store``.

    Raises ``ModelMissing`` (naming the download command) or ``SadTalkerUnavailable``.
    """
    settings = settings or SadTalkerSettings()
    home = settings.home
    check_home(home)
    assert home is not None  # checked above
    checkpoint, mapping = store.require(CHECKPOINT), store.require(MAPPING)
    from inference.animate.sadtalker.upstream import UpstreamNets

    nets = UpstreamNets(home, checkpoint, mapping, device=settings.device, fp16=settings.fp16)
    return SadTalkerAnimator(
        nets, batch_size=settings.batch_size, photo_cache=settings.photo_cache
    )


def sadtalker_missing(store: ModelStore, settings: SadTalkerSettings | None = None) -> str | None:
    """Why SadTalker cannot run here (the first reason), or None when it can.

    The cheap checks come first: most hosts have no SADTALKER_HOME and never import torch.
    """
    import importlib.util

    settings = settings or SadTalkerSettings()
    try:
        check_home(settings.home)
    except SadTalkerUnavailable as error:
        return str(error)
    for name in (CHECKPOINT, MAPPING):
        if not store.is_present(name):
            return f"weights missing: govorun models download {name}"
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed (pip install 'govorun[neural]')"
    import torch

    if settings.device.startswith("cuda") and not torch.cuda.is_available():
        return "no CUDA device"
    return None
