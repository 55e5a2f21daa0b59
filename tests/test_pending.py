"""The pending result: the rule (a result read, its pieces said in order), the stream the layout
builds from a timeline, the same stream stepped by the runtime, and its place in the model
(zero at first; an old checkpoint loads without it)."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from microturn.config import GridConfig, preset
from microturn.data.layout import OUTPUT, layout
from microturn.data.pending import Pending
from microturn.grid import Grid
from microturn.model import InteractionModel, ModelInput
from microturn.runtime.engine import Engine
from microturn.synth.base import Word
from microturn.timeline import Event, Timeline
from microturn.tokenizer import PAD, RESULT, Tokenizer
from tests.test_layout import random_arrays

RESULT_TEXT = "about ninety three metres"


def test_a_result_is_said_piece_by_piece_and_a_newer_one_replaces_it():
    a, b, c, x = 11, 12, 13, 99
    p = Pending()
    assert p.next == PAD and p.said(a) == p  # nothing pending: saying moves nothing
    p = p.read(RESULT).read(a).read(PAD).read(b)
    assert p.next == a
    assert p.said(x).next == a  # another word leaves it pending
    p = p.said(a)
    assert p.next == b and p.said(b).next == PAD
    assert p.read(RESULT).read(c).next == c  # the newest result replaces what was left


def delegation() -> tuple[Timeline, dict]:
    """The result arrives at 1.0 s; the model says "it is about ninety three metres" from 2.0 s
    (two words before the result's)."""
    said = "it is about ninety three metres".split()
    words = [Word(w, 2.0 + 0.3 * i, 2.0 + 0.3 * (i + 1)) for i, w in enumerate(said)]
    events = [
        Event("side_text", "tool_result", 1.0, 1.0, RESULT_TEXT),
        Event("model", "utterance", 2.0, 2.0 + 0.3 * len(said), " ".join(said), words),
    ]
    tl = Timeline("t", "delegate", "delegate", True, "dev", 5.0, events)
    return tl, random_arrays(200)  # 5 s at 25 ms hops = 25 chunks


def test_the_layout_shows_each_unsaid_piece_until_it_is_said():
    tok, grid = Tokenizer(), Grid(GridConfig())
    tl, arrays = delegation()
    lay = layout(tl, arrays, tok, grid, text_lead=2, transcript_lag=6)
    out = lay.kind == OUTPUT
    assert (lay.pending[~out] == PAD).all()  # input positions never carry it
    pieces = tok.encode(RESULT_TEXT)
    shown, target = lay.pending[out], lay.text_target[out]
    # nothing before the result has been read (its chunk: 1.0 s = slots 20..23, chunk 5)
    assert (shown[: 5 * 4] == PAD).all() and shown[5 * 4] == pieces[0]
    # each of the result's pieces is shown at the position that says it, and then the next
    said = [i for i in range(len(target)) if shown[i] != PAD and target[i] == shown[i]]
    assert [int(target[i]) for i in said] == pieces
    # before its first piece the model says "it is" with the first piece shown throughout
    first = said[0]
    assert (shown[5 * 4 : first + 1] == pieces[0]).all()
    assert tok.decode([int(k) for k in target[5 * 4 : first] if k != PAD]) == "it is"
    assert (shown[said[-1] + 1 :] == PAD).all()  # all said: none pending


def test_the_runtime_steps_the_same_stream_as_the_layout():
    """A session scripted to say the layout's tokens, with the result injected at its time,
    reads at each output row the pending piece the layout has there."""
    tok = Tokenizer()
    torch.manual_seed(0)
    model = InteractionModel(preset("tiny")).eval()
    tl, arrays = delegation()
    lay = layout(tl, arrays, tok, Grid(model.cfg.grid), text_lead=2, transcript_lag=6)
    P = 4
    C = len(lay) // (2 * P)
    tokens = np.full((C + 1) * P, PAD)
    tokens[P:] = lay.text_target[lay.kind == OUTPUT]  # output row of slot t says token t
    eng = Engine(model, slots=1)
    s = eng.open(seed=0)
    s.script = {"tokens": tokens}
    s.record = True
    s.inject_text(RESULT_TEXT, tok, t=1.0)
    for _ in range(C):
        s.push_audio(np.zeros(3200, np.float32))
        eng.step()
    stepped = torch.cat([t["pending"] for t in s.trace]).numpy()
    assert (stepped != PAD).sum() > 4  # it was exercised
    assert np.array_equal(stepped, lay.pending)


def test_the_pending_piece_and_copy_gate_start_at_zero_and_old_checkpoints_load_without(tmp_path):
    torch.manual_seed(0)
    cfg = preset("tiny")
    model = InteractionModel(cfg).eval()
    T = 16
    g = torch.Generator().manual_seed(1)
    batch = dict(
        dmel=torch.randint(0, 16, (1, T, 2, 80), dtype=torch.uint8, generator=g),
        dmel_mask=torch.ones(1, T, dtype=torch.bool),
        text=torch.randint(0, 1024, (1, T), generator=g),
        kind=torch.arange(T)[None] // 4 % 2,
        pos=torch.arange(T)[None],
    )
    plain = ModelInput(**batch)
    shown = ModelInput(**batch, pending=torch.randint(1, 1024, (1, T), generator=g))
    with torch.no_grad():
        a, b = model(plain), model(shown)
        assert torch.equal(a.hidden, b.hidden) and torch.equal(a.text_logits, b.text_logits)
        model.pending_proj.weight.normal_(0, 0.1)
        assert not torch.allclose(model(plain).hidden, model(shown).hidden)
        # the copy gate adds its logit to the pending piece alone, and only where there is one
        model.copy_gate.bias.fill_(5.0)
        pend = shown.pending.clone()
        pend[0, :4] = PAD  # no piece pending here
        out = model(dataclasses.replace(shown, pending=pend))
        diff = out.text_logits - model.text_head(out.hidden)
        assert torch.allclose(diff[0, 4:].gather(-1, pend[0, 4:, None]), torch.tensor(5.0))
        assert diff.abs().sum() == pytest.approx(5.0 * (T - 4), rel=1e-5)

    def saved_without_the_key(m: InteractionModel, name: str):
        """m saved as a checkpoint from before `pending` existed: its config lacks the key."""
        m.save_pretrained(tmp_path / name)
        path = tmp_path / name / "config.json"
        meta = json.loads(path.read_text())
        del meta["config"]["model"]["pending"]
        path.write_text(json.dumps(meta))
        return tmp_path / name

    with pytest.raises(Exception, match="unexpected.*pending_proj"):
        InteractionModel.from_pretrained(saved_without_the_key(model, "old"))
    cfg_old = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, pending=False))
    old = InteractionModel(cfg_old).eval()
    back = InteractionModel.from_pretrained(saved_without_the_key(old, "older"))
    assert not back.cfg.model.pending and not hasattr(back, "pending_proj")
    with torch.no_grad():
        assert torch.equal(back(plain).hidden, back(shown).hidden)  # it ignores the stream
