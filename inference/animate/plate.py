"""The head as a layer over its background: where the person is, and what lies behind them.

When the head turns or tilts, its edge moves over the background. Stretching the background
along with it (what one smooth warp does) smears the wall behind the hair; instead the person
is cut out once per photo and moved as a layer, and the strip of background the head may
uncover is painted in once, from the colours around it (the "clean plate"). Pixels the head
never covers stay the photo's own.

The cut is GrabCut, seeded from the landmarks: the face is surely the person, the corners
above the shoulders surely not, the hair and the neck are for GrabCut to decide. It runs on a
reduced copy of the head's surroundings, which is all the animation can move.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from inference.animate.geometry import face_size

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.uint8]

_WORK_PX = 200  # the long side of the reduced copy GrabCut works on
_ITERATIONS = 3
_SEED = 12


@dataclass(frozen=True)
class HeadLayer:
    """``mask``: 255 on the person, 0 on the background, soft at the edge (full frame).
    ``plate``: the photo with the background continued under the person's edge."""

    mask: Mask
    plate: Image


def head_layer(
    image: Image, landmarks: FloatArray, reach: float, paint: Image | None = None
) -> HeadLayer:
    """Cut the person out of ``image``; the plate is good ``reach`` px under their edge.

    ``paint`` is the picture the plate is painted from, when that is not ``image`` (a
    stylized look of it: the cut is read on the photo, which GrabCut is made for).
    """
    mask = person_mask(image, landmarks)
    return HeadLayer(mask, clean_plate(image if paint is None else paint, mask, reach))


def person_mask(image: Image, landmarks: FloatArray) -> Mask:
    h, w = image.shape[:2]
    lm = landmarks.astype(np.float32)
    face_width, face_height = face_size(lm)
    centre = lm[27:48].mean(axis=0)
    # The box GrabCut sees: the head with its hair, down to just under the chin.
    x0 = int(max(0, centre[0] - 1.5 * face_width))
    x1 = int(min(w, centre[0] + 1.5 * face_width))
    y0 = int(max(0, centre[1] - 1.9 * face_height))
    # No lower: a white shirt would teach GrabCut that a bright sky is the person.
    y1 = int(min(h, lm[8, 1] + 0.1 * face_height))
    scale = _WORK_PX / max(x1 - x0, y1 - y0, 1)
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    small = np.asarray(cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA))
    local = ((lm - [x0, y0]) * scale).astype(np.float32)
    seeds = _seeds(size, local, face_width * scale, face_height * scale)
    background, foreground = np.zeros((1, 65)), np.zeros((1, 65))
    # GrabCut starts its colour models from OpenCV's random generator: seeded, the same photo
    # always gets the same cut (and so the same note). A flat photo leaves GrabCut nothing
    # to learn: then the seeds' own guess stands.
    cv2.setRNGSeed(_SEED)
    with contextlib.suppress(cv2.error):
        # The rectangle is unused when starting from a mask.
        cv2.grabCut(
            small, seeds, (0, 0, 1, 1), background, foreground, _ITERATIONS, cv2.GC_INIT_WITH_MASK
        )
    person = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.uint8)
    # The head is one piece: islands of "person" elsewhere are background that looked alike.
    count, labels = cv2.connectedComponents(person)
    face = np.round(local[30]).astype(int).clip(0, [size[0] - 1, size[1] - 1])
    if count > 1 and labels[face[1], face[0]] > 0:
        person = (labels == labels[face[1], face[0]]).astype(np.uint8)
    person = cv2.morphologyEx(person, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    # A little wide rather than narrow: a wisp of hair left behind on the plate shows as a
    # ghost, a rim of background carried along with the head does not.
    person = cv2.dilate(person, np.ones((3, 3), np.uint8))
    cut = cv2.resize(person * 255, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    mask = np.zeros((h, w), np.uint8)
    mask[y0:y1, x0:x1] = cut  # outside the box nothing moves: it may count as background
    # Below the box, the neck goes on as wide as it leaves the box, until it stops moving.
    bottom = np.flatnonzero(cut[-1] > 127)
    if len(bottom) and y1 < h:
        stop = int(min(h, lm[8, 1] + 0.6 * face_height))
        mask[y1:stop, x0 + bottom[0] : x0 + bottom[-1] + 1] = 255
    return np.asarray(cv2.GaussianBlur(mask, (0, 0), 1.2), np.uint8)


def _seeds(size: tuple[int, int], lm: FloatArray, face_width: float, face_height: float) -> Mask:
    seeds = np.full((size[1], size[0]), cv2.GC_PR_BGD, np.uint8)
    centre = lm[27:48].mean(axis=0)
    chin = lm[8]
    # Probably the person: the head with room for hair, the neck and the shoulders below it.
    head = (int(centre[0]), int(centre[1]))
    axes = (int(0.75 * face_width), int(1.0 * face_height))
    cv2.ellipse(seeds, head, axes, 0, 0, 360, cv2.GC_PR_FGD, -1)
    shoulders = np.array(
        [
            (chin[0] - 1.1 * face_width, size[1]),
            (chin[0] - 0.4 * face_width, chin[1] + 0.3 * face_height),
            (chin[0] + 0.4 * face_width, chin[1] + 0.3 * face_height),
            (chin[0] + 1.1 * face_width, size[1]),
        ],
        np.int32,
    )
    cv2.fillConvexPoly(seeds, shoulders, cv2.GC_PR_FGD)
    neck = (chin[0] - 0.4 * face_width, chin[1] - 0.1 * face_height)
    cv2.rectangle(
        seeds,
        (int(neck[0]), int(neck[1])),
        (int(chin[0] + 0.4 * face_width), size[1]),
        cv2.GC_PR_FGD,
        -1,
    )
    # Surely the person: the face inside its outline, and the middle of the neck.
    face = np.zeros_like(seeds)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(lm[:27]).astype(np.int32)), 1)
    seeds[cv2.erode(face, np.ones((3, 3), np.uint8)) > 0] = cv2.GC_FGD
    cv2.rectangle(
        seeds,
        (int(chin[0] - 0.12 * face_width), int(chin[1] + 0.05 * face_height)),
        (int(chin[0] + 0.12 * face_width), int(chin[1] + 0.25 * face_height)),
        cv2.GC_FGD,
        -1,
    )
    # Surely background: well clear of the head, above the shoulders.
    ys, xs = np.mgrid[: size[1], : size[0]].astype(np.float32)
    far = ((xs - centre[0]) / (1.15 * face_width)) ** 2 + (
        (ys - centre[1]) / (1.12 * face_height)
    ) ** 2 > 1.0
    seeds[far & (ys < chin[1])] = cv2.GC_BGD
    return seeds


def clean_plate(image: Image, mask: Mask, reach: float) -> Image:
    """``image`` with the background painted in up to ``reach`` px under the person's edge.

    Inpainting runs at half size (the strip is background, soft by nature) and only on the
    strip the head can uncover, so it costs a fraction of the frame.
    """
    person = (mask > 0).astype(np.uint8)
    depth = int(np.ceil(reach)) + 2
    inner = np.asarray(cv2.erode(person, np.ones((3, 3), np.uint8), iterations=depth), np.uint8)
    strip = person & (1 - inner)
    if not strip.any():
        return image.copy()
    h, w = image.shape[:2]
    half = (w // 2, h // 2)
    small = cv2.resize(image, half, interpolation=cv2.INTER_AREA)
    holes = cv2.resize(person * 255, half, interpolation=cv2.INTER_NEAREST)
    holes = cv2.dilate(holes, np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(small, holes, 3, cv2.INPAINT_TELEA)
    filled = cv2.GaussianBlur(filled, (0, 0), 1.0)
    big = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR)
    plate = image.copy()
    plate[strip > 0] = big[strip > 0]
    return plate


class Reach:
    """Where a moving person can be in some frame: on them, or as far past their outline as
    they move, except where they never move (``still``). Everywhere else a frame is the photo
    itself, so only this part of it needs drawing."""

    def __init__(self, mask: Mask, still: npt.NDArray[np.bool_]) -> None:
        self._outside = cv2.distanceTransform((mask == 0).astype(np.uint8), cv2.DIST_L2, 3)
        self._inside = cv2.distanceTransform((mask == 255).astype(np.uint8), cv2.DIST_L2, 3)
        self._still = still

    def within(
        self, moves: FloatArray | float
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """When each pixel moves at most ``moves`` px: the pixels the person can cover, and
        those near enough to the person's outline, or outside it, that the plate may show."""
        covered = ~self._still & (self._outside <= moves + 2.0)
        return covered, self._inside <= moves + 2.0
