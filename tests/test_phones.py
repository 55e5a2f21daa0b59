"""The phone stream: espeak-ng's phoneme events -> held, frame-aligned ids leading the audio."""

import numpy as np
import pytest

from microturn.config import preset
from microturn.data.families import make_scenario
from microturn.data.generate import featurize
from microturn.data.layout import IGNORE, layout
from microturn.data.voices import MODEL_VOICE
from microturn.grid import Grid
from microturn.synth import Word, synthesize
from microturn.tokenizer import Tokenizer
from microturn.voice.phones import INVENTORY, N_PHONES, OTHER, SILENCE, frame_phones, phone_id


def test_frames_hold_each_phoneme_until_the_next():
    w = Word("at", 0.1, 0.3, [["a", 0.0], ["t", 0.1]])
    got = frame_phones([w], 16, 0.025)
    a, t = phone_id("a"), phone_id("t")
    # frame f sounds at f * 25 ms: "a" on [0.1, 0.2), "t" on [0.2, 0.3)
    assert got.tolist() == [0] * 4 + [a] * 4 + [t] * 4 + [0] * 4


def test_a_word_without_phones_reads_other_and_short_phonemes_keep_a_frame():
    got = frame_phones(
        [Word("x", 0.05, 0.1), Word("y", 0.2, 0.3, [["s", 0.0], ["t", 0.001]])], 16, 0.025
    )
    assert got[2:4].tolist() == [OTHER, OTHER]
    assert got[8] == phone_id("s") and got[9] == phone_id("t")
    assert phone_id("not-a-phoneme") == OTHER
    assert len(set(INVENTORY)) == len(INVENTORY) and N_PHONES <= preset("small").model.n_phones


def test_espeak_reports_every_phoneme_and_whole_contractions():
    clip = synthesize("I won't say it's twenty past seven", MODEL_VOICE)
    assert [w.text for w in clip.words] == ["I", "won't", "say", "it's", "twenty", "past", "seven"]
    for w in clip.words:
        assert w.phones, w
        dts = [dt for _, dt in w.phones]
        assert dts == sorted(dts) and 0 <= dts[0] and dts[-1] < w.t_off - w.t_on + 0.05, w
        assert all(phone_id(p) != OTHER for p, _ in w.phones), w  # all in the inventory
    assert [p for p, _ in clip.words[1].phones] == ["w", "oU", "n", "t"]


@pytest.fixture(scope="module")
def scenario():
    cfg = preset("small")
    tl = make_scenario("refusal", "harmful", "dev", 0)
    return cfg, tl, featurize(tl, cfg, audio=False)


def test_the_phone_stream_leads_the_model_audio_by_phone_lead(scenario):
    """Speech in the phone stream lines up with energy in the model's mel best at the lead."""
    cfg, tl, s = scenario
    lay = layout(tl, s.arrays, Tokenizer(), Grid(cfg.grid), phone_lead=2)
    out = lay.kind == 1
    assert (lay.phone_target[~out] == IGNORE).all() and (lay.phone[~out] == SILENCE).all()
    speech = lay.phone_target[out].reshape(-1) > 0
    energy = lay.mel_target[out].reshape(-1, cfg.mel.n_mels).mean(-1)
    assert speech.mean() > 0.1
    corr = [np.corrcoef(np.roll(speech, k)[8:], energy[8:])[0, 1] for k in range(9)]
    assert abs(int(np.argmax(corr)) - 4) <= 1, corr  # 2 slots = 4 frames
    # the input at each output position is the target of the position before it
    ph, tg = lay.phone[out], lay.phone_target[out]
    assert (ph[1:] == tg[:-1]).all()


def test_timelines_keep_phones_and_old_ones_read_without(scenario):
    from microturn.timeline import Timeline

    _, tl, _ = scenario
    back = Timeline.from_json(tl.to_json())
    words = [w for e in back.on("model") for w in e.words]
    assert words and all(w.phones for w in words)
    assert words == [w for e in tl.on("model") for w in e.words]


def test_the_flow_head_gets_the_phones_of_the_slot_it_voices_and_those_after(scenario):
    """phone_now at the output row voicing slot t: the phones of slots t, t+1, t+2 (L = 2),
    the ones the phone head wrote for them two, one and zero rows before."""
    cfg, tl, s = scenario
    lay = layout(tl, s.arrays, Tokenizer(), Grid(cfg.grid), phone_lead=2)
    out = lay.kind == 1
    now, tg = lay.phone_now[out], lay.phone_target[out]  # (n, 3, fpp), (n, fpp)
    assert now.shape[1:] == (3, 2) and (lay.phone_now[~out] == SILENCE).all()
    assert (now[2:, 0] == tg[:-2]).all() and (now[1:, 1] == tg[:-1]).all()
    assert (now[:, 2] == tg).all() and (tg != SILENCE).any()
