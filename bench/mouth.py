"""Mouth realism: how far, how often and how variably the rendered lips open while speaking.

``python -m bench.mouth`` renders one ~11 s Russian text on a dozen portraits (the demo
astronaut, variants of it made here, and the shared face fixtures where present), measures
every frame with dlib's 68 landmarks and writes:

* ``bench/mouth.md`` and ``bench/mouth.json``: per portrait, over speech frames, the inner-lip
  gap (median, spread, share closed) and lip width, in units of the outer eye-corner distance;
* ``bench/mouth.png``: a small overview, per portrait the 3 widest and 3 most closed mouths;
* ``bench/mouth/<name>.png`` (git-ignored): 6 widest over 6 most closed mouths, larger.

Speech frames are those whose audio RMS is above 20 % of the clip's 95th-percentile RMS.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from bench.report import write_report
from inference.demo import astronaut, png
from inference.errors import RenderError
from inference.face import CONFIDENT_SCORE, FaceAnalyzer
from inference.media import read_audio, read_frames
from inference.pipeline import Renderer
from inference.settings import RenderSettings

HERE = Path(__file__).resolve().parent
FIXTURES_ENV = "GOVORUN_FIXTURES_DIR"  # the setting testkit/face_assets.py reads
FIXTURES = (
    "obama.jpg",
    "obama2.jpg",
    "biden.jpg",
    "obama_small.jpg",
    "obama_partial_face.jpg",
    "32bit.png",
)
TEXT = (
    "Здравствуйте! Меня зовут Говорун. Сегодня мы поговорим о погоде, о папе и маме, "
    "о булочках и молоке. Утром было облачно, а вечером выглянуло солнце. "
    "Бабушка испекла пироги, и мы пили чай."
)
DETECT_SIDE = 320  # detect on a copy this wide (as testkit/quality.py), landmarks at full size
CLOSED_GAP = 0.03  # lips count as closed below this gap, in eye-corner distances
SPEECH_SHARE = 0.2  # speech frames: RMS above this share of the clip's 95th-percentile RMS
MAX_LAG = 2  # frames either way for the lip-sync correlation
CROP_SCALE = 2.2  # mouth crop side, in mouth widths
STRIP_COUNT, STRIP_PX = 6, 160
OVERVIEW_COUNT, OVERVIEW_PX, LABEL_PX = 3, 96, 140
OVERVIEW_MAX_BYTES = 400_000
REAL_SPEAKERS = {  # measured with MediaPipe face mesh on real talking-head videos
    "gap_median": "0.087–0.122",
    "gap_std": "0.047–0.063",
    "closed": "11–14 %",
    "width_spread": "0.14–0.20",
}

RGB = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FrameTrack:
    """Per video frame: lip gap and width over the eye-corner distance (NaN: no face)."""

    gap: FloatArray
    width: FloatArray
    crops: list[RGB | None]  # the mouth, STRIP_PX square; None where no face was found


def fixtures_dir() -> Path | None:
    """The face fixtures folder named by ``$GOVORUN_FIXTURES_DIR``, if it is set."""
    configured = os.environ.get(FIXTURES_ENV)
    return Path(configured) if configured else None


def portraits() -> dict[str, bytes]:
    """Encoded photos by name: astronaut variants always, the face fixtures where present."""
    image = astronaut()
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    painting = cv2.cvtColor(cv2.stylization(bgr), cv2.COLOR_BGR2RGB)
    # A tight 180 px crop: the whole photo is small, yet the face clears the 80 px minimum.
    small = np.ascontiguousarray(image[37:217, 133:313])
    alpha = np.full(image.shape[:2], 255, np.uint8)
    alpha[:, : image.shape[1] // 5] = 0  # a transparent strip, flattened by the loader
    rgba = io.BytesIO()
    Image.fromarray(np.dstack([image, alpha]), "RGBA").save(rgba, "PNG")
    photos = {
        "astronaut": png(image),
        "astronaut-dim": png((image * 0.45).astype(np.uint8)),
        "astronaut-painting": png(np.asarray(painting, np.uint8)),
        "astronaut-small": png(small),
        "astronaut-rgba": rgba.getvalue(),
    }
    folder = fixtures_dir()
    for name in FIXTURES:
        path = folder / "faces" / name if folder else None
        if path and path.is_file():
            photos[Path(name).stem] = path.read_bytes()
        else:
            print(f"skipped {name}: not found (set {FIXTURES_ENV} to the fixtures folder)")
    return photos


def lip_metrics(landmarks: npt.NDArray[np.floating]) -> tuple[float, float]:
    """(inner-lip gap, mouth width), both over the outer eye-corner distance (36–45)."""
    lm = np.asarray(landmarks, np.float64)
    eyes = float(np.linalg.norm(lm[45] - lm[36]))
    gap = float(np.linalg.norm(lm[[61, 62, 63]] - lm[[67, 66, 65]], axis=1).mean())
    width = float(np.linalg.norm(lm[54] - lm[48]))
    return gap / eyes, width / eyes


def mouth_square(landmarks: npt.NDArray[np.floating]) -> tuple[float, float, float]:
    """(centre x, centre y, side) of a square around the mouth, CROP_SCALE mouth widths wide."""
    mouth = np.asarray(landmarks, np.float64)[48:68]
    centre = (mouth.min(axis=0) + mouth.max(axis=0)) / 2
    side = CROP_SCALE * float(np.linalg.norm(mouth[6] - mouth[0]))
    return float(centre[0]), float(centre[1]), max(side, 1.0)


def crop_square(image: RGB, square: tuple[float, float, float], size: int) -> RGB:
    """The ``square`` of ``image`` resampled to ``size`` px; black where it leaves the image."""
    cx, cy, side = square
    scale = size / side
    matrix = np.array([[scale, 0, size / 2 - cx * scale], [0, scale, size / 2 - cy * scale]])
    return np.asarray(cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_AREA), np.uint8)


def measure_frames(frames: Iterable[RGB], analyzer: FaceAnalyzer) -> FrameTrack:
    gaps: list[float] = []
    widths: list[float] = []
    crops: list[RGB | None] = []
    for frame in frames:
        scale = DETECT_SIDE / frame.shape[1]
        small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        # Only confident detections: dlib also scores weak "faces" in clothing and props.
        boxes = analyzer.detect_all(np.asarray(small, np.uint8), min_score=CONFIDENT_SCORE)
        if not boxes:
            gaps.append(np.nan)
            widths.append(np.nan)
            crops.append(None)
            continue
        landmarks = analyzer.landmarks_in(frame, [v / scale for v in boxes[0]])
        gap, width = lip_metrics(landmarks)
        gaps.append(gap)
        widths.append(width)
        crops.append(crop_square(frame, mouth_square(landmarks), STRIP_PX))
    return FrameTrack(np.array(gaps, np.float64), np.array(widths, np.float64), crops)


def frame_rms(samples: npt.NDArray[np.floating], rate: int, fps: float, count: int) -> FloatArray:
    """Audio RMS over each video frame's time span."""
    hop = rate / fps
    values = np.zeros(count)
    for index in range(count):
        chunk = np.asarray(samples[int(index * hop) : int((index + 1) * hop)], np.float64)
        values[index] = np.sqrt(np.mean(chunk**2)) if chunk.size else 0.0
    return values


def speech_frames(rms: FloatArray) -> npt.NDArray[np.bool_]:
    return rms > SPEECH_SHARE * np.percentile(rms, 95)


def best_lag_correlation(gap: FloatArray, rms: FloatArray, max_lag: int = MAX_LAG) -> float:
    """Highest Pearson r of gap and RMS over lags of at most ``max_lag`` frames (NaN: none)."""
    best = np.nan
    for lag in range(-max_lag, max_lag + 1):
        a = gap[max(0, lag) : len(gap) + min(0, lag)]
        b = rms[max(0, -lag) : len(rms) + min(0, -lag)]
        valid = ~np.isnan(a)
        if valid.sum() > 10 and np.std(a[valid]) > 0 and np.std(b[valid]) > 0:
            r = float(np.corrcoef(a[valid], b[valid])[0, 1])
            best = r if np.isnan(best) else max(best, r)
    return best


def mouth_stats(
    gap: FloatArray, width: FloatArray, rms: FloatArray, fps: float
) -> dict[str, float]:
    """The numbers of one note; gap and width are NaN where no face was found."""
    speech = speech_frames(rms)
    measured = speech & ~np.isnan(gap)
    g, w = gap[measured], width[measured]
    some = bool(measured.any())
    p5, p95 = (float(v) for v in np.percentile(w, [5, 95])) if some else (np.nan, np.nan)
    return {
        "frames": len(gap),
        "speech_seconds": float(speech.sum() / fps),
        "face_found": float(np.mean(~np.isnan(gap))) if len(gap) else np.nan,
        "gap_median": float(np.median(g)) if some else np.nan,
        "gap_std": float(np.std(g)) if some else np.nan,
        "closed_share": float(np.mean(g < CLOSED_GAP)) if some else np.nan,
        "width_p5": p5,
        "width_p95": p95,
        "width_spread": p95 - p5,
        "r": best_lag_correlation(gap, rms),
    }


def extremes(
    gap: FloatArray, mask: npt.NDArray[np.bool_], count: int, spacing: int = 3
) -> tuple[list[int], list[int]]:
    """Frames of the ``count`` widest and ``count`` most closed mouths among ``mask``.

    Picks are at least ``spacing`` frames apart, so one long vowel does not fill a row.
    """

    def pick(order: Sequence[int]) -> list[int]:
        chosen: list[int] = []
        for index in order:
            if all(abs(index - other) >= spacing for other in chosen):
                chosen.append(index)
            if len(chosen) == count:
                break
        return chosen

    candidates = [int(i) for i in np.flatnonzero(mask & ~np.isnan(gap))]
    by_gap = sorted(candidates, key=lambda i: gap[i])
    return pick(by_gap[::-1]), pick(by_gap)


def tile(crop: RGB | None, size: int, label: str = "") -> RGB:
    """``crop`` at ``size`` px (grey when missing) with ``label`` in its lower-left corner."""
    if crop is None:
        out = np.full((size, size, 3), 64, np.uint8)
    else:
        out = np.asarray(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA), np.uint8)
    if label:
        where, font, scale = (4, size - 6), cv2.FONT_HERSHEY_SIMPLEX, size / 320
        cv2.putText(out, label, where, font, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(out, label, where, font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def row(tiles: Sequence[RGB], count: int, size: int) -> RGB:
    """``tiles`` side by side, padded with grey tiles to ``count``."""
    padded = list(tiles) + [tile(None, size)] * (count - len(tiles))
    return np.concatenate(padded, axis=1)


def strip(track: FrameTrack, widest: list[int], closed: list[int]) -> RGB:
    """Two rows: the widest-open mouths over the most closed ones, each with its gap."""
    rows = [
        row(
            [tile(track.crops[i], STRIP_PX, f"{track.gap[i]:.3f}") for i in picks],
            STRIP_COUNT,
            STRIP_PX,
        )
        for picks in (widest, closed)
    ]
    return np.concatenate(rows, axis=0)


def overview_row(name: str, track: FrameTrack, widest: list[int], closed: list[int]) -> RGB:
    """The portrait's name, then its 3 widest and 3 most closed mouths as thumbnails."""
    label = np.full((OVERVIEW_PX, LABEL_PX, 3), 255, np.uint8)
    cv2.putText(
        label,
        name,
        (6, OVERVIEW_PX // 2 + 5),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.45,
        (0, 0, 0),
        1,
        cv2.LINE_AA,
    )
    thumbs = [
        row(
            [tile(track.crops[i], OVERVIEW_PX) for i in picks[:OVERVIEW_COUNT]],
            OVERVIEW_COUNT,
            OVERVIEW_PX,
        )
        for picks in (widest, closed)
    ]
    divider = np.full((OVERVIEW_PX, 4, 3), 255, np.uint8)
    return np.concatenate([label, thumbs[0], divider, thumbs[1]], axis=1)


def save_png(image: RGB, path: Path, max_bytes: int | None = None) -> int:
    """Write ``image``; when over ``max_bytes``, as a 256-colour palette PNG instead."""
    picture = Image.fromarray(image)
    picture.save(path, optimize=True)
    if max_bytes is not None and path.stat().st_size > max_bytes:
        picture.quantize(256).save(path, optimize=True)
    return path.stat().st_size


def number(value: object, spec: str, factor: float = 1.0) -> str:
    """``value`` formatted, or a dash for a missing (None or NaN) number."""
    if not isinstance(value, int | float) or np.isnan(value):
        return "—"
    return format(value * factor, spec)


def engines_line(engines: object) -> str:
    if not isinstance(engines, dict):
        return "engines unknown"
    return ", ".join(f"{stage} {name}" for stage, name in engines.items())


def markdown(report: dict[str, object]) -> str:
    real = REAL_SPEAKERS
    lines = [
        "# Mouth realism",
        "",
        f"Machine: {report['machine']}; {engines_line(report['engines'])}; "
        f"whole run {report['run_seconds']} s.",
        "",
        f"Text ({report['text_seconds']} s of speech): «{report['text']}»",
        "",
        "Measured on every rendered frame with dlib's 68 landmarks (detection on a 320 px copy). "
        "Distances are in units of the outer eye-corner distance (points 36–45). Speech frames: "
        f"audio RMS above {SPEECH_SHARE:.0%} of the clip's 95th-percentile RMS. Gap: mean of "
        "the inner-lip pairs 61–67, 62–66, 63–65. Closed: gap below "
        f"{CLOSED_GAP} eye distances. Width spread: p95 − p5 of the mouth width (48–54), with "
        f"p5–p95 in brackets. r: Pearson r of gap and RMS at the best lag within ±{MAX_LAG} "
        "frames (all frames with a face). Face found: share of all frames with a confident "
        "detection. Strips: `bench/mouth/<name>.png` (6 widest over 6 most closed speech "
        "frames, regenerated, not committed); overview: `bench/mouth.png`.",
        "",
        "| portrait | speech | face found | gap median | gap std | closed "
        "| width spread (p5–p95) | r | render |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| real speakers (face-mesh, for comparison) | — | — | {real['gap_median']} "
        f"| {real['gap_std']} | {real['closed']} | {real['width_spread']} | — | — |",
    ]
    results = report["portraits"]
    assert isinstance(results, list)
    for item in results:
        if "error" in item:
            lines.append(f"| {item['name']} | refused: {item['error']} |||||||| ")
            continue
        lines.append(
            f"| {item['name']} | {number(item['speech_seconds'], '.1f')} s "
            f"| {number(item['face_found'], '.3f')} | {number(item['gap_median'], '.3f')} "
            f"| {number(item['gap_std'], '.3f')} | {number(item['closed_share'], '.0f', 100)} % "
            f"| {number(item['width_spread'], '.3f')} ({number(item['width_p5'], '.2f')}–"
            f"{number(item['width_p95'], '.2f')}) | {number(item['r'], '.2f')} "
            f"| {number(item['render_seconds'], '.1f')} s |"
        )
    skipped = report.get("skipped")
    if isinstance(skipped, list) and skipped:
        lines += ["", f"Skipped (not found): {', '.join(skipped)}."]
    return "\n".join(lines) + "\n"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def for_json(stats: dict[str, float]) -> dict[str, float | None]:
    """Rounded; NaN (nothing measured) becomes null."""
    return {k: None if np.isnan(v) else round(v, 4) for k, v in stats.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Mouth realism benchmark (bench/mouth.md).")
    parser.add_argument("--output-dir", type=Path, default=HERE, help="default: bench/")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    analyzer = FaceAnalyzer()
    renderer = Renderer(RenderSettings(), analyzer=analyzer)
    photos = portraits()
    skipped = [name for name in FIXTURES if Path(name).stem not in photos]
    strips = args.output_dir / "mouth"
    strips.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, object]] = []
    overview: list[RGB] = []
    engines: dict[str, str] = renderer.engines
    text_seconds = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for name, photo in photos.items():
            out = Path(folder) / f"{name}.mp4"
            render_started = time.perf_counter()
            try:
                result = renderer.render(photo, out, text=TEXT)
            except RenderError as error:
                print(f"{name}: refused ({error})")
                results.append({"name": name, "error": str(error)})
                continue
            render_seconds = time.perf_counter() - render_started
            engines, text_seconds = result.engines, result.duration
            track = measure_frames(read_frames(out), analyzer)
            samples, rate = read_audio(out)
            rms = frame_rms(samples, rate, renderer.fps, len(track.gap))
            stats = mouth_stats(track.gap, track.width, rms, renderer.fps)
            results.append(
                {"name": name, **for_json(stats), "render_seconds": round(render_seconds, 2)}
            )
            widest, closed = extremes(track.gap, speech_frames(rms), STRIP_COUNT)
            save_png(strip(track, widest, closed), strips / f"{name}.png")
            overview.append(overview_row(name, track, widest, closed))
            print(json.dumps(results[-1], ensure_ascii=False))
    report: dict[str, object] = {
        "machine": machine(),
        "engines": engines,
        "text": TEXT,
        "text_seconds": round(text_seconds, 2),
        "closed_gap": CLOSED_GAP,
        "speech_share": SPEECH_SHARE,
        "real_speakers": REAL_SPEAKERS,
        "portraits": results,
        "skipped": skipped,
        "run_seconds": round(time.perf_counter() - started, 1),
    }
    if overview:
        size = save_png(
            np.concatenate(overview, axis=0), args.output_dir / "mouth.png", OVERVIEW_MAX_BYTES
        )
        print(f"overview: {size / 1000:.0f} KB")
    write_report(args.output_dir, "mouth", report, markdown(report))


if __name__ == "__main__":
    main()
