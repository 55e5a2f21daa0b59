"""Every engine's word times line up with its speech energy; rate, voice and binary errors.

One sentence per (engine, voice); `synthesize` caches clips, so the checks share the calls.
Engines that are not installed are skipped.
"""

import ctypes.util
import shutil

import numpy as np
import pytest

from microturn.synth import SynthError, Voice, synthesize
from microturn.synth.base import frame_db

TEXT = "well, i think we should probably go home now."
WORDS = [w.strip(" ,.?!;:") for w in TEXT.split()]

HAVE = {
    "espeak": ctypes.util.find_library("espeak-ng") is not None,
    "flite": shutil.which("flite") is not None and shutil.which("t2p") is not None,
    "festival": shutil.which("festival") is not None,
}
VOICES = {
    "espeak": ["en-us", "en-us+f3"],
    "flite": ["slt", "kal"],
    "festival": ["kal_diphone", "cmu_us_slt_arctic_hts"],
}
CASES = [(e, n) for e, names in VOICES.items() for n in names]


def _need(engine: str) -> None:
    if not HAVE[engine]:
        pytest.skip(f"{engine} is not installed")


@pytest.mark.parametrize("engine,name", CASES)
def test_words_follow_the_text_and_the_energy(engine, name):
    _need(engine)
    clip = synthesize(TEXT, Voice(engine, name))
    assert [w.text for w in clip.words] == WORDS
    lv = frame_db(clip.audio)  # 10 ms frames
    peak, loud = lv.max(), lv >= lv.max() - 40
    prev = 0.0
    for w in clip.words:
        assert prev - 1e-3 <= w.t_on <= w.t_off <= clip.duration + 1e-3, w
        prev = w.t_on
        a, b = int(w.t_on * 100), max(int(np.ceil(w.t_off * 100)), int(w.t_on * 100) + 1)
        assert lv[a:b].max() >= peak - 30, f"{w} spans no speech"
        assert loud[max(0, a - 5) : a + 6].any(), f"{w} starts more than 50 ms from speech"
    # the clip is trimmed to speech, so the words must reach its edges: catches times that
    # are shifted as a whole, which the per-word checks above forgive in continuous speech
    assert clip.words[0].t_on <= 0.05 and clip.duration - clip.words[-1].t_off <= 0.15


@pytest.mark.parametrize("engine", list(VOICES))
def test_rate_changes_duration(engine):
    _need(engine)
    name = VOICES[engine][0]
    fast = synthesize(TEXT, Voice(engine, name, rate=1.3)).duration
    slow = synthesize(TEXT, Voice(engine, name, rate=0.8)).duration
    assert fast < 0.85 * slow


@pytest.mark.parametrize("engine", list(VOICES))
def test_unknown_voice_is_refused(engine):
    _need(engine)
    with pytest.raises(SynthError, match="no voice"):
        synthesize("hello there", Voice(engine, "no_such_voice"))


@pytest.mark.parametrize("engine", ["flite", "festival"])
def test_missing_binary_names_the_package(engine, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    if engine == "festival":  # a running server would answer without looking for the binary
        import microturn.synth.festival as fest

        monkeypatch.setattr(fest, "_server", None)
    with pytest.raises(SynthError, match=f"apt-get install {engine}"):
        synthesize("a binary check", Voice(engine, VOICES[engine][0]))


def test_festival_batch_matches_single_calls():
    _need("festival")
    from microturn.synth.festival import render, render_many

    # the changed voice first: its settings must not leak into the next utterance
    fast = Voice("festival", "kal_diphone", rate=1.2, pitch=70)
    items = [("forty two dogs", fast), ("hello there,", Voice("festival", "kal_diphone"))]
    many = render_many(items)
    for (text, v), (audio, words) in zip(items, many, strict=True):
        one_audio, one_words = render(text, v)
        assert len(audio) == len(one_audio) and words == one_words


def _centroid(x: np.ndarray) -> float:
    """Spectral centroid (Hz) of the voiced-loud frames, 16 kHz."""
    fr = x[: len(x) // 512 * 512].reshape(-1, 512) * np.hanning(512)
    mag = np.abs(np.fft.rfft(fr, axis=1))
    loud = frame_db(x, 512)[: len(mag)] > frame_db(x, 512).max() - 30
    f = np.fft.rfftfreq(512, 1 / 16000)
    m = mag[loud]
    return float((m * f).sum() / m.sum())


@pytest.mark.parametrize("engine", ["flite", "espeak"])
def test_formant_scale_raises_the_spectrum_and_keeps_the_pace(engine):
    """formant 1.2: spoken 1.2x slower, played 1.2x faster: about the same duration, word times
    scaled with the audio, the spectrum shifted up."""
    _need(engine)
    name = VOICES[engine][1]
    base = synthesize(TEXT, Voice(engine, name))
    up = synthesize(TEXT, Voice(engine, name, formant=1.2))
    assert 0.85 < up.duration / base.duration < 1.15
    assert [w.text for w in up.words] == [w.text for w in base.words]
    assert up.words[-1].t_off <= up.duration + 0.05
    assert _centroid(up.audio) > 1.08 * _centroid(base.audio)


def test_formant_scale_is_in_the_id_and_train_only():
    import random

    from microturn.data.voices import POOLS

    v = Voice("flite", "kal", formant=1.1)
    assert v.id.endswith("~1.10") and Voice(**v.to_dict()) == v
    assert "formant" not in Voice("flite", "kal").to_dict()  # old timelines read the same
    with pytest.raises(SynthError, match="formant"):
        Voice("flite", "kal", formant=2.0)
    rng = random.Random(0)
    train = [POOLS["train"].sample(rng).formant for _ in range(200)]
    assert min(train) >= 0.92 and max(train) <= 1.25 and len(set(train)) > 20
    assert all(POOLS[s].sample(rng).formant == 1.0 for s in ("dev", "test") for _ in range(50))
