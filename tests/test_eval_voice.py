"""The voice yardstick: real scenarios, real sessions in each teacher-forcing mode, real Whisper."""

import shutil

import numpy as np
import pytest
import torch

from microturn.config import preset
from microturn.eval.asr import normalize, transcribe, wer
from microturn.eval.voice import POOL, cases, speak, summary
from microturn.model import InteractionModel
from microturn.runtime.driver import Driver
from microturn.runtime.engine import Engine
from microturn.tokenizer import PAD

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


@pytest.fixture(scope="module")
def two():
    return cases(preset("tiny"), "dev", 2)


def test_cases_are_sentences_of_the_pool_with_their_text_stream(two):
    """Each case's text stream holds the model's aligned words (the synthesizer's word events,
    contractions whole), and its phone stream the phonemes of those words."""
    from microturn.data.families import make_scenario
    from microturn.tokenizer import PAD, Tokenizer

    tok = Tokenizer()
    for i, c in enumerate(two):
        tl = make_scenario(*POOL[i], "dev", 0)
        assert c.id == tl.id and len(c.text.split()) >= 3 and len(c.audio) == len(c.feed.audio)
        aligned = " ".join(w.text for e in tl.on("model") for w in e.words)
        said = tok.decode([int(k) for k in c.tokens if k != PAD])
        assert normalize(said) == normalize(aligned) == normalize(c.text)
        assert c.phones.shape == (len(c.tokens), 2) and (c.phones > 1).mean() > 0.2


def test_the_lexicon_holds_the_words_the_data_engine_says():
    from microturn.eval.voice import lexicon

    words = lexicon()
    assert {"twenty", "won't", "sorry", "minutes"} <= words and "ptta" not in words


def test_teacher_mode_says_the_heads_audio_over_the_true_history(two):
    """text-forced, own-phones and teacher sessions say the reference words; the teacher's
    audio is its flow head's, not the script's (which a plain scripted session says back)."""
    torch.manual_seed(0)
    model = InteractionModel(preset("tiny")).eval()
    said = speak(model, two, slots=6)
    c = two[0]
    from microturn.tokenizer import Tokenizer

    forced = normalize(Tokenizer().decode([int(k) for k in c.tokens if k != PAD]))
    for mode in ("teacher", "text-forced", "own-phones"):
        assert said[(c.id, mode)][1] == forced
    right, pieces = said[(c.id, "teacher")][2]  # the text head read on the true history
    assert pieces == int((c.tokens[4:] != PAD).sum()) and 0 <= right <= pieces
    assert said[(c.id, "free")][2] is None
    d = Driver(Engine(model, slots=1))
    s = d.open(c.feed)
    s.script = {"tokens": c.tokens, "logmel": c.logmel}
    while not d.done(s):
        d.tick()
    echoed = d.close(s).audio
    teacher = said[(c.id, "teacher")][0]
    assert teacher.shape == echoed.shape and not np.allclose(teacher, echoed, atol=1e-3)


def test_the_judge_hears_the_reference_voice(two):
    scores = [wer(normalize(c.text), transcribe(c.audio)) for c in two]
    assert np.mean(scores) < 0.6, scores


def test_the_stages_split_by_the_users_synthesizer(two):
    """`by_engine`: each stage's entries go to the synthesizer of their prompt, capped at 1 as
    the whole table is (the paired gap as it is); a case knows its user's synthesizer."""
    from microturn.eval.voice import by_engine, engine_table

    assert all(c.engine in ("espeak", "flite", "festival") for c in two)
    per = {"ceiling": [0.2, 1.5, 0.4], "free": [0.6, 0.9], "free_gap": [0.5, -0.25]}
    who = {"ceiling": ["espeak", "festival", "espeak"], "free": ["festival", "espeak"]}
    who["free_gap"] = who["free"]
    r = by_engine(per, who)
    assert set(r) == {"espeak", "festival"}
    assert r["espeak"]["ceiling"]["n"] == 2 and r["espeak"]["ceiling"]["mean"] == 0.3
    assert r["festival"]["ceiling"]["mean"] == 1.0  # 1.5 capped
    assert r["espeak"]["free"]["mean"] == 0.9 and r["espeak"]["free_gap"]["mean"] == -0.25
    assert r["festival"]["free_gap"]["mean"] == 0.5
    lines = engine_table(r)
    assert lines[-1].startswith("| festival | 1 | 1.000 | - |") and "+0.500" in lines[-1]


def test_summary():
    s = summary([0.0, 1.0, 0.5, 0.5])
    assert s["n"] == 4 and s["mean"] == 0.5 and s["median"] == 0.5
    assert 0.0 <= s["ci"][0] < 0.5 < s["ci"][1] <= 1.0
    assert summary([])["mean"] is None


def test_pieces_right_reads_the_trace_against_the_reference():
    """Trace row i speaks for slot 4 + i; <pad> aside, the likeliest piece is compared with the
    reference's at its piece slots only: right at slots 4 and 6, wrong at 8."""
    from microturn.eval.voice import pieces_right

    tokens = np.array([0, 0, 0, 0, 7, 0, 9, 0, 5])
    rows = torch.zeros(5, 16)
    rows[0, 7] = 1.0
    rows[2, PAD], rows[2, 9] = 3.0, 1.0  # <pad> likelier, but the piece is right
    rows[4, 3] = 1.0
    assert pieces_right([{"logits": r} for r in rows], tokens, 4) == (2, 3)


def test_the_data_voice_says_free_running_words_and_the_vocoder_keeps_them():
    """`free-raw` and `free-ceiling`: the model's own words said by the data engine's model
    voice, raw and through the runtime's vocoder; both are heard, and the vocoded one is as
    long as the raw one padded to whole chunks."""
    from microturn.eval.voice import data_voice
    from microturn.grid import Grid
    from microturn.voice.mel import MelAnalyzer
    from microturn.voice.vocoder import Vocoder

    cfg = preset("tiny")
    text = "i'm not able to help with that"
    raw, voc = data_voice(text, MelAnalyzer(cfg), Vocoder(cfg, n_iter=8), seed=0)
    assert len(voc) == Grid(cfg.grid).pad_to_chunks(len(raw)) and np.isfinite(voc).all()
    assert wer(normalize(text), transcribe(raw)) < 0.3
    assert wer(normalize(text), transcribe(voc)) < 0.5
