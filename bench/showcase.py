"""Pictures of a real rendered note for the README: ``docs/demo.gif`` and ``docs/demo-frames.png``.

``python -m bench.showcase`` renders the bundled portrait through the ``govorun render``
command line (the very path a user takes), reads the note back and writes a looping round GIF,
as Telegram shows a video note, and a strip of frames where the mouth opens and closes.
"""

from __future__ import annotations

import argparse
import itertools
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from inference.demo import astronaut, png
from inference.face import FaceAnalyzer
from inference.media import probe, read_frames

ROOT = Path(__file__).resolve().parent.parent
TEXT = "Привет! Я Говорун, говорящий кружок."  # 2.9 s with eSpeak: the whole note loops
GIF_SIDE = 280
GIF_SECONDS = 3.0
GIF_STEP = 2  # every 2nd frame: 12.5 fps reads as speech and keeps the file small
STRIP_TILES = 6
TILE_SIDE = 200
# Telegram's light chat background: the strip's tiles sit on it like notes in a chat.
BACKGROUND = (239, 239, 239)
Frame = npt.NDArray[np.uint8]


def render_note(folder: Path) -> Path:
    """Render ``TEXT`` over the bundled portrait with ``govorun render``; returns the MP4."""
    photo, note = folder / "portrait.png", folder / "note.mp4"
    photo.write_bytes(png(astronaut()))
    command = [sys.executable, "-m", "govorun.cli", "render", "--photo", str(photo)]
    subprocess.run([*command, "--text", TEXT, "-o", str(note)], check=True, cwd=ROOT)
    return note


def round_mask(side: int, supersample: int = 4) -> Image.Image:
    """An anti-aliased circle filling a ``side``-px square (L mode, 255 inside)."""
    big = Image.new("L", (side * supersample, side * supersample), 0)
    ImageDraw.Draw(big).ellipse((0, 0, big.width - 1, big.height - 1), fill=255)
    return big.resize((side, side), Image.Resampling.LANCZOS)


def write_gif(frames: list[Frame], fps: float, output: Path) -> None:
    """A looping GIF of the first ``GIF_SECONDS``, round, with a transparent outside."""
    chosen = frames[: int(GIF_SECONDS * fps)][::GIF_STEP]
    resized = [
        Image.fromarray(frame).resize((GIF_SIDE, GIF_SIDE), Image.Resampling.LANCZOS)
        for frame in chosen
    ]
    # One palette for every frame (no flicker between frames), 255 colours + transparency.
    sample = Image.new("RGB", (GIF_SIDE, GIF_SIDE * len(resized[::4])))
    for index, image in enumerate(resized[::4]):
        sample.paste(image, (0, index * GIF_SIDE))
    palette = sample.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    # GIF transparency is on or off per pixel: half-covered edge pixels count as inside.
    outside = np.asarray(round_mask(GIF_SIDE)) < 128
    pictures = []
    for image in resized:
        indexed = image.quantize(palette=palette, dither=Image.Dither.NONE)
        pixels = np.asarray(indexed).copy()
        pixels[outside] = 255
        picture = Image.fromarray(pixels, mode="P")
        picture.putpalette(palette.getpalette() or [])
        pictures.append(picture)
    output.parent.mkdir(parents=True, exist_ok=True)
    pictures[0].save(
        output,
        save_all=True,
        append_images=pictures[1:],
        duration=round(1000 * GIF_STEP / fps),
        loop=0,
        transparency=255,
        disposal=2,
        optimize=False,
    )


Box = tuple[int, int, int, int]


def mouth_openings(frames: list[Frame], analyzer: FaceAnalyzer) -> tuple[list[float], Box]:
    """Lip gap over eye distance per frame, and the face's landmark bounds (x0, y0, x1, y1)."""
    face = analyzer.find_face(frames[0])
    openings = []
    for frame in frames:
        points = analyzer.landmarks_in(frame, face.box).astype(np.float64)
        gap = np.linalg.norm(points[[61, 62, 63]] - points[[67, 66, 65]], axis=1).mean()
        eyes = np.linalg.norm(points[42:48].mean(0) - points[36:42].mean(0))
        openings.append(float(gap / eyes))
    (x0, y0), (x1, y1) = face.landmarks.min(0), face.landmarks.max(0)
    return openings, (int(x0), int(y0), int(x1), int(y1))


def write_strip(frames: list[Frame], fps: float, analyzer: FaceAnalyzer, output: Path) -> None:
    """``STRIP_TILES`` face crops, alternately the most open and most closed mouth of each
    stretch of the GIF's seconds, so that the strip shows speech rather than six similar stills.
    """
    window = frames[: int(GIF_SECONDS * fps)]
    openings, box = mouth_openings(window, analyzer)
    bounds = np.linspace(0, len(window), STRIP_TILES + 1).astype(int)
    picks = []
    for tile, (start, stop) in enumerate(itertools.pairwise(bounds)):
        stretch = openings[start:stop]
        best = max if tile % 2 else min
        picks.append(start + stretch.index(best(stretch)))
    x0, y0, x1, y1 = box
    side = int(max(x1 - x0, y1 - y0) * 1.35)
    cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
    crop = (cx - side // 2, cy - side // 2, cx + side // 2, cy + side // 2)
    gap, caption = 12, 26
    strip = Image.new(
        "RGB",
        (STRIP_TILES * TILE_SIDE + (STRIP_TILES + 1) * gap, TILE_SIDE + 2 * gap + caption),
        BACKGROUND,
    )
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=16)
    mask = round_mask(TILE_SIDE)
    for tile, index in enumerate(picks):
        face = Image.fromarray(window[index]).crop(crop)
        face = face.resize((TILE_SIDE, TILE_SIDE), Image.Resampling.LANCZOS)
        left = gap + tile * (TILE_SIDE + gap)
        strip.paste(face, (left, gap), mask)
        label = f"{index / fps:.2f} s"
        draw.text(
            (left + TILE_SIDE // 2, gap + TILE_SIDE + caption // 2 + 2),
            label,
            fill=(60, 60, 60),
            font=font,
            anchor="mm",
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    strip.save(output, optimize=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        note = render_note(Path(folder))
        fps = probe(note).fps
        frames = list(read_frames(note))
    gif, strip = args.out / "demo.gif", args.out / "demo-frames.png"
    write_gif(frames, fps, gif)
    write_strip(frames, fps, FaceAnalyzer(), strip)
    for path in (gif, strip):
        print(f"{path}  ({path.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
