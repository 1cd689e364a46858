"""Face preparation: decode the photo, find exactly one face, frame it for a round video note.

Typical use::

    rgb = load_image(photo_bytes)            # refuses bombs, animations, corrupt files
    analyzer = FaceAnalyzer()                # once per worker: loads the dlib models
    face = analyzer.find_face(rgb)           # refuses no face, several faces, tiny faces
    framed = frame_square(rgb, face, 640)    # the square the animator works on
"""

from inference.face.analyzer import (
    COMPARABLE_FACE_RATIO,
    CONFIDENT_SCORE,
    DEFAULT_MIN_FACE_PX,
    Box,
    Detection,
    Face,
    FaceAnalyzer,
    Landmarks,
    select_single_face,
)
from inference.face.framing import CropPlan, FramedPhoto, frame_square, plan_crop
from inference.face.image import BACKGROUND_RGB, DEFAULT_MAX_PIXELS, MIN_SIDE, load_image

__all__ = [
    "BACKGROUND_RGB",
    "COMPARABLE_FACE_RATIO",
    "CONFIDENT_SCORE",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MIN_FACE_PX",
    "MIN_SIDE",
    "Box",
    "CropPlan",
    "Detection",
    "Face",
    "FaceAnalyzer",
    "FramedPhoto",
    "Landmarks",
    "frame_square",
    "load_image",
    "plan_crop",
    "select_single_face",
]
