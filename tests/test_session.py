"""Per-session sampling (`runtime/session.py: Sampling`): the split draw of `word_temperature`
keeps when the model speaks and sharpens what it says; an `allowed` mask (the lexicon) keeps
when it speaks and says allowed pieces only."""

import math

import pytest
import torch

from microturn.runtime.session import Sampling
from microturn.tokenizer import DELEGATE, PAD


def draws(sampling: Sampling, logits: torch.Tensor, n: int = 4000, allowed=None) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    return torch.tensor([sampling.token(logits, gen, allowed) for _ in range(n)])


def test_word_temperature_keeps_when_and_sharpens_what():
    """P(<pad>) is 0.5 at the session's temperature; among the words, one is twice as likely as
    each of three others. With word_temperature the <pad> share stays (within sampling error),
    and at 0 every word said is the most likely one; without it the others come up."""
    logits = torch.full((64,), float("-inf"))
    w = [PAD + 10, PAD + 11, PAD + 12, PAD + 13]
    p = torch.tensor([0.5, 0.2, 0.1, 0.1, 0.1])
    logits[[PAD, *w]] = p.log()
    plain = draws(
        Sampling(speak_threshold=None, temperature=1.0, top_k=0, word_temperature=None), logits
    )
    sharp = draws(
        Sampling(speak_threshold=None, temperature=1.0, top_k=0, word_temperature=0.0), logits
    )
    warm = draws(
        Sampling(speak_threshold=None, temperature=1.0, top_k=0, word_temperature=0.5), logits
    )
    for x in (plain, sharp, warm):
        assert (x == PAD).float().mean() == pytest.approx(0.5, abs=0.03)
    assert set(sharp[sharp != PAD].tolist()) == {w[0]}
    assert (plain[plain != PAD] != w[0]).float().mean() == pytest.approx(0.6, abs=0.04)
    # temperature 0.5 squares the odds: 4 : 1 : 1 : 1 -> the others are 3/7 of the words
    assert (warm[warm != PAD] != w[0]).float().mean() == pytest.approx(3 / 7, abs=0.04)


def test_word_temperature_never_says_a_token_outside_the_top_k():
    logits = torch.linspace(0, 5, 64)
    x = draws(
        Sampling(speak_threshold=None, temperature=1.0, top_k=3, word_temperature=2.0), logits, 500
    )
    assert set(x.tolist()) <= {61, 62, 63}


def test_bad_word_temperature_is_refused():
    with pytest.raises(ValueError):
        Sampling(word_temperature=-0.1)


def test_an_allowed_mask_keeps_when_and_says_only_allowed_pieces():
    """The most likely words (0.2, 0.1) are not allowed: the <pad> share stays 0.5, and the
    words said are the two allowed ones, in their 1 : 1 odds; at temperature 0 the likeliest
    allowed one; with top_k the top k of the allowed ones, though none is in the overall top k."""
    logits = torch.full((64,), float("-inf"))
    w = [PAD + 10, PAD + 11, PAD + 12, PAD + 13]
    logits[[PAD, *w]] = torch.tensor([0.5, 0.2, 0.1, 0.1, 0.1]).log()
    allowed = torch.zeros(64, dtype=torch.bool)
    allowed[[w[2], w[3]]] = True
    x = draws(
        Sampling(speak_threshold=None, temperature=1.0, top_k=0, word_temperature=0.5),
        logits,
        allowed=allowed,
    )
    assert (x == PAD).float().mean() == pytest.approx(0.5, abs=0.03)
    said = x[x != PAD]
    assert set(said.tolist()) == {w[2], w[3]}
    assert (said == w[2]).float().mean() == pytest.approx(0.5, abs=0.05)
    logits[w[3]] = logits[w[2]] + 0.5
    logits[PAD] = -10.0
    assert Sampling(temperature=0).token(logits, torch.Generator(), allowed) == w[3]
    logits[PAD] = 5.0
    assert Sampling(temperature=0).token(logits, torch.Generator(), allowed) == PAD
    # top_k 2 over everything would keep <pad> and w[0]; over the allowed ones it keeps both
    logits = torch.linspace(0, 5, 64)
    logits[PAD] = -1.0
    allowed = torch.zeros(64, dtype=torch.bool)
    allowed[[20, 21, 22]] = True
    x = draws(
        Sampling(speak_threshold=None, temperature=1.0, top_k=2, word_temperature=0.5),
        logits,
        500,
        allowed,
    )
    assert set(x.tolist()) == {21, 22}


def test_a_speak_threshold_decides_without_a_draw():
    """With `speak_threshold` it speaks exactly when P(speak) reaches it (no coin toss), and
    then says its likeliest allowed piece; a bad threshold is refused."""
    w = torch.arange(PAD + 10, PAD + 14)
    for p_speak, spoken in ((0.05, False), (0.12, True), (0.6, True)):
        logits = torch.full((64,), float("-inf"))
        logits[PAD] = math.log(1 - p_speak)
        logits[w] = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]) * p_speak)
        x = draws(Sampling(speak_threshold=0.1, temperature=1.0, top_k=0), logits, 200)
        assert (x != PAD).all() if spoken else (x == PAD).all(), p_speak
        if spoken:
            assert (x == w[0]).all()  # the likeliest piece, at the default word temperature
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            Sampling(speak_threshold=bad)
        with pytest.raises(ValueError):
            Sampling(reply_threshold=bad)


def test_a_delegation_at_its_own_threshold():
    """P(<delegate>) 0.02 under a P(speak) of 0.05: below the speak threshold, but at a
    delegate threshold of 0.01 it delegates; not at 0.05, not inside a word, not where the
    mask rules it out; None leaves it to the speak decision."""
    logits = torch.full((64,), float("-inf"))
    logits[PAD] = math.log(0.95)
    logits[DELEGATE] = math.log(0.02)
    logits[PAD + 10] = math.log(0.03)
    gen = torch.Generator().manual_seed(0)
    at = Sampling(delegate_threshold=0.01, temperature=1.0, top_k=0)
    assert at.token(logits, gen) == DELEGATE
    assert Sampling(delegate_threshold=0.05, temperature=1.0, top_k=0).token(logits, gen) == PAD
    assert Sampling(delegate_threshold=None, temperature=1.0, top_k=0).token(logits, gen) == PAD
    assert at.token(logits, gen, piece=True) == PAD + 10  # inside a word: its next piece
    words = torch.zeros(64, dtype=torch.bool)
    words[PAD + 10] = True
    assert at.token(logits, gen, allowed=words) == PAD  # <delegate> not allowed here
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            Sampling(delegate_threshold=bad)


def test_a_result_owed_is_said_at_its_own_threshold():
    """P(speak) 0.05, under the speak threshold: the next piece of a pending result is said
    at a result threshold of 0.02 when it is the piece the model would say; not another
    piece, not under the threshold, not with none pending or with the threshold off."""
    logits = torch.full((64,), float("-inf"))
    logits[PAD] = math.log(0.95)
    owed, other = PAD + 10, PAD + 11
    logits[owed] = math.log(0.04)
    logits[other] = math.log(0.01)
    gen = torch.Generator().manual_seed(0)
    at = Sampling(result_threshold=0.02, temperature=1.0, top_k=0)
    assert at.token(logits, gen, owed=owed) == owed
    assert at.token(logits, gen, owed=other) == PAD  # it would say another piece
    assert at.token(logits, gen) == PAD  # nothing pending
    assert at.token(logits, gen, owed=owed, within=True) == owed  # also within a reply
    assert Sampling(result_threshold=0.06, temperature=1.0, top_k=0).token(
        logits, gen, owed=owed) == PAD  # fmt: skip
    assert Sampling(result_threshold=None, temperature=1.0, top_k=0).token(
        logits, gen, owed=owed) == PAD  # fmt: skip
    words = torch.zeros(64, dtype=torch.bool)
    words[other] = True
    assert at.token(logits, gen, allowed=words, owed=owed) == PAD  # the mask rules it out
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            Sampling(result_threshold=bad)


def test_within_a_reply_the_reply_threshold_decides():
    """A P(speak) of 0.15 starts a reply (threshold 0.1) but does not carry one on (0.2);
    with the speak decision drawn, `within` changes nothing."""
    logits = torch.full((64,), float("-inf"))
    logits[PAD] = math.log(0.85)
    logits[PAD + 10] = math.log(0.15)
    sp = Sampling(speak_threshold=0.1, reply_threshold=0.2, temperature=1.0, top_k=0)
    gen = torch.Generator().manual_seed(0)
    assert all(sp.token(logits, gen) == PAD + 10 for _ in range(50))
    assert all(sp.token(logits, gen, within=True) == PAD for _ in range(50))
    free = Sampling(speak_threshold=0.1, reply_threshold=None, temperature=1.0, top_k=0)
    assert all(free.token(logits, gen, within=True) == PAD + 10 for _ in range(50))
    drawn = Sampling(speak_threshold=None, reply_threshold=0.2, temperature=1.0, top_k=0)
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    a = [drawn.token(logits, g1) for _ in range(200)]
    b = [drawn.token(logits, g2, within=True) for _ in range(200)]
    assert a == b and set(a) == {PAD, PAD + 10}
