"""The Silero engine's own code: loading, chunking, stress, SSML, stitching, errors.

These tests do NOT test Silero's voice. No Silero model is downloaded here: a small stand-in
with the same interface (``speakers``, ``to(device)``, ``apply_tts(text=None, ssml_text=None,
speaker=..., sample_rate=..., put_accent=..., put_yo=...)`` returning a 1-D torch tensor: a tone
whose length follows the text and whose pitch follows the speaker) is exported with
``torch.package.PackageExporter`` under Silero's names ("tts_models", "model"), so the real
loading path runs. It records every call, which is what the tests inspect. Only the stress
marks come from the real thing: silero-stress places them on real Russian words.

torch is not in the project's main environment: the tests that build an engine (or place
stress) ask for the ``torch`` fixture and are skipped there; the rest (chunking, prosody
levels, importing without torch, a missing model) run everywhere.
"""

from __future__ import annotations

import logging
import math
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from inference.errors import ErrorCode, RenderError
from inference.models import LockEntry, ModelMissing, ModelStore
from inference.models.store import sha256_file
from inference.text.duration import VOWELS
from inference.tts.silero import (
    PAUSE_SECONDS,
    SileroEngine,
    gender_of,
    halve,
    load_silero,
    prosody_rate,
    silero_device,
    split_chunks,
)
from inference.tts.stress import StressPlacer
from tests.neural import need

SR = 48000
SECONDS_PER_CHAR = 0.02  # the stand-in's "speech" rate
AMPLITUDE = 0.5
SPEAKERS = ["xenia", "aidar", "ru_zhadyra", "kaz_zhadyra", "random", "ru_mystery"]
STAND_IN_MODULE = "govorun_fake_silero"
STAND_IN_SOURCE = '''
import math
import re

import torch

TOO_LONG = "Model couldn't generate your text, probably it's too long"


class FakeSileroTTS:
    """Silero's TTS interface, with a tone for a voice."""

    def __init__(self, speakers, limit=1000, seconds_per_char=0.02):
        self.speakers = list(speakers)
        self.limit = limit
        self.seconds_per_char = seconds_per_char
        self.calls = []
        self.device = None

    def to(self, device):
        self.device = str(device)
        return self

    def apply_tts(self, text=None, ssml_text=None, speaker="xenia", sample_rate=48000,
                  put_accent=True, put_yo=True):
        if speaker not in self.speakers:
            raise ValueError("speaker")
        source = ssml_text if ssml_text is not None else text
        spoken = re.sub(r"<[^>]*>", "", source).replace("+", "")
        if len(spoken) > self.limit:
            raise Exception(TOO_LONG)
        self.calls.append({"text": text, "ssml_text": ssml_text, "speaker": speaker,
                           "sample_rate": sample_rate, "put_accent": put_accent,
                           "put_yo": put_yo})
        n = int(len(spoken) * self.seconds_per_char * sample_rate)
        freq = 200.0 + 40.0 * self.speakers.index(speaker)
        t = torch.arange(n, dtype=torch.float64) / sample_rate
        return (0.5 * torch.sin(2 * math.pi * freq * t)).float()
'''

SENTENCES = [
    "Говорун отличается умом и сообразительностью.",
    "Утром над рекой стоял густой туман, и лодки не выходили на воду.",
    "Мы долго шли по лесу, слушая, как поют птицы.",
    "Завтра обещают дождь.",
    "Старый замок на холме видно из любой точки города, особенно на закате.",
    "Молоко убежало, пока мы спорили о погоде!",
    "Почему никто не предупредил нас заранее?",
]


def _russian_text(min_chars: int) -> str:
    parts: list[str] = []
    i = 0
    while sum(len(p) + 1 for p in parts) < min_chars:
        parts.append(SENTENCES[i % len(SENTENCES)])
        i += 1
    return " ".join(parts)


def _export_stand_in(directory: Path, path: Path, **kwargs: Any) -> Path:
    import torch

    (directory / f"{STAND_IN_MODULE}.py").write_text(STAND_IN_SOURCE, encoding="utf-8")
    sys.path.insert(0, str(directory))
    try:
        module = __import__(STAND_IN_MODULE)
        with torch.package.PackageExporter(str(path)) as exporter:  # type: ignore[attr-defined]
            exporter.intern(STAND_IN_MODULE)
            exporter.extern(["torch", "torch.**"])
            exporter.save_pickle("tts_models", "model", module.FakeSileroTTS(SPEAKERS, **kwargs))
    finally:
        sys.path.remove(str(directory))
        sys.modules.pop(STAND_IN_MODULE, None)
    return path


@pytest.fixture(scope="module")
def torch() -> ModuleType:
    """torch, for the tests that need it (skipped without it, except under `make test`)."""
    return need("torch", "the Silero engine needs torch (the neural extra)")


@pytest.fixture(scope="module")
def model_path(torch: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("silero")
    return _export_stand_in(directory, directory / "v5_stand_in.pt")


@pytest.fixture(scope="module")
def placer(torch: ModuleType) -> StressPlacer:
    threads = torch.get_num_threads()
    placer = StressPlacer()
    # silero-stress sets torch to one thread on import; the loader puts the count back.
    assert torch.get_num_threads() == threads
    return placer


@pytest.fixture
def engine(model_path: Path) -> SileroEngine:
    return SileroEngine(model_path)


def _spoken(call: dict[str, Any]) -> str:
    source = call["ssml_text"] if call["ssml_text"] is not None else call["text"]
    return str(re.sub(r"<[^>]*>", "", source).replace("+", ""))


def _samples_for(call: dict[str, Any]) -> int:
    return int(len(_spoken(call)) * SECONDS_PER_CHAR * call["sample_rate"])


# --- loading -----------------------------------------------------------------------------


def test_loads_the_package_and_lists_the_russian_speakers(engine: SileroEngine) -> None:
    assert engine.name == "silero"
    assert "torch_package" in type(engine.model).__module__  # came out of the archive
    assert engine.model.device == "cpu"
    voices = {voice.id: voice for voice in engine.voices()}
    # Other languages' CIS speakers and the one-off "random" voice are not offered.
    assert list(voices) == ["xenia", "aidar", "ru_zhadyra", "ru_mystery"]
    assert voices["xenia"].gender == "female"
    assert voices["aidar"].gender == "male"
    assert voices["ru_zhadyra"].gender == "female"
    assert voices["ru_zhadyra"].name == "Zhadyra"
    assert voices["ru_mystery"].gender == "unknown"
    assert engine.default_voice == "xenia"


def test_speech_is_48k_float32_mono_without_phonemes(engine: SileroEngine) -> None:
    speech = engine.synthesize("Мама мыла раму.", voice="aidar")
    assert speech.sample_rate == SR
    assert speech.samples.dtype == np.float32 and speech.samples.ndim == 1
    assert speech.phonemes is None
    assert float(np.abs(speech.samples).max()) <= 1.0
    (call,) = engine.model.calls
    assert call["speaker"] == "aidar" and call["sample_rate"] == SR
    assert call["put_accent"] is True and call["put_yo"] is True
    assert call["text"] == "Мама мыла раму." and call["ssml_text"] is None


# The Russian speakers of v5_cis_base, as Silero's own notebook for it lists them.
CIS_RUSSIAN = (
    "ru_aigul", "ru_albina", "ru_alexandr", "ru_alfia", "ru_alfia2", "ru_bogdan", "ru_dmitriy",
    "ru_eduard", "ru_ekaterina", "ru_gamat", "ru_igor", "ru_karina", "ru_kejilgan", "ru_kermen",
    "ru_marat", "ru_miyau", "ru_nurgul", "ru_oksana", "ru_onaoy", "ru_ramilia", "ru_roman",
    "ru_safarhuja", "ru_saida", "ru_sibday", "ru_vika", "ru_zara", "ru_zhadyra", "ru_zhazira",
    "ru_zinaida",
)  # fmt: skip


def test_every_russian_speaker_of_v5_cis_base_has_a_gender() -> None:
    genders = {speaker: gender_of(speaker) for speaker in CIS_RUSSIAN}
    assert "unknown" not in genders.values(), genders
    assert [genders[s] for s in ("ru_kejilgan", "ru_miyau", "ru_onaoy", "ru_sibday")] == [
        "male",
        "male",
        "female",
        "male",
    ]


def test_silero_runs_on_the_device_silero_device_names(
    tmp_path: Path, model_path: Path, monkeypatch: pytest.MonkeyPatch, torch: ModuleType
) -> None:
    store = ModelStore(tmp_path)
    _install(store, "silero-v4-ru", model_path)  # no stress model needed
    monkeypatch.delenv("SILERO_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert silero_device("auto") == "cuda"  # a GPU host: Silero runs beside SadTalker there
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert silero_device("auto") == "cpu"
    assert load_silero(store, "silero-v4-ru").model.device == "cpu"
    # The stand-in only records where it was moved: any device name reaches it.
    monkeypatch.setenv("SILERO_DEVICE", "cuda:1")
    assert load_silero(store, "silero-v4-ru").model.device == "cuda:1"
    assert load_silero(store, "silero-v4-ru", device="cpu").model.device == "cpu"


# --- chunking ----------------------------------------------------------------------------


def test_long_text_is_split_into_calls_under_the_limit(engine: SileroEngine) -> None:
    text = _russian_text(3000)
    assert len(text) >= 3000
    engine.synthesize(text)
    texts = [call["text"] for call in engine.model.calls]
    assert len(texts) >= 4
    assert all(len(t) <= 900 for t in texts)
    assert all(t.endswith((".", "!", "?")) for t in texts)  # whole sentences
    assert " ".join(texts) == text  # nothing lost, no word cut


def test_a_long_sentence_is_split_between_words(engine: SileroEngine) -> None:
    words = ("слово, за словом идёт" * 200).split()
    text = " ".join(words)  # ~4000 characters, no sentence end
    engine.synthesize(text)
    texts = [call["text"] for call in engine.model.calls]
    assert len(texts) >= 5 and all(len(t) <= 900 for t in texts)
    assert " ".join(texts) == text
    assert all(set(t.split()) <= set(words) for t in texts)


def test_a_chunk_the_model_refuses_is_halved_and_retried(model_path: Path) -> None:
    engine = SileroEngine(model_path, max_chars=5000)
    engine.model.limit = 300  # this speaker's limit is lower than we assumed
    text = _russian_text(1200)
    speech = engine.synthesize(text)
    texts = [call["text"] for call in engine.model.calls]
    assert len(texts) >= 4 and all(len(t) <= 300 for t in texts)
    assert " ".join(texts) == text
    assert speech.duration > 0


def test_a_single_word_the_model_refuses_is_text_too_long(model_path: Path) -> None:
    engine = SileroEngine(model_path, max_chars=5000)
    engine.model.limit = 20
    with pytest.raises(RenderError) as caught:
        engine.synthesize("Превысокомногорассмотрительствующий")
    assert caught.value.code is ErrorCode.TEXT_TOO_LONG


def test_split_helpers() -> None:
    assert split_chunks("  Раз.\n\nДва!   Три?  ", 100) == ["Раз. Два! Три?"]
    assert split_chunks("Раз. Два! Три?", 5) == ["Раз.", "Два!", "Три?"]
    assert split_chunks("...", 100) == []
    assert split_chunks("а" * 25, 10) == ["а" * 10, "а" * 10, "а" * 5]  # only a monster word
    assert halve("Один два. Три четыре пять шесть") == ("Один два.", "Три четыре пять шесть")
    assert halve("раз два, три четыре") == ("раз два,", "три четыре")
    assert halve("слово") is None


# --- stitching ---------------------------------------------------------------------------


def test_chunks_join_without_clicks(model_path: Path) -> None:
    engine = SileroEngine(model_path, max_chars=80)
    text = " ".join(SENTENCES[:5])
    speech = engine.synthesize(text, voice="ru_zhadyra")
    calls = list(engine.model.calls)
    assert len(calls) >= 4
    freq = 200.0 + 40.0 * SPEAKERS.index("ru_zhadyra")
    own_step = AMPLITUDE * 2 * math.pi * freq / SR
    steps = np.abs(np.diff(speech.samples))
    assert float(steps.max()) < own_step + 1e-3
    assert abs(float(speech.samples[0])) < 1e-3 and abs(float(speech.samples[-1])) < 1e-3
    # Plain concatenation of the same chunks would click: the test can tell.
    raw = [engine.model.apply_tts(text=c["text"], speaker="ru_zhadyra").numpy() for c in calls]
    assert float(np.abs(np.diff(np.concatenate(raw))).max()) > 10 * own_step


def test_duration_is_the_chunks_plus_the_pauses(model_path: Path) -> None:
    engine = SileroEngine(model_path, max_chars=120)
    speech = engine.synthesize(_russian_text(600))
    calls = list(engine.model.calls)
    assert len(calls) >= 4
    pause = round(PAUSE_SECONDS * SR)
    assert len(speech.samples) == sum(_samples_for(c) for c in calls) + pause * (len(calls) - 1)
    # Each pause is real silence.
    first = _samples_for(calls[0])
    assert not np.any(speech.samples[first : first + pause])


# --- stress, rate, SSML ------------------------------------------------------------------


def _assert_one_mark_per_word(marked: str) -> None:
    for word in re.findall(r"[\w+]+", marked):
        if any(ch in VOWELS for ch in word):
            assert word.count("+") == 1, word
            assert word[word.index("+") + 1] in VOWELS, word


def test_stress_marks_are_placed_before_apply_tts(model_path: Path, placer: StressPlacer) -> None:
    engine = SileroEngine(model_path, needs_stress=True, stress=placer)
    text = "Старый замок стоит на горе. Молоко убежало!"
    engine.synthesize(text)
    (call,) = engine.model.calls
    marked = call["text"]
    assert "+" in marked
    assert marked.replace("+", "").replace("ё", "е") == text.replace("ё", "е")
    _assert_one_mark_per_word(marked)


def test_no_marks_for_a_model_that_places_stress_itself(
    model_path: Path, placer: StressPlacer
) -> None:
    engine = SileroEngine(model_path, needs_stress=False, stress=placer)
    engine.synthesize("Старый замок стоит на горе.")
    assert engine.model.calls[0]["text"] == "Старый замок стоит на горе."


def test_rate_becomes_ssml_prosody(engine: SileroEngine) -> None:
    engine.synthesize("Быстро и чётко & ясно.", rate=1.3)
    engine.synthesize("Медленно.", rate=0.6)
    engine.synthesize("Как обычно.", rate=1.05)
    fast, slow, normal = engine.model.calls
    assert fast["text"] is None
    assert fast["ssml_text"] == (
        '<speak><prosody rate="fast">Быстро и чётко &amp; ясно.</prosody></speak>'
    )
    assert slow["ssml_text"] == '<speak><prosody rate="x-slow">Медленно.</prosody></speak>'
    assert normal["text"] == "Как обычно." and normal["ssml_text"] is None


def test_rates_map_to_silero_prosody_levels() -> None:
    assert [prosody_rate(r) for r in (0.5, 0.8, 1.0, 1.2, 2.0)] == [
        "x-slow",
        "slow",
        None,
        "fast",
        "x-fast",
    ]
    with pytest.raises(ValueError):
        prosody_rate(0)


def test_ssml_passes_through_untouched(model_path: Path, placer: StressPlacer) -> None:
    engine = SileroEngine(model_path, needs_stress=True, stress=placer)
    ssml = '<speak>Прив+ет, <break time="500ms"/> <prosody rate="slow">мир</prosody>.</speak>'
    speech = engine.synthesize(ssml, rate=1.5)
    (call,) = engine.model.calls
    assert call["ssml_text"] == ssml and call["text"] is None
    assert len(speech.samples) == _samples_for(call)


# --- errors ------------------------------------------------------------------------------


def test_unknown_speaker_is_voice_unknown(model_path: Path, engine: SileroEngine) -> None:
    for voice in ("nobody", "kaz_zhadyra", "random"):
        with pytest.raises(RenderError) as caught:
            engine.synthesize("Привет.", voice=voice)
        assert caught.value.code is ErrorCode.VOICE_UNKNOWN
    assert engine.model.calls == []
    with pytest.raises(RenderError) as caught:
        SileroEngine(model_path, default_voice="nobody")
    assert caught.value.code is ErrorCode.VOICE_UNKNOWN


def test_nothing_speakable_is_text_empty(engine: SileroEngine) -> None:
    with pytest.raises(RenderError) as caught:
        engine.synthesize(" ... ")
    assert caught.value.code is ErrorCode.TEXT_EMPTY


@pytest.mark.parametrize("kind", ["garbage", "zip", "absent"])
def test_a_broken_model_file_is_engine_unavailable(
    torch: ModuleType, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "secret-user-dir" / "v5_cis_base.pt"
    path.parent.mkdir()
    if kind == "garbage":
        path.write_bytes(b"\x00not a torch package" * 100)
    elif kind == "zip":  # a valid torch.package without Silero's model in it
        with torch.package.PackageExporter(str(path)) as exporter:
            exporter.save_pickle("other", "thing", {"a": 1})
    with pytest.raises(RenderError) as caught:
        SileroEngine(path)
    assert caught.value.code is ErrorCode.ENGINE_UNAVAILABLE
    assert caught.value.params == {"engine": "silero"}
    assert "secret" not in str(caught.value) and str(tmp_path) not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_importing_the_module_does_not_need_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import inference.tts.silero as s\n"
        "from inference.errors import RenderError\n"
        "try:\n"
        "    s.SileroEngine(__import__('pathlib').Path('x.pt'))\n"
        "except RenderError as e:\n"
        "    print(e.code.value)\n"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    )
    assert out.stdout.strip() == "engine_unavailable"


# --- the model store ---------------------------------------------------------------------


def test_load_silero_without_the_model_names_the_download_command(tmp_path: Path) -> None:
    store = ModelStore(tmp_path)
    with pytest.raises(ModelMissing) as caught:
        load_silero(store)
    assert "govorun models download silero-v5-cis-base" in str(caught.value)


def _install(store: ModelStore, name: str, source: Path) -> None:
    target = store.path(name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    store.record(
        name,
        LockEntry(
            sha256=sha256_file(target),
            size=target.stat().st_size,
            url=store.entry(name).url,
            downloaded_at=datetime.now(UTC),
        ),
    )


def test_load_silero_opens_the_verified_file(
    tmp_path: Path, model_path: Path, placer: StressPlacer
) -> None:
    store = ModelStore(tmp_path)
    _install(store, "silero-v5-cis-base", model_path)
    _install(store, "silero-v4-ru", model_path)
    cis = load_silero(store, stress=placer)
    assert cis.needs_stress
    v4 = load_silero(store, "silero-v4-ru")
    assert not v4.needs_stress
    assert [v.id for v in cis.voices()] == [v.id for v in v4.voices()]


# --- silero-stress on real words ---------------------------------------------------------


@pytest.mark.parametrize("word", ["замок", "молоко", "привет", "говорун", "сообразительность"])
def test_real_stress_marks_one_vowel(placer: StressPlacer, word: str) -> None:
    marked = placer.place(word)
    assert marked.count("+") == 1
    assert marked[marked.index("+") + 1] in VOWELS
    assert marked.replace("+", "") == word


def test_real_stress_known_answers(placer: StressPlacer) -> None:
    assert placer.place("молоко") == "молок+о"
    assert placer.place("привет") == "прив+ет"


def test_real_stress_keeps_the_words_of_a_sentence(placer: StressPlacer) -> None:
    text = "Птица-говорун отличается умом и сообразительностью, а также хорошей памятью."
    marked = placer.place(text)
    assert marked.replace("+", "") == text
    _assert_one_mark_per_word(marked)


def test_real_stress_keeps_user_marks_and_drops_stray_pluses(placer: StressPlacer) -> None:
    assert placer.place("з+амок") == "з+амок"  # the user's choice wins
    marked = placer.place("два + два")
    assert " + " not in marked and marked.replace("+", "") == "два  два"
    assert placer.place("123 hello") == "123 hello"


def test_auto_picks_silero_when_its_weights_are_present(
    tmp_path: Path, model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """And eSpeak when they are not; a voice id of the other engine falls back to the default."""
    from inference.engines import create_tts

    monkeypatch.setenv("MODELS_DIR", str(tmp_path))
    assert create_tts("auto").name == "espeak"
    _install(ModelStore(tmp_path), "silero-v5-cis-base", model_path)
    engine = create_tts("auto")
    assert engine.name == "silero"
    assert {v.id for v in engine.voices()}.isdisjoint({"ru-male", "ru-female"})


def test_auto_falls_back_to_espeak_when_silero_fails_to_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Weights present and verified but not a model: the worker starts on eSpeak, says why."""
    from inference.engines import create_tts, load_tts

    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"\x00not a torch package" * 100)
    _install(ModelStore(tmp_path), "silero-v5-cis-base", broken)
    monkeypatch.setenv("MODELS_DIR", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="govorun.engines"):
        assert create_tts("auto").name == "espeak"
    assert "Silero failed to load: RenderError: engine_unavailable" in caplog.text
    engine, why = load_tts("auto")
    assert engine.name == "espeak" and why is not None and why.startswith("failed to load")
    with pytest.raises(RenderError) as caught:  # named explicitly, it does not fall back
        create_tts("silero")
    assert caught.value.code is ErrorCode.ENGINE_UNAVAILABLE


def test_a_note_renders_with_silero_speech_and_audio_driven_visemes(
    tmp_path: Path, model_path: Path, placer: StressPlacer, astronaut_png: bytes
) -> None:
    from inference.media import probe
    from inference.pipeline import Renderer
    from inference.settings import RenderSettings

    store = ModelStore(tmp_path)
    _install(store, "silero-v5-cis-base", model_path)
    engine = load_silero(store, stress=placer)
    renderer = Renderer(RenderSettings(size=240), tts=engine)
    out = tmp_path / "note.mp4"
    result = renderer.render(
        astronaut_png, out, text="Привет! Меня зовут Говорун.", voice="ru-male"
    )
    assert result.engines["tts"] == "silero"
    info = probe(out)
    assert info.audio_sample_rate == 48000 and info.duration > 0.5
