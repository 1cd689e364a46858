import numpy as np
import pytest

from inference.errors import ErrorCode, RenderError
from inference.tts.espeak import EspeakEngine
from testkit.quality import median_pitch


@pytest.fixture(scope="module")
def engine() -> EspeakEngine:
    return EspeakEngine()


def test_voices_include_a_male_and_a_female(engine: EspeakEngine) -> None:
    genders = {voice.gender for voice in engine.voices()}
    assert {"male", "female"} <= genders


def test_speech_has_audio_and_ordered_phoneme_events(engine: EspeakEngine) -> None:
    speech = engine.synthesize("Мама мыла раму.")
    assert speech.sample_rate == 22050
    assert 0.6 < speech.duration < 3.0
    assert np.abs(speech.samples).max() > 0.05
    assert speech.phonemes
    starts = [event.start for event in speech.phonemes]
    assert starts == sorted(starts)
    assert all(event.end > event.start for event in speech.phonemes)
    assert speech.phonemes[-1].end <= speech.duration + 1e-6
    names = "".join(event.phoneme for event in speech.phonemes)
    assert "m" in names and "a" in names


def test_phoneme_events_line_up_with_the_sound(engine: EspeakEngine) -> None:
    """Vowels are louder than the closures of "п" and "б": the timings are real."""
    speech = engine.synthesize("Папа бабу пропил.")
    assert speech.phonemes
    rate, x = speech.sample_rate, speech.samples
    events = speech.phonemes

    def rms(kind: set[str]) -> float:
        parts = [
            x[int(e.start * rate) : int(e.end * rate)]
            for e in events
            if e.phoneme.strip("ˈˌ") in kind
        ]
        return float(np.sqrt(np.mean(np.concatenate(parts) ** 2)))

    assert rms({"a", "ɑ", "ʌ", "u", "i"}) > 3 * rms({"p", "b"})


def test_rate_changes_the_duration(engine: EspeakEngine) -> None:
    text = "Сегодня отличная погода для прогулки по парку."
    slow = engine.synthesize(text, rate=0.8).duration
    fast = engine.synthesize(text, rate=1.6).duration
    assert fast < slow * 0.7


def test_male_and_female_voices_differ_in_pitch(engine: EspeakEngine) -> None:
    def pitch(voice: str) -> float:
        speech = engine.synthesize("Ааааа ооооо.", voice=voice)
        return median_pitch(speech.samples, speech.sample_rate)

    assert pitch("ru-female") > pitch("ru-male") * 1.3


def test_unknown_voice_is_a_typed_refusal(engine: EspeakEngine) -> None:
    with pytest.raises(RenderError) as caught:
        engine.synthesize("Привет.", voice="nope")
    assert caught.value.code is ErrorCode.VOICE_UNKNOWN
