"""Invisible watermark: the job id, hidden in the picture, read back from any copy of a note.

Spread spectrum on a grid of "chips". The frame is cut into ``GRID``×``GRID`` cells (fractions
of the frame, not pixels, so a rescaled copy reads the same). Every chip belongs to one bit of
the codeword, interleaved pseudo-randomly so each bit is spread over the whole picture, and
carries ±1 times a fixed pseudo-random sign. The chip map is upsampled smoothly and added to
the luminance, shaped by a texture mask (more in busy areas, about one level on flat ones).

Detection is blind: average the frames, take each chip's mean luminance, subtract its
prediction from the eight neighbours (the picture's smooth part cancels out), pass that through
a limiter that ignores strong edges, multiply by the chip's sign and average per bit. The
embedder runs the same detector on the photo itself, so it knows how far each bit is already
pushed one way or the other by the picture ("host interference") and adds only as much pattern
as each bit needs to reach a common margin (improved spread spectrum, solved by a few Newton
steps on the real image). Without that the photo's own texture swamps a mark this faint; with
it, PSNR stays above 40 dB and the mark still survives harsh re-encoding.

Why chips of 1/96 of the frame (6.7 px at 640, 2.5 px at 240): finer grids give each bit more
chips (~39 of the 9216 per code bit) and less host interference, coarser ones survive
compression better; of 48–128, 96 was the best compromise measured over 240–640 notes and
re-encodes down to ~35 kbit/s. Why luminance only: yuv420p keeps luma
at full resolution and codecs spend their bits there. Why the whole frame and not just the
background: the animator re-warps the head per frame but carries the mark along, and the
frame average smooths out what motion disturbs.

The codeword is the 80-bit job id plus CRC-32, convolutionally encoded (K = 7, rate 1/2, the
usual 171/133 pair) and whitened with a fixed sequence. Soft Viterbi decoding corrects the
scattered weak bits a harsh re-encode leaves (tens of the 236); the CRC then rejects anything
that is not a mark we made: an unmarked or flat video decodes to None, with a false-accept
chance of 2^-32.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Final, cast

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]

PAYLOAD_BITS: Final = 80
CHECK_BITS: Final = 32
_GENERATORS = (0o171, 0o133)  # convolutional code, K = 7, rate 1/2
_MEMORY = 6
_STATES = 1 << _MEMORY
CODE_BITS: Final = 2 * (PAYLOAD_BITS + CHECK_BITS + _MEMORY)
GRID: Final = 96
_SEED: Final = 0x607EC0DE  # fixed forever: changing it orphans every mark already out there
_JOB_ID = re.compile(r"note-([0-9a-f]{20})")

# Embedding strength. Each bit's statistic is pushed to a common margin (luma levels); the
# margin starts at _TARGET and is steered so the mark uses the energy budget _MAX_RMS, no more.
# A bit fighting very strong host interference gets at most _MAX_GAIN and is left to the
# decoder rather than burning the budget.
_TARGET = 0.6
_MAX_GAIN = 12.0
_MAX_RMS = 2.4  # luma levels: PSNR ≥ 20·log10(255 / 2.4) ≈ 40.5 dB
_ITERATIONS = 8  # Newton steps: the limiter, clipping and cross-talk are not linear
# Texture mask: local luma std at which the pattern reaches full strength, and its range.
_MASK_REF = 6.0
_MASK_MIN = 0.2
_MASK_MAX = 2.0
_MASK_SIDE = 160  # the mask is computed at this resolution: it only needs to be smooth
_PEAK = 5.0  # peak change per unit of mask: 1 level on flat areas, 10 in busy ones
# The detector. The predictor (edge neighbours ½, corners -¼) is exact on any quadratic
# surface, so shading and gradients leave nothing; it leaves half the picture a plain
# neighbour mean does, and that leftover is what the mark has to outshout. The limiter's
# scale: chip residuals well beyond it sit on edges and are mostly picture.
_PREDICTOR = np.array([[-1, 2, -1], [2, 0, 2], [-1, 2, -1]], np.float32) / 4
_EDGE = 4.0


class _Layout:
    """The fixed secret geometry: which code bit each chip carries, and its sign."""

    def __init__(self) -> None:
        rng = np.random.default_rng([_SEED, GRID])
        self.bit_of_chip = (rng.permutation(GRID * GRID) % CODE_BITS).reshape(GRID, GRID)
        self.sign = rng.choice(np.array([-1.0, 1.0], np.float32), size=(GRID, GRID))
        self.counts = np.bincount(self.bit_of_chip.ravel(), minlength=CODE_BITS)
        self.whitening = rng.integers(0, 2, size=CODE_BITS, dtype=np.uint8)


@lru_cache(maxsize=1)
def _layout() -> _Layout:
    return _Layout()


def embed(image: Image, job_id: str) -> Image:
    """A copy of the square RGB ``image`` carrying ``job_id`` (``note-`` + 20 hex digits)."""
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] != image.shape[1]:
        raise ValueError("expected a square RGB image")
    size = image.shape[0]
    layout = _layout()
    polarity = 1.0 - 2.0 * _codeword(job_id).astype(np.float32)  # bit 0 → +1, bit 1 → -1
    along = polarity[layout.bit_of_chip] * layout.sign  # each chip's sign for its bit's value
    pixels = image.astype(np.float32)
    luma = _luma(pixels)
    host = _residual(_chip_means(luma))
    # Chips on strong edges are ignored by the detector's limiter: spend nothing there.
    unit = along * np.clip(_slope(host), 0.0, 1.0)
    texture = _texture(luma)
    shape = texture / np.sqrt(np.mean(texture * texture))  # where the energy goes
    # Per-pixel bounds: ~1 level on flat areas, more in texture, and never past 0 or 255 in
    # any channel (all three move together, so hue is kept and the luma change is exact).
    red, green, blue = (image[..., c] for c in range(3))
    darkest = np.minimum(np.minimum(red, green), blue).astype(np.float32)
    brightest = np.maximum(np.maximum(red, green), blue).astype(np.float32)
    low = np.maximum(-texture * _PEAK, -darkest)
    high = np.minimum(texture * _PEAK, 255.0 - brightest)
    response = _residual(_chip_means(_pattern(unit, shape))) * along

    gain = np.zeros(CODE_BITS, np.float32)
    target = _TARGET
    delta = np.zeros_like(luma)
    residual = host
    rms = 0.0
    for _ in range(_ITERATIONS):
        stat = _bit_means(_limit(residual) * layout.sign) * polarity
        slope = _bit_means(_slope(residual) * np.maximum(response, 0.0))
        gain = np.clip(gain + (target - stat) / np.maximum(slope, 0.05), 0.0, _MAX_GAIN)
        delta = np.clip(_pattern(gain[layout.bit_of_chip] * unit, shape), low, high)
        residual = _residual(_chip_means(luma + delta))
        # Steer the margin to the energy budget: a photo with little host interference to
        # fight gets a sturdier mark, a busy one a fainter mark but never a visible one.
        rms = float(cv2.norm(delta)) / size
        target *= float(np.clip(_MAX_RMS / max(rms, 1e-3), 0.8, 1.25))
    if rms > _MAX_RMS:
        delta *= _MAX_RMS / rms
    # One rounded step for all three channels: the change stays pure luminance. The bounds
    # above are whole levels, so no channel leaves 0..255. Rounding can add energy (0.6
    # becomes 1), so the budget is checked again on what is actually written.
    step = np.rint(delta)
    while float(cv2.norm(step)) / size > _MAX_RMS:
        delta *= 0.95
        step = np.rint(delta)
    return (image.astype(np.int16) + step.astype(np.int16)[..., None]).astype(np.uint8)


def extract(frames: Iterable[Image]) -> str | None:
    """The job id carried by these frames of one note, or None if there is no valid mark.

    The mark is static and the animation and codec noise are not, so every frame is averaged
    in before anything is decided. All of them, not a sample: a frame costs ~1 ms here (its
    chip means), far less than decoding it did. Frames may be of any size: a rescaled copy
    reads the same.
    """
    total = np.zeros((GRID, GRID), np.float64)
    count = 0
    for frame in frames:
        total += _chip_means(_luma(frame))
        count += 1
    if count == 0:
        return None
    layout = _layout()
    residual = _residual((total / count).astype(np.float32))
    return _decode(_bit_means(_limit(residual) * layout.sign))


def verify_file(path: Path | str) -> str | None:
    """The job id watermarked into the video note at ``path``, or None."""
    from inference.media import read_frames

    return extract(read_frames(path))


# -- the detector ------------------------------------------------------------------------


def _luma(pixels: npt.NDArray[np.uint8] | Floats) -> Floats:
    """BT.601 luma: the weights of OpenCV's gray conversion and of the encoder's yuv420p."""
    return cast(Floats, cv2.cvtColor(pixels.astype(np.float32, copy=False), cv2.COLOR_RGB2GRAY))


def _chip_means(luma: Floats) -> Floats:
    return cast(Floats, cv2.resize(luma, (GRID, GRID), interpolation=cv2.INTER_AREA))


def _residual(means: Floats) -> Floats:
    """Each chip minus its prediction from the 8 neighbours: the picture's smooth part."""
    return means - cv2.filter2D(means, -1, _PREDICTOR, borderType=cv2.BORDER_REFLECT_101)


def _limit(residual: Floats) -> Floats:
    """Redescending limiter: chips with large residuals sit on edges, mostly picture."""
    return residual / (1.0 + (residual / _EDGE) ** 2)


def _slope(residual: Floats) -> Floats:
    """Derivative of :func:`_limit`: how far a chip's term moves per unit of added mark."""
    q = (residual / _EDGE) ** 2
    return (1.0 - q) / (1.0 + q) ** 2


def _bit_means(values: Floats) -> Floats:
    """Per code bit, the mean of ``values`` over its chips."""
    layout = _layout()
    sums = np.bincount(layout.bit_of_chip.ravel(), values.ravel(), CODE_BITS)
    return (sums / layout.counts).astype(np.float32)


# -- the embedder's pieces ---------------------------------------------------------------


def _texture(luma: Floats) -> Floats:
    """Local contrast, smoothed and clipped: the pattern hides in texture, not on flat skin."""
    size = luma.shape[0]
    small = cv2.resize(luma, (_MASK_SIDE, _MASK_SIDE), interpolation=cv2.INTER_AREA)
    mean = cv2.blur(small, (5, 5))
    var = np.maximum(cv2.blur(small * small, (5, 5)) - mean * mean, 0.0)
    strength = cv2.GaussianBlur(np.clip(np.sqrt(var) / _MASK_REF, _MASK_MIN, _MASK_MAX), (0, 0), 2)
    return cast(Floats, cv2.resize(strength, (size, size), interpolation=cv2.INTER_LINEAR))


def _pattern(chips: Floats, shape: Floats) -> Floats:
    size = shape.shape[0]
    smooth = cv2.resize(chips.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC)
    return smooth * shape


# -- the codeword ------------------------------------------------------------------------


def _codeword(job_id: str) -> npt.NDArray[np.uint8]:
    match = _JOB_ID.fullmatch(job_id)
    if match is None:
        raise ValueError("a job id is 'note-' followed by 20 lowercase hex digits")
    payload = bytes.fromhex(match.group(1))
    bits = np.unpackbits(np.frombuffer(payload + _crc(payload), np.uint8))
    return _conv_encode(bits) ^ _layout().whitening


def _crc(payload: bytes) -> bytes:
    return zlib.crc32(payload).to_bytes(CHECK_BITS // 8, "big")


def _parity(value: int) -> int:
    return bin(value).count("1") & 1


def _conv_encode(bits: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Two output bits per input bit, each the parity of the last 7 inputs under a generator."""
    state = 0
    out: list[int] = []
    for bit in [*bits.tolist(), *([0] * _MEMORY)]:  # zero tail: the decoder ends in state 0
        register = (state << 1) | bit
        out += [_parity(register & g) for g in _GENERATORS]
        state = register & (_STATES - 1)
    return np.array(out, np.uint8)


@lru_cache(maxsize=1)
def _trellis() -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """For each next state and each of its two predecessors: the predecessor and the ±1
    signs of the two output bits on that branch."""
    previous = np.zeros((_STATES, 2), np.intp)
    signs = np.zeros((_STATES, 2, 2), np.float32)
    for state in range(_STATES):
        for oldest in range(2):
            register = (oldest << _MEMORY) | state
            previous[state, oldest] = register >> 1
            for j, g in enumerate(_GENERATORS):
                signs[state, oldest, j] = 1.0 - 2.0 * _parity(register & g)
    return previous, signs


def _viterbi(soft: Floats) -> npt.NDArray[np.uint8]:
    """Maximum-likelihood input bits for soft code bits (positive: a 0 was sent)."""
    previous, signs = _trellis()
    pairs = soft.reshape(-1, 2)
    metric = np.full(_STATES, -np.inf, np.float32)
    metric[0] = 0.0
    choices = np.zeros((len(pairs), _STATES), np.intp)
    for step, pair in enumerate(pairs):
        candidates = metric[previous] + signs @ pair
        choices[step] = np.argmax(candidates, axis=1)
        metric = candidates[np.arange(_STATES), choices[step]]
    state = 0
    bits = np.zeros(len(pairs), np.uint8)
    for step in range(len(pairs) - 1, -1, -1):
        bits[step] = state & 1
        state = previous[state, choices[step, state]]
    return bits[: len(pairs) - _MEMORY]


def _decode(soft: Floats) -> str | None:
    """Soft Viterbi decoding of the convolutional code, then the CRC must agree."""
    if not np.all(np.isfinite(soft)) or not np.any(soft):
        return None
    signed = soft * (1.0 - 2.0 * _layout().whitening.astype(np.float32))
    data = np.packbits(_viterbi(signed)).tobytes()
    payload = data[: PAYLOAD_BITS // 8]
    if _crc(payload) != data[PAYLOAD_BITS // 8 :]:
        return None
    return "note-" + payload.hex()


_FACE_CLEAN = 0.6  # share of the mark taken back out of the face: identity vs short notes


def keep_face_clean(original: Image, marked: Image, landmarks: npt.NDArray[np.floating]) -> Image:
    """``marked`` with the face (its landmark hull, feathered) mostly restored to ``original``.

    The mark's texture is invisible but measurable: on a soft, upscaled face it moves the
    identity embedding. The face is also the part re-warped every frame, so it carries the
    least reliable share of the mark; the code's redundancy covers the cells left out.
    """
    hull = cv2.convexHull(np.asarray(landmarks, np.float32).astype(np.int32))
    face = np.zeros(original.shape[:2], np.float32)
    cv2.fillConvexPoly(face, hull, 1.0)
    side = original.shape[0]
    grown = cv2.dilate(face, np.ones((3, 3), np.uint8), iterations=max(1, side // 64))
    blurred = np.asarray(cv2.GaussianBlur(grown, (0, 0), side / 80), np.float32)
    mask = (_FACE_CLEAN * blurred)[..., None]
    blended = marked.astype(np.float32) * (1 - mask) + original.astype(np.float32) * mask
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


class FrameMarker:
    """Marks frames that do not all come from one marked photo: a neural renderer's output,
    or a warped head that moves over its background.

    The mark is fitted once, to ``reference`` (what the frames look like on average, which is
    what the detector sees) or else to the first frame, face kept clean as for photos, and the
    same luminance step is added to every frame after: two saturating additions per frame
    instead of ~40 ms of ``embed``.
    """

    def __init__(
        self,
        job_id: str,
        landmarks: npt.NDArray[np.floating] | None = None,
        reference: Image | None = None,
    ) -> None:
        _codeword(job_id)  # a malformed id fails here, not at the first frame
        self.job_id = job_id
        self.landmarks = landmarks
        self._steps: tuple[Image, Image] | None = None
        if reference is not None:
            self._fit(reference)

    def _fit(self, frame: Image) -> tuple[Image, Image]:
        marked = embed(frame, self.job_id)
        if self.landmarks is not None:
            marked = keep_face_clean(frame, marked, self.landmarks)
        step = marked.astype(np.int16) - frame.astype(np.int16)
        # Up and down as two unsigned images: cv2's saturating adds are what make it cheap.
        self._steps = (
            np.clip(step, 0, 255).astype(np.uint8),
            np.clip(-step, 0, 255).astype(np.uint8),
        )
        return self._steps

    def __call__(self, frame: Image) -> Image:
        up, down = self._steps or self._fit(frame)
        return np.asarray(cv2.subtract(cv2.add(frame, up), down), np.uint8)
