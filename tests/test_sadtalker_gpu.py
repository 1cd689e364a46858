"""SadTalker for real: only where its code (SADTALKER_HOME), checkpoints and a CUDA GPU exist.

Skipped elsewhere with the reason; the GPU image has all three (``docker/Dockerfile.gpu``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.animate.sadtalker.engine import load_sadtalker, sadtalker_missing
from inference.demo import astronaut, png
from inference.face import FaceAnalyzer
from inference.models import ModelStore
from inference.pipeline import Renderer
from inference.provenance import verify_file
from inference.settings import RenderSettings
from testkit.quality import best_lag_correlation, measure

_MISSING = sadtalker_missing(ModelStore.from_settings())
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=f"SadTalker cannot run: {_MISSING}")


def test_sadtalker_renders_a_lip_synced_note(analyzer: FaceAnalyzer, tmp_path: Path) -> None:
    animator = load_sadtalker(ModelStore.from_settings())
    renderer = Renderer(RenderSettings(), animator=animator, analyzer=analyzer)
    out = tmp_path / "note.mp4"
    job_id = "note-" + "c3" * 10
    text = "Здравствуйте! Это говорящее фото. Губы должны двигаться вместе с речью."
    result = renderer.render(png(astronaut()), out, text=text, job_id=job_id)
    assert result.engines["animator"] == "sadtalker"
    note = measure(out, analyzer, fps=25)
    assert note.found.mean() > 0.9
    assert best_lag_correlation(note.opening, note.loudness, max_lag=2) > 0.3
    assert verify_file(out) == job_id
    assert np.std([frame.mean() for frame in note.frames]) > 0  # frames really change
