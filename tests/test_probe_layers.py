import shutil

import numpy as np
import pytest
import torch

from microturn.config import preset
from microturn.eval.probe import auc
from microturn.eval.probe_layers import cv_auc, features, fit_logistic, predict


def test_the_read_out_finds_a_linear_signal_and_not_noise():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, 16, generator=g)
    y = (x[:, 3] - 0.5 * x[:, 7] > 0).numpy().astype(int)
    assert cv_auc(x, y, 1e-3) > 0.97
    w = fit_logistic(x, y, 1e-3)
    s = predict(w, x)
    assert auc(s[y == 1].tolist(), s[y == 0].tolist()) > 0.99
    assert abs(w[3]) > 5 * abs(w[0])  # the weight sits on the informative feature
    noise = np.random.default_rng(0).integers(0, 2, 300)
    assert cv_auc(x, noise, 1e-2) < 0.65  # unrelated labels: no better than chance's spread


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_features_are_each_layer_at_the_decision_window(turn_data):
    from microturn.data.shards import ShardReader
    from microturn.eval.probe import decision_forward, score
    from microturn.model import InteractionModel
    from microturn.tokenizer import Tokenizer

    torch.manual_seed(0)
    model = InteractionModel(preset("tiny")).eval()
    x, y, own, engines = features(model, turn_data)
    L, d = model.cfg.model.n_layers, model.cfg.model.d_model
    assert x.shape == (L + 1, 8, d) and list(y) == [1] * 4 + [0] * 4
    assert set(engines) <= {"espeak", "flite", "festival"}
    r, tok = ShardReader(turn_data), Tokenizer()
    acts = r.where("turn", act=True)
    s = r[acts[0]]
    o, _, window, _, before = decision_forward(model, s, tok)
    assert before.any() and not (before & window).any()
    assert torch.allclose(x[-1, 0], o.hidden[0, torch.from_numpy(window)].mean(0), atol=1e-5)
    assert own[0] == pytest.approx(score(model, s, tok)[0], abs=1e-6)
    assert not torch.allclose(x[1, 0], x[2, 0])  # distinct layers, not one tensor repeated


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_the_hand_over_is_read_at_the_end_of_the_request(delegate_data):
    from microturn.data.shards import ShardReader
    from microturn.eval.probe import decision_forward
    from microturn.eval.probe_layers import decision_point
    from microturn.model import InteractionModel
    from microturn.tokenizer import DELEGATE, Tokenizer

    torch.manual_seed(0)
    model = InteractionModel(preset("tiny")).eval()
    x, y, own, _ = features(model, delegate_data, family="delegate")
    L, d = model.cfg.model.n_layers, model.cfg.model.d_model
    assert x.shape == (L + 1, 6, d) and list(y) == [1] * 3 + [0] * 3
    r, tok = ShardReader(delegate_data), Tokenizer()
    s = r[r.where("delegate", act=False)[0]]
    at = decision_point(s.timeline, "delegate")
    user_end = max(e.t_off for e in s.timeline.on("user") if e.t_on < at)
    assert at == pytest.approx(user_end)  # the look-alike's window opens as the request ends
    o, _, window, _, _ = decision_forward(model, s, tok, at=at)
    assert torch.allclose(x[-1, 3], o.hidden[0, torch.from_numpy(window)].mean(0), atol=1e-5)
    p = torch.softmax(o.text_logits[0].float(), -1)[torch.from_numpy(window), DELEGATE]
    assert own[3] == pytest.approx(float(p.max()), abs=1e-6)
