import math
import shutil

import pytest
import torch

from microturn.config import preset
from microturn.eval.probe import auc


def test_auc_is_mann_whitney():
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9]) == 0.0
    assert auc([0.5, 0.5], [0.5]) == 0.5  # ties count half
    assert auc([0.3, 0.7], [0.5]) == 0.5
    assert math.isnan(auc([], [0.1]))


def test_auc_interval_shrinks_with_n_and_brackets_the_estimate():
    from microturn.eval.probe import auc_ci

    lo, hi = auc_ci(0.7, 200, 200)
    assert lo < 0.7 < hi and 0.08 < hi - lo < 0.12  # +-0.05 at n = 200 a side
    lo2, hi2 = auc_ci(0.7, 50, 50)
    assert hi2 - lo2 > hi - lo


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_hearing_is_the_transcript_loss_on_words_before_the_decision(turn_data):
    from microturn.data.shards import ShardReader
    from microturn.eval.probe import probe, score
    from microturn.model import InteractionModel
    from microturn.tokenizer import Tokenizer

    torch.manual_seed(0)
    model = InteractionModel(preset("tiny")).eval()
    with torch.no_grad():
        model.transcript_head.proj.weight.zero_()  # uniform over the vocabulary: it hears nothing
    res = probe(model, turn_data)
    v = res["all"]
    assert (v["n_act"], v["n_hold"]) == (4, 4)
    assert v["hearing_tokens"] > 0
    assert v["hearing_nats"] == pytest.approx(math.log(model.cfg.model.vocab_size), abs=1e-3)
    assert 0.0 <= v["auc_model"] <= 1.0

    # Only words heard before the decision point count (each word's tokens are placed from its
    # onset, `transcript_lag` slots later): in a mid-turn pause the user goes on afterwards,
    # and those later words, though inside the probe's window, are not scored.
    r, tok = ShardReader(turn_data), Tokenizer()
    later = 0
    for i in range(len(r)):
        s = r[i]
        a = s.timeline.meta["decision_t"]
        words = [w for e in s.timeline.on("user") for w in e.words]
        _, _, n, _ = score(model, s, tok)
        assert n == sum(len(tok.word(w.text)) for w in words if w.t_on < a)
        later += any(a < w.t_on < a + 0.6 for w in words)
    assert later, "no scenario here has words inside the window after the decision point"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_early_start_is_speaking_over_the_last_words(turn_data):
    from microturn.eval.probe import probe
    from microturn.model import InteractionModel
    from microturn.tokenizer import PAD

    torch.manual_seed(0)
    model = InteractionModel(preset("tiny")).eval()
    head = model.text_head  # tied to the text embedding: bias the logits through a hook
    for bias, want in ((+50.0, 0.0), (-50.0, 1.0)):  # <pad> certain -> never early; never -> 1

        def hook(m, a, out, bias=bias):
            out = out.clone()
            out[..., PAD] += bias
            return out

        h = head.register_forward_hook(hook)
        try:
            v = probe(model, turn_data)["all"]
        finally:
            h.remove()
        assert v["early_start"] == pytest.approx(want, abs=1e-6)


def _recs(scores, acts, groups=("all",)):
    return [
        {"id": f"s{i}", "groups": groups, "act": a, "score": s, "cue": 0.0, "nats": 0.0,
         "tokens": 0, "early": 0.0}
        for i, (s, a) in enumerate(zip(scores, acts, strict=True))
    ]  # fmt: skip


def test_paired_difference_and_its_interval():
    import numpy as np

    from microturn.eval.probe import paired

    rng = np.random.default_rng(0)
    acts = [True] * 60 + [False] * 60
    noise = rng.random(120)
    base = _recs(noise, acts)
    same = paired(base, base)["all"]
    assert same == {"delta": 0.0, "ci": (0.0, 0.0)}
    sharp = _recs(
        [s + (1.0 if a else 0.0) for s, a in zip(noise, acts, strict=True)], acts
    )  # separates
    d = paired(base, sharp)["all"]
    assert d["delta"] == pytest.approx(1.0 - auc(noise[:60], noise[60:]), abs=1e-4)
    assert 0 < d["ci"][0] <= d["delta"] <= d["ci"][1]
    worse = paired(sharp, base)["all"]  # the other way round: the same gap, negative
    assert worse["delta"] == -d["delta"] and worse["ci"][1] < 0
    with pytest.raises(ValueError, match="same scenarios"):
        paired(base, base[::-1])


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_probe_against_itself_differs_by_nothing(turn_data, tmp_path, capsys):
    import json

    from microturn.cli import main
    from microturn.model import InteractionModel

    torch.manual_seed(0)
    InteractionModel(preset("tiny")).save_pretrained(tmp_path / "m")
    m = str(tmp_path / "m")
    main(["probe", "--model", m, "--against", m, "--data", str(turn_data)])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    deltas = out["delta_vs_against"][str(turn_data)]
    res = out["results"][str(turn_data)]
    assert set(deltas) == set(res) and deltas["all"]["delta"] == 0.0
    for g, v in deltas.items():  # a group with one side only (no such pause here) has no AUC
        two_sided = res[g]["n_act"] and res[g]["n_hold"]
        assert v["delta"] == 0.0 if two_sided else math.isnan(v["delta"])


def test_groups_split_pauses_by_kind_and_keep_every_end_of_turn_in_both():
    from microturn.eval.probe import groups_of, summarize

    meta = {"user_voice": "festival:ked_diphone@1.0/50", "prosody": "fall"}
    act = groups_of(meta, True)
    assert act[:4] == ("all", "festival", "festival:ked_diphone", "prosody=fall")
    assert {"all/mid-phrase", "all/complete-looking", "festival/mid-phrase"} <= set(act)
    mid = groups_of(meta | {"surface_complete": False}, False)
    whole = groups_of(meta | {"surface_complete": True}, False)
    assert "festival/mid-phrase" in mid and "festival/complete-looking" not in mid
    assert "festival/complete-looking" in whole and "festival/mid-phrase" not in whole
    assert "espeak:" not in " ".join(groups_of({"user_voice": "espeak:en-us+m1@1/50"}, True))
    assert not any("|" in g for g in act + mid + whole)  # names go into markdown table cells
    # acts 0.9, 0.8; a mid-phrase pause at 0.1 (separated), a complete-looking one at 0.85
    recs = [
        {"id": str(i), "groups": g, "act": a, "score": s, "cue": 0.0, "nats": 0.0,
         "tokens": 0, "early": 0.0}
        for i, (g, a, s) in enumerate(
            [(act, True, 0.9), (act, True, 0.8), (mid, False, 0.1), (whole, False, 0.85)]
        )
    ]  # fmt: skip
    res = summarize(recs)
    assert res["all"]["auc_model"] == 0.75 and (res["all"]["n_act"], res["all"]["n_hold"]) == (2, 2)
    assert res["all/mid-phrase"]["auc_model"] == 1.0 and res["all/mid-phrase"]["n_hold"] == 1
    assert res["all/complete-looking"]["auc_model"] == 0.5
    assert res["all/complete-looking"]["n_act"] == 2
