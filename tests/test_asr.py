import pytest

from microturn.asr import wer


def test_wer_counts_edits():
    assert wer("a b c d", "a b c d") == 0.0
    assert wer("a b c d", "a x c") == 0.5  # one substitution, one deletion
    assert wer("a b", "a b c d") == 1.0  # two insertions
    assert wer("", "") == 0.0 and wer("", "x") == 1.0


def test_transcribe_real_speech():
    pytest.importorskip("pocketsphinx")
    from microturn.asr import transcribe
    from microturn.synth import Voice, synthesize

    said = "one two three four five six"
    other = "the weather is nice today"
    hyp = transcribe(synthesize(said, Voice("espeak", "en-us", rate=0.8)).audio)
    assert hyp == hyp.lower()
    # weak on espeak, but it hears *something* of what was said
    assert wer(said, hyp) < 1.0 and wer(said, hyp) < wer(other, hyp)
