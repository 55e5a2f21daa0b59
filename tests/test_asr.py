import pytest

from microturn.eval.asr import normalize, wer


def test_wer_counts_edits():
    assert wer("a b c d", "a b c d") == 0.0
    assert wer("a b c d", "a x c") == 0.5  # one substitution, one deletion
    assert wer("a b", "a b c d") == 1.0  # two insertions
    assert wer("", "") == 0.0 and wer("", "x") == 1.0


def test_normalize_spells_numbers_and_drops_punctuation():
    assert normalize("24.") == "twenty four"
    assert normalize("Can you tell me, please?") == "can you tell me please"
    assert normalize("mm-hmm, 7 o'clock") == "mm hmm seven o'clock"


@pytest.mark.parametrize("engine,beam", [("whisper", 1), ("whisper", 5), ("pocketsphinx", 1)])
def test_transcribe_real_speech(engine, beam):
    pytest.importorskip("faster_whisper" if engine == "whisper" else "pocketsphinx")
    from microturn.eval.asr import transcribe
    from microturn.synth import Voice, synthesize

    said = "one two three four five six"
    other = "the weather is nice today"
    audio = synthesize(said, Voice("espeak", "en-us", rate=0.8)).audio
    hyp = transcribe(audio, engine=engine, **({"beam_size": beam} if beam > 1 else {}))
    assert hyp == hyp.lower()
    assert wer(said, hyp) < wer(other, hyp)
    if engine == "whisper":  # a real recogniser: (nearly) word for word on espeak-ng
        assert wer(said, hyp) <= 1 / 6, hyp
    else:  # weak on espeak, but it hears *something* of what was said
        assert wer(said, hyp) < 1.0


def test_a_model_that_said_nothing_has_no_wer():
    from microturn.eval.sample import own_wer

    assert own_wer("", "") is None  # 0/0 is not a perfect score
    assert own_wer("", "wait") is None
    assert own_wer("three hundred fifty", "three hundred fifty") == 0.0
    assert own_wer("five", "wait") == 1.0
