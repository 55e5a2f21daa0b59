"""Is the turn decision *in* the model and not reaching its text head, or not in it at all?

A linear read-out of the model's hidden state at the decision point, next to the model's own
score (`microturn probe`). For each `turn` scenario, the forward pass of the probe (the user's
audio up to the decision point, the model's own stream blanked); features = each layer's
residual stream averaged over the output positions of the 0.6 s window. An L2 logistic
regression per layer, fitted on FIT's turn scenarios (standardised on FIT, strength chosen by
5-fold cross-validated AUC on FIT), scored by AUC on each EVAL split. If a read-out of some
layer beats the model's own score on held-out data clearly, the words and prosody are heard
and the gap is in the decision; if not, the representation itself is the limit.

`--family delegate` asks the same of the hand-over (T7): a request that needs a tool (act)
against a look-alike the model should answer itself (hold), the decision point the start of
the scenario's delegate window (the request's end); the model's own score is its largest
P(`<delegate>`) in the window.

    microturn probe-layers --model checkpoints/small --fit data/train-turn --eval data/dev data/test
    microturn probe-layers --family delegate --model checkpoints/small --fit data/tr-deleg2 \
        --eval data/dd-dev data/dd-test --limit 1200
"""

from __future__ import annotations

import json

import numpy as np
import torch

from microturn.data.shards import ShardReader
from microturn.eval.probe import auc, auc_ci, decision_forward, score_forward, turn_indices
from microturn.model import InteractionModel
from microturn.tokenizer import DELEGATE, Tokenizer


def decision_point(tl, family: str) -> float:
    """Where the decision is read: a turn scenario's `decision_t`; a delegation scenario's
    delegate (act) or no-delegate (hold) window start, the end of the request."""
    if family == "turn":
        return tl.meta["decision_t"]
    return next(x.t_on for x in tl.expect if x.kind in ("delegate", "no_delegate"))


@torch.no_grad()
def features(model: InteractionModel, data: str, limit: int | None = None, family: str = "turn"):
    """(layers+1, n, d) window-averaged residual streams (embedding .. last block, the last
    after the final norm), labels (n,), the model's own scores (n,), voice engines (n,)."""
    tok = Tokenizer()
    r = ShardReader(data)
    idx = turn_indices(r, limit, family)
    taps: list[torch.Tensor] = []
    hooks = [model.blocks[0].register_forward_pre_hook(lambda m, a: taps.append(a[0]))]
    hooks += [b.register_forward_hook(lambda m, a, o: taps.append(o[0])) for b in model.blocks]
    feats, ys, own, engines = [], [], [], []
    try:
        for i in idx:
            s = r[i]
            taps.clear()
            fwd = decision_forward(model, s, tok, at=decision_point(s.timeline, family))
            o, w = fwd[0], torch.from_numpy(fwd[2])
            taps[-1] = o.hidden
            feats.append(torch.stack([t[0, w].float().mean(0) for t in taps]))
            ys.append(int(s.timeline.act))
            if family == "turn":
                own.append(score_forward(*fwd)[0])
            else:  # its largest P(<delegate>) in the window
                p = torch.softmax(o.text_logits[0].float(), -1)[w, DELEGATE]
                own.append(float(p.max()))
            engines.append(s.timeline.meta["user_voice"].split(":")[0])
    finally:
        for h in hooks:
            h.remove()
    return torch.stack(feats, 1), np.array(ys), np.array(own), np.array(engines)


def fit_logistic(x: torch.Tensor, y: np.ndarray, l2: float) -> torch.Tensor:
    """L2-regularised logistic regression by L-BFGS; x (n, d) standardised -> weights (d+1,)."""
    x = torch.cat([x.double(), torch.ones(len(x), 1, dtype=torch.double)], 1)
    t = torch.from_numpy(y).double()
    w = torch.zeros(x.shape[1], dtype=torch.double, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w, t)
        loss = loss + l2 * (w[:-1] ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach()


def predict(w: torch.Tensor, x: torch.Tensor) -> np.ndarray:
    return (x.double() @ w[:-1] + w[-1]).numpy()


def cv_auc(x: torch.Tensor, y: np.ndarray, l2: float, folds: int = 5, seed: int = 0) -> float:
    order = np.random.default_rng(seed).permutation(len(y))
    scores = np.zeros(len(y))
    for k in range(folds):
        te = order[k::folds]
        tr = np.setdiff1d(order, te)
        scores[te] = predict(fit_logistic(x[tr], y[tr], l2), x[te])
    return auc(scores[y == 1].tolist(), scores[y == 0].tolist())


def main(args) -> None:
    """`microturn probe-layers`: a table of read-outs per layer, then one JSON line."""
    torch.manual_seed(0)
    model = InteractionModel.from_pretrained(args.model).eval()
    fam = args.family
    xf, yf, _, _ = features(model, args.fit, args.limit, fam)
    mu, sd = xf.mean(1, keepdim=True), xf.std(1, keepdim=True) + 1e-6
    evals = {d: features(model, d, args.limit, fam) for d in args.eval}
    res = {"model": args.model, "family": fam, "fit": args.fit, "n_fit": len(yf), "layers": []}
    print(f"fit: {args.fit} ({int(yf.sum())} act / {int((1 - yf).sum())} hold)")
    print("| read-out | l2 (cv AUC on fit) | " + " | ".join(f"{d} AUC [95 % CI]" for d in evals))
    print("|---|---|" + "---|" * len(evals))
    row = ["model's own score", "-"]
    for d, (_, y, own, _) in evals.items():
        a = auc(own[y == 1].tolist(), own[y == 0].tolist())
        lo, hi = auc_ci(a, int(y.sum()), int((1 - y).sum()))
        row.append(f"{a:.3f} [{lo:.3f}, {hi:.3f}]")
        res.setdefault("own", {})[d] = round(a, 4)
    print("| " + " | ".join(row) + " |")
    for layer in range(xf.shape[0]):
        x = (xf[layer] - mu[layer]) / sd[layer]
        cvs = {l2: cv_auc(x, yf, l2) for l2 in args.l2}
        l2 = max(cvs, key=cvs.get)
        w = fit_logistic(x, yf, l2)
        name = "embedding" if layer == 0 else f"block {layer}"
        row, out = [name, f"{l2:g} ({cvs[l2]:.3f})"], {"layer": name, "l2": l2, "cv": cvs[l2]}
        for d, (xe, y, _, eng) in evals.items():
            s = predict(w, (xe[layer] - mu[layer]) / sd[layer])
            a = auc(s[y == 1].tolist(), s[y == 0].tolist())
            lo, hi = auc_ci(a, int(y.sum()), int((1 - y).sum()))
            row.append(f"{a:.3f} [{lo:.3f}, {hi:.3f}]")
            out[d] = {"auc": round(a, 4)}
            for e in sorted(set(eng)):
                m = eng == e
                out[d][e] = round(auc(s[m & (y == 1)].tolist(), s[m & (y == 0)].tolist()), 4)
        res["layers"].append(out)
        print("| " + " | ".join(row) + " |")
    print(json.dumps(res))
