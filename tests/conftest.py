from __future__ import annotations

import pytest

from inference.demo import astronaut, png
from inference.face import FaceAnalyzer


@pytest.fixture(scope="session")
def astronaut_png() -> bytes:
    return png(astronaut())


@pytest.fixture(scope="session")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()
