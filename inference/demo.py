"""The bundled demo input: a public-domain portrait shipped inside the scikit-image wheel."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

DEMO_TEXT = (
    "Привет! Меня зовут Говорун. Я превращаю фотографию и текст в говорящий кружок. "
    "Пришлите мне своё фото и пару фраз, и через несколько секунд я вам отвечу."
)


def astronaut() -> npt.NDArray[np.uint8]:
    """Eileen Collins, NASA portrait (public domain), RGB."""
    from skimage import data

    image: npt.NDArray[np.uint8] = data.astronaut()  # type: ignore[no-untyped-call]
    return image


def png(rgb: npt.NDArray[np.uint8]) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return bytes(encoded.tobytes())
