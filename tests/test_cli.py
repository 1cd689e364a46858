from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.contract import LOOKS
from govorun.cli import main
from inference.animate.track import MIMIC_LEVELS
from inference.media import probe, read_audio
from inference.pipeline import Renderer, RenderResult
from inference.tts.espeak import EspeakEngine
from testkit.quality import median_pitch


@pytest.fixture
def photo(astronaut_png: bytes, tmp_path: Path) -> Path:
    """The bundled portrait as a file, as a user would pass it."""
    path = tmp_path / "me.png"
    path.write_bytes(astronaut_png)
    return path


def test_render_prints_outputs_engines_and_stage_timings(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "note.mp4"
    text = "Привет! Меня зовут Говорун."
    args = ["render", "--photo", str(photo), "--text", text, "-o", str(out), "--size", "240"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed
    assert "tts=espeak" in printed and "animator=warp" in printed
    for stage in ("normalize", "face", "tts", "animate", "encode"):
        assert stage in printed
    assert probe(out).width == 240


def test_text_file_and_voice_options(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "text.txt"
    script.write_text("Доброе утро!", "utf-8")
    out = tmp_path / "note.mp4"
    args = ["render", "--photo", str(photo), "--text-file", str(script), "-o", str(out)]
    assert main([*args, "--voice", "ru-female", "--size", "240", "--fps", "20"]) == 0
    assert probe(out).fps == 20
    # The note speaks in the chosen voice, not in the default one the pipeline falls back to.
    engine = EspeakEngine()
    female, default = (
        median_pitch(speech.samples, speech.sample_rate)
        for speech in (engine.synthesize("Доброе утро!", v) for v in ("ru-female", None))
    )
    assert female > default * 1.3  # the voices differ enough to tell apart
    assert median_pitch(*read_audio(out)) == pytest.approx(female, rel=0.05)


@pytest.mark.parametrize(
    ("option", "choices", "chosen", "wrong"),
    [("mimic", MIMIC_LEVELS, "lively", "wild"), ("look", LOOKS, "sketch", "neon")],
)
def test_a_choice_reaches_the_renderer_and_a_wrong_one_is_refused(
    photo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    option: str,
    choices: tuple[str, ...],
    chosen: str,
    wrong: str,
) -> None:
    rendered: list[str] = []
    real_render = Renderer.render

    def render(self: Renderer, *args: Any, **kwargs: Any) -> RenderResult:
        rendered.append(kwargs[option])
        return real_render(self, *args, **kwargs)

    monkeypatch.setattr(Renderer, "render", render)
    out = tmp_path / "note.mp4"
    args = ["render", "--photo", str(photo), "--text", "Привет.", "-o", str(out), "--size", "240"]
    with pytest.raises(SystemExit) as refused:
        main([*args, f"--{option}", wrong])
    assert refused.value.code == 2
    error = capsys.readouterr().err
    assert f"argument --{option}: invalid choice: '{wrong}'" in error
    assert all(name in error for name in choices)  # and what is allowed
    assert not rendered and not out.exists()
    assert main([*args, f"--{option}", chosen]) == 0
    assert main(args) == 0
    assert rendered == [chosen, choices[0]]  # the first is the default
    assert probe(out).width == 240
    for command in ("render", "demo"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "{" + ",".join(choices) + "}" in capsys.readouterr().out


def test_a_refusal_is_localized_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "empty.jpg"
    photo.write_bytes(b"")
    out = tmp_path / "note.mp4"
    args = ["render", "--photo", str(photo), "--text", "Привет.", "-o", str(out)]
    assert main(args) == 2
    assert "Не получилось открыть изображение" in capsys.readouterr().err
    assert main([*args, "--lang", "en"]) == 2
    assert "Could not open the image" in capsys.readouterr().err
    assert not out.exists()


def test_voices_lists_male_and_female(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["voices"]) == 0
    printed = capsys.readouterr().out
    assert "male" in printed and "female" in printed


def test_verify_reads_back_the_job_of_a_rendered_note(
    photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "note.mp4"
    args = ["render", "--photo", str(photo), "--text", "Проверка метки.", "-o", str(out)]
    assert main(args) == 0
    job = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("job: "))
    job_id = job.split()[1]
    assert main(["verify", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"watermark: {job_id}" in printed
    assert "synthetic" in printed
    still = tmp_path / "unmarked.mp4"
    still.write_bytes(b"")
    assert main(["verify", str(still)]) == 2


def test_models_are_listed_through_govorun(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    printed = capsys.readouterr().out
    assert "silero-v5-cis-base" in printed and "MIT" in printed


def test_bench_on_an_engine_that_cannot_load_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SADTALKER_HOME", raising=False)
    monkeypatch.setenv("MODELS_DIR", str(tmp_path))
    with pytest.raises(SystemExit) as stopped:
        main(["bench", "--engine", "sadtalker"])
    assert stopped.value.code != 0
    assert "SADTALKER_HOME is not set" in capsys.readouterr().err
