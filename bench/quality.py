"""Quality numbers behind the render tests: lip-sync correlation, identity, face detection.

``python -m bench.quality`` renders the demo portrait (and the shared fixture faces when they
are present) and writes ``bench/quality.md``. The tests assert thresholds; this reports values.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from inference.demo import astronaut, png
from inference.face import FaceAnalyzer, load_image
from inference.pipeline import Renderer
from inference.settings import RenderSettings
from inference.tts.espeak import EspeakEngine
from testkit.face_assets import fixtures_dir
from testkit.quality import best_lag_correlation, measure, voice_message

HERE = Path(__file__).resolve().parent
TEXT = (
    "Здравствуйте! Сегодня я расскажу вам о космосе и о нашем полёте. Мы летали на орбиту "
    "двенадцать дней, и каждое утро видели восход солнца шестнадцать раз. "
    "Это было удивительно красиво."
)


def main() -> None:
    analyzer = FaceAnalyzer()
    renderer = Renderer(RenderSettings(), analyzer=analyzer)
    photos = {"astronaut (text)": png(astronaut())}
    for name in ("obama.jpg", "biden.jpg", "obama2.jpg"):
        path = fixtures_dir() / "faces" / name
        if path.exists():
            photos[f"{name} (text)"] = path.read_bytes()
    speech = EspeakEngine().synthesize(TEXT, voice="ru-female")
    voice = voice_message(speech.samples, speech.sample_rate)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cases: list[tuple[str, bytes, str | None, bytes | None]] = [
            (name, photo, TEXT, None) for name, photo in photos.items()
        ]
        cases.append(("astronaut (voice message)", photos["astronaut (text)"], None, voice))
        for index, (name, photo, text, audio) in enumerate(cases):
            out = Path(folder) / f"{index}.mp4"
            renderer.render(photo, out, text=text, audio=audio)
            m = measure(out, analyzer, 25)
            image = load_image(photo)
            reference = analyzer.embedding(image, analyzer.find_face(image))
            distances = [
                float(np.linalg.norm(analyzer.embedding(f, analyzer.find_face(f)) - reference))
                for f in m.frames[:: max(1, len(m.frames) // 8)]
            ]
            forward = best_lag_correlation(m.opening, m.loudness, 2)
            backward = best_lag_correlation(m.opening, m.loudness[::-1].copy(), 2)
            rows.append(
                f"| {name} | {len(m.frames) / 25:.1f} s | {m.found.mean():.3f} | {forward:.2f} "
                f"| {backward:.2f} | {max(distances):.3f} |"
            )
            print(rows[-1])
    table = [
        "Lip sync is Pearson r between the dlib inner-lip gap and the audio RMS per frame, best "
        "lag within ±80 ms; identity is the largest face-embedding distance photo↔frame.",
        "",
        "| case | length | face found | r | r (reversed audio) | identity distance |",
        "|---|---|---|---|---|---|",
        *rows,
    ]
    (HERE / "quality.md").write_text("\n".join(table) + "\n")


if __name__ == "__main__":
    main()
