"""The micro-turn layout on a hand-built timeline: where each token lands, which positions are
turn-taking decisions, and that a cropped window is exactly a slice of the whole."""

import numpy as np
import pytest

from microturn.config import GridConfig
from microturn.data.layout import IGNORE, INPUT, OUTPUT, collate, layout
from microturn.grid import Grid
from microturn.synth.base import Word
from microturn.timeline import Event, Timeline
from microturn.tokenizer import PAD, Tokenizer

SLOT = 0.05  # 200 ms / 4 slots


def conversation() -> tuple[Timeline, dict]:
    """User: "what is two plus two" 0.5-1.5 s, a pause, then the model says "four" at 2.0 s."""
    user = [
        Word(w, 0.5 + 0.2 * i, 0.5 + 0.2 * (i + 1))
        for i, w in enumerate("what is two plus two".split())
    ]
    events = [
        Event("user", "utterance", 0.5, 1.5, "what is two plus two", user),
        Event("model", "utterance", 2.0, 2.4, "four", [Word("four", 2.0, 2.4)]),
    ]
    tl = Timeline("t", "qa", "ask", True, "dev", 4.0, events)
    return tl, random_arrays(160)  # 4 s at 25 ms hops = 20 chunks


def random_arrays(frames: int) -> dict:
    """A sample's feature arrays, random: `frames` 25 ms frames of both channels."""
    rng = np.random.default_rng(0)
    return {
        "user_dmel": rng.integers(0, 16, (frames, 80), dtype=np.uint8),
        "model_dmel": rng.integers(0, 16, (frames, 80), dtype=np.uint8),
        "model_mel": rng.normal(size=(frames, 80)).astype(np.float16),
    }


@pytest.fixture(scope="module")
def parts():
    return Tokenizer(), Grid(GridConfig())


def test_tokens_land_at_their_times(parts):
    tok, grid = parts
    tl, arrays = conversation()
    lay = layout(tl, arrays, tok, grid, text_lead=2, transcript_lag=6)
    assert len(lay) == 20 * 8
    assert (lay.kind.reshape(20, 8)[:, :4] == INPUT).all()
    assert (lay.kind.reshape(20, 8)[:, 4:] == OUTPUT).all()
    out = lay.kind == OUTPUT
    # the model's "four" (2.0 s = slot 40) is its text target two slots early, at slot 38
    said = np.nonzero(out & (lay.text_target != PAD) & (lay.text_target != IGNORE))[0]
    assert lay.pos[said[0]] == 40 - 2
    assert tok.decode(lay.text_target[said].tolist()).strip() == "four"
    # ... and is fed back as its input one slot later (teacher forcing)
    nxt = np.nonzero(out & (lay.pos == 39))[0][0]
    assert lay.text[nxt] == lay.text_target[said[0]]
    # the user's first word (0.5 s = slot 10) is transcribed six slots late
    heard = np.nonzero((lay.kind == INPUT) & (lay.transcript_target > PAD))[0]
    assert lay.pos[heard[0]] == 10 + 6
    assert (lay.text_target[~out] == IGNORE).all() and (lay.transcript_target[out] == IGNORE).all()


def test_decisions_are_the_silence_between_user_and_model(parts):
    tok, grid = parts
    tl, arrays = conversation()
    lay = layout(tl, arrays, tok, grid, text_lead=2, decide_s=2.0)
    d = lay.pos[lay.decide]
    assert (lay.kind[lay.decide] == OUTPUT).all()
    # decided at chunk boundaries after the user's last word (1.5 s = slot 30) and before the
    # model's text stream starts "four" at slot 38: chunks ending at slots 32 and 36
    assert sorted(set((d // 4).tolist())) == [8, 9]
    assert not lay.decide[(lay.pos < 30)].any()  # the user was still talking
    # the decision slots carry both "wait" and "start now" targets
    tgt = lay.text_target[lay.decide]
    assert (tgt == PAD).any() and (tgt != PAD).any()


def test_listening_is_the_silence_while_a_user_word_is_under_way(parts):
    tok, grid = parts
    tl, arrays = conversation()
    lay = layout(tl, arrays, tok, grid, text_lead=2)
    assert (lay.kind[lay.listen] == OUTPUT).all()
    # the user speaks 0.5-1.5 s: chunk boundaries 0.6 ... 1.4 s (chunks 2-6) fall in a word;
    # a chunk's output slots are 4k+4 ... 4k+7
    assert sorted(set((lay.pos[lay.listen] // 4).tolist())) == [3, 4, 5, 6, 7]
    assert not (lay.listen & lay.decide).any()
    assert (lay.text_target[lay.listen] == PAD).all()  # the model is quiet then


def test_a_window_is_a_slice_of_the_whole(parts):
    tok, grid = parts
    tl, arrays = conversation()
    whole = layout(tl, arrays, tok, grid)
    win = layout(tl, arrays, tok, grid, max_chunks=6, start_chunk=7)
    assert len(win) == 6 * 8
    names = ("dmel", "text", "kind", "pos", "text_target", "transcript_target", "decide", "listen")
    for name in names:
        np.testing.assert_array_equal(getattr(win, name), getattr(whole, name)[7 * 8 : 13 * 8])
    assert win.pos[0] == 7 * 4  # the clock is not reset
    with pytest.raises(ValueError, match="start_chunk"):
        layout(tl, arrays, tok, grid, max_chunks=6, start_chunk=20)
    b = collate([win, whole])
    assert b.decide.shape == b.valid.shape == (2, len(whole))
    assert not b.decide[0, len(win) :].any()
