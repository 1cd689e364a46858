"""Stylized looks: the README's strip (``docs/looks.png``) and what each look costs a note.

``python -m bench.looks`` renders the bundled portrait once per look through the ``govorun
render`` command line (the path a user takes) and puts one frame of each side by side, the
same frame of the same speech, with the mouth open and the eyes open, as round notes. Then, in
one warm process, it measures per look: stylizing the framed photo (once per note), the
time spent drawing the mouth's inside through the look in a 10 s note's frames, the whole
render, the file size, and what SadTalker's frames would cost (each 256 px frame drawn in the
look). Rounds alternate the looks so that all of them share the machine's moods; medians are
reported. Results: ``bench/looks.json``, ``bench/looks.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from bench.mouth import machine
from bench.showcase import BACKGROUND, round_mask
from govorun.benchmark import text_for
from inference.animate.base import Performance
from inference.animate.looks import LOOKS, Look, fit_look
from inference.animate.sadtalker import glue
from inference.demo import astronaut, png
from inference.face import FaceAnalyzer, FramedPhoto, frame_square
from inference.media import read_frames
from inference.pipeline import Renderer
from inference.settings import RenderSettings
from inference.tts.base import Speech

ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "bench"
STRIP_TEXT = "Здравствуйте! Сегодня я расскажу вам о космосе."
TILE = 224
MAX_STRIP_BYTES = 300_000
NOTE_SECONDS = 10.0
ROUNDS = 3
Frame = npt.NDArray[np.uint8]


def render_looks(folder: Path) -> dict[str, list[Frame]]:
    """Each look's note of ``STRIP_TEXT``, rendered by ``govorun render --look``."""
    photo = folder / "portrait.png"
    photo.write_bytes(png(astronaut()))
    notes = {}
    for look in LOOKS:
        note = folder / f"{look}.mp4"
        command = [sys.executable, "-m", "govorun.cli", "render", "--photo", str(photo)]
        command += ["--text", STRIP_TEXT, "--look", look, "-o", str(note)]
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        notes[look] = list(read_frames(note))
    return notes


def open_mouth_frame(frames: list[Frame], analyzer: FaceAnalyzer) -> int:
    """The frame with the widest mouth among those whose eyes are open (no blink)."""
    face = analyzer.find_face(frames[0])
    gaps, eyes = [], []
    for frame in frames:
        points = analyzer.landmarks_in(frame, face.box).astype(np.float64)
        span = np.linalg.norm(points[45] - points[36])
        gaps.append(np.linalg.norm(points[[61, 62, 63]] - points[[67, 66, 65]], axis=1).mean())
        lids = np.linalg.norm(points[[37, 38, 43, 44]] - points[[41, 40, 47, 46]], axis=1)
        eyes.append(lids.mean() / span)
    awake = np.array(eyes) >= 0.8 * np.median(eyes)
    return int(np.argmax(np.where(awake, np.array(gaps), -1.0)))


def write_strip(notes: dict[str, list[Frame]], index: int, output: Path) -> int:
    """One round tile per look, the look's name under it; the PNG's size in bytes."""
    gap, caption = 12, 28
    strip = Image.new(
        "RGB", (len(notes) * TILE + (len(notes) + 1) * gap, TILE + 2 * gap + caption), BACKGROUND
    )
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=17)
    mask = round_mask(TILE)
    for tile, (look, frames) in enumerate(notes.items()):
        picture = Image.fromarray(frames[index]).resize((TILE, TILE), Image.Resampling.LANCZOS)
        left = gap + tile * (TILE + gap)
        strip.paste(picture, (left, gap), mask)
        middle = (left + TILE // 2, gap + TILE + caption // 2 + 2)
        draw.text(middle, f"--look {look}", fill=(60, 60, 60), font=font, anchor="mm")
    output.parent.mkdir(parents=True, exist_ok=True)
    strip.save(output, optimize=True)
    if output.stat().st_size > MAX_STRIP_BYTES:
        # A palette of the strip's own colours, dithered: a flat 256 colours bands the drawings.
        strip.quantize(
            256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.FLOYDSTEINBERG
        ).save(output, optimize=True)
    return output.stat().st_size


def measure_costs(analyzer: FaceAnalyzer, folder: Path) -> dict[str, dict[str, float]]:
    """Per look, medians over ``ROUNDS`` alternating rounds (see the module's doc)."""
    photo = astronaut()
    framed = frame_square(photo, analyzer.find_face(photo), 640)
    crop = _sadtalker_crop(framed)
    renderer = Renderer(RenderSettings(fps=25), analyzer=analyzer)
    text = text_for(NOTE_SECONDS)
    speech = renderer.tts.synthesize(text, None, 1.0)
    samples: dict[str, dict[str, list[float]]] = {look: {} for look in LOOKS}
    for round_ in range(ROUNDS + 1):  # the first round warms caches and is not counted
        for look in LOOKS:
            started = time.perf_counter()
            fitted = fit_look(look, framed)
            fit_s = time.perf_counter() - started
            mouth = _mouth_cost(renderer, framed, fitted, speech)
            sadtalker = fit_look(look, crop).restyle
            started = time.perf_counter()
            for _ in range(25):
                if sadtalker is not None:
                    sadtalker(crop.image, (0, 0))
            sadtalker_ms = (time.perf_counter() - started) / 25 * 1000
            note = folder / f"cost-{look}.mp4"
            started = time.perf_counter()
            result = renderer.render(png(photo), note, text=text, look=look, seed=1)
            wall = time.perf_counter() - started
            if round_ == 0:
                continue
            values = {
                "fit_s": fit_s,
                **mouth,
                "render_s": wall,
                "video_s": result.duration,
                "file_kb": note.stat().st_size / 1000,
                "sadtalker_frame_ms": sadtalker_ms,
            }
            for key, value in values.items():
                samples[look].setdefault(key, []).append(value)
    return {
        look: {key: statistics.median(values) for key, values in measured.items()}
        for look, measured in samples.items()
    }


def _mouth_cost(
    renderer: Renderer, framed: FramedPhoto, look: Look, speech: Speech
) -> dict[str, float]:
    """What drawing the mouth's inside in the look costs one note's frames: every call of the
    look's restyle, timed where it happens (no encoder running beside it)."""
    spent: list[float] = []
    timed = None
    if look.restyle is not None:
        restyle = look.restyle

        def timed(image: Frame, origin: tuple[int, int]) -> Frame:
            started = time.perf_counter()
            drawn = restyle(image, origin)
            spent.append(time.perf_counter() - started)
            return drawn

    animation = renderer.animator.prepare(framed, "note-" + "0" * 20, replace(look, restyle=timed))
    frames = sum(1 for _ in animation.frames(Performance(speech, 25, 1)))
    return {
        "frames": frames,
        "mouth_frames": len(spent),
        "mouth_s": sum(spent),
        "mouth_ms_per_frame": 1000 * sum(spent) / len(spent) if spent else 0.0,
    }


def _sadtalker_crop(framed: FramedPhoto) -> FramedPhoto:
    """The 256 px face crop SadTalker renders, which its frames are drawn at."""
    height, width = framed.image.shape[:2]
    x0, y0, x1, y1 = glue.face_crop(framed.landmarks, width, height)
    size = glue.RENDER_SIZE
    face = cv2.resize(framed.image[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)
    scale = np.array([size / (x1 - x0), size / (y1 - y0)], np.float32)
    landmarks = (np.asarray(framed.landmarks, np.float32) - (x0, y0)) * scale
    return FramedPhoto(np.asarray(face, np.uint8), landmarks, framed.scale)


def markdown(report: dict[str, object]) -> str:
    costs, strip_bytes = report["costs"], report["strip_bytes"]
    assert isinstance(costs, dict) and isinstance(strip_bytes, int)
    photo = costs["photo"]
    lines: list[str] = [
        "# Stylized looks: cost per note",
        "",
        f"Machine: {report['machine']}; warp animator, 640×640 at 25 fps, a "
        f"{photo['video_s']:.1f} s note of the astronaut portrait (eSpeak), warm process; "
        f"medians of {report['rounds']} rounds, the looks alternating within each round.",
        "",
        "Stylize: fitting the look to the framed photo and drawing it, once per note (part of "
        "the render's `face` stage). Mouth: the look drawn over the mouth's inside, in each "
        "frame where the mouth is open (every call timed where it happens, the note's frames "
        "made without an encoder beside them). Render: the whole note, encoded (noisy on this "
        "shared machine; a drawing's texture also costs the encoder more). SadTalker frame: "
        "drawing one of SadTalker's 256 px frames in the look, on this CPU (SadTalker draws "
        "every frame that way).",
        "",
        "| look | stylize (once) | mouth: frames | per frame | per note | added per note "
        "| render | file | SadTalker frame |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for look, c in costs.items():
        added = c["fit_s"] + c["mouth_s"]
        lines.append(
            f"| {look} | {c['fit_s'] * 1000:.0f} ms | {c['mouth_frames']:.0f} of "
            f"{c['frames']:.0f} | {c['mouth_ms_per_frame']:.1f} ms | {c['mouth_s']:.2f} s "
            f"| {added:.2f} s | {c['render_s']:.2f} s | {c['file_kb']:.0f} kB "
            f"| {c['sadtalker_frame_ms']:.1f} ms |"
        )
    lines += [
        "",
        f"Strip: `docs/looks.png` ({strip_bytes / 1000:.0f} kB), frame "
        f"{report['strip_frame']} of «{STRIP_TEXT}» in every look.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--strip", type=Path, default=ROOT / "docs" / "looks.png")
    parser.add_argument("--output-dir", type=Path, default=HERE, help="default: bench/")
    args = parser.parse_args(argv)
    analyzer = FaceAnalyzer()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        notes = render_looks(folder)
        index = open_mouth_frame(notes["photo"], analyzer)
        strip_bytes = write_strip(notes, index, args.strip)
        print(f"{args.strip}  ({strip_bytes / 1000:.0f} kB, frame {index})")
        costs = measure_costs(analyzer, folder)
    report = {
        "machine": machine(),
        "rounds": ROUNDS,
        "strip_frame": index,
        "strip_bytes": strip_bytes,
        "costs": {look: {k: round(v, 4) for k, v in c.items()} for look, c in costs.items()},
    }
    (args.output_dir / "looks.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (args.output_dir / "looks.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
