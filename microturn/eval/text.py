"""The text head on the recorded history: does it know which piece comes next?

On every sample of a data split, laid out as for training (the true text, phones and audio as
history; one batched forward, no sampling), count the text targets that are pieces and the
ones where that piece is the head's likeliest (<pad> aside), by family, and the mean
probability the head gives to saying something at all where the reference says a piece and
where it says nothing (when it speaks; `train/losses.keep_term` holds that split). The
delegation family is split further: the acknowledgement, the reply, and the woven result
(the words of the reply that are the tool result in its side text, copied).

    microturn eval text --model runs/text2/model --data data/dev-text [--against M]

With `--against`, a second model on the same samples: the paired difference of the shares
right, with a 95 % bootstrap interval over samples.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np
import torch

from microturn.data.layout import IGNORE
from microturn.data.shards import ShardReader
from microturn.model import InteractionModel
from microturn.tokenizer import PAD, Tokenizer
from microturn.train.loader import Loader
from microturn.train.losses import model_input


def parts(tl, tok: Tokenizer, n: int) -> list[str]:
    """The part of each of a sample's n reference pieces (the model's utterances' pieces, in
    order): its family, and for a delegation `delegate/ack`, `delegate/result` (the pieces of
    the reply that are the tool result of its side text, copied) or `delegate/reply`; for a
    question, what a right answer takes (`qa/reasoned`, `qa/spelled`, `qa/fact`)."""
    if tl.family == "qa":
        from microturn.data.language.questions import knowledge

        return [f"qa/{knowledge(tl.meta['templates'][0])[1]}"] * n
    if tl.family != "delegate":
        return [tl.family] * n
    side = [tok.encode(e.text) for e in tl.on("side_text")]
    out = []
    for e in tl.on("model"):
        ids = tok.encode(e.text)
        kind = ["delegate/ack" if e.kind == "ack" else "delegate/reply"] * len(ids)
        for s in side if e.kind == "result" else []:
            at = next((i for i in range(len(ids) - len(s) + 1) if ids[i : i + len(s)] == s), None)
            if s and at is not None:
                kind[at : at + len(s)] = ["delegate/result"] * len(s)
        out += kind
    return (out + ["delegate/reply"] * n)[:n]


def likeliest_piece(logits: torch.Tensor) -> torch.Tensor:
    """(..., vocab) text logits -> (...) the likeliest piece, <pad> aside."""
    return logits.masked_fill(torch.arange(logits.shape[-1]) == PAD, float("-inf")).argmax(-1)


@torch.no_grad()
def score(model: InteractionModel, data: str, batch: int = 16) -> list[dict]:
    """Per sample: {"family", "right": {part: k}, "pieces": {part: n}, "speak": {part: sum of
    P(speak) at its piece targets}, "speak_pad": ... at <pad> targets, "pads": their number}."""
    model.eval()
    reader, tok = ShardReader(data), Tokenizer()
    loader = Loader(reader, model.cfg, tok, seed=0)
    out = []
    for a in range(0, len(reader), batch):
        ids = list(range(a, min(a + batch, len(reader))))
        b = loader.collate(ids)
        logits = model(model_input(b)).text_logits.float()
        speak = 1 - logits.softmax(-1)[..., PAD]
        best = likeliest_piece(logits)
        for k, i in enumerate(ids):
            tl = reader.timeline(i)
            t = b.text_target[k]
            say = (t != PAD) & (t != IGNORE)
            pad = t == PAD
            pos = say.nonzero().flatten().tolist()
            right, pieces, said = defaultdict(int), defaultdict(int), defaultdict(float)
            for j, part in zip(pos, parts(tl, tok, len(pos)), strict=True):
                right[part] += int(best[k, j] == t[j])
                pieces[part] += 1
                said[part] += float(speak[k, j])
            out.append({
                "family": tl.family, "right": dict(right), "pieces": dict(pieces),
                "speak": dict(said), "speak_pad": float(speak[k][pad].sum()),
                "pads": int(pad.sum()),
            })  # fmt: skip
    return out


def groups(rows: list[dict]) -> list[str]:
    """Every family and part present, then "all"."""
    names = {p for r in rows for p in r["pieces"]} | {r["family"] for r in rows}
    return sorted(names) + ["all"]


def _keys(r: dict, g: str) -> list[str]:
    """The parts of sample r that group g (a family, a part, or "all") holds."""
    return [k for k in r["pieces"] if g == "all" or k == g or k.split("/")[0] == g]


def _in(r: dict, g: str) -> tuple[int, int]:
    """(right, pieces) of sample r in group g."""
    keys = _keys(r, g)
    return sum(r["right"].get(k, 0) for k in keys), sum(r["pieces"][k] for k in keys)


def summarize(rows: list[dict], against: list[dict] | None = None, seed: int = 0) -> dict:
    """{group: {"right", "pieces", "share", "speak_at_pads", "speak_at_pieces"[, "delta",
    "ci"]}}; the delta is this model's share minus `against`'s on the same samples."""
    rng = np.random.default_rng(seed)
    res = {}
    for g in groups(rows):
        counts = [_in(r, g) for r in rows]
        idx = [i for i, (_, n) in enumerate(counts) if n]
        if not idx:
            continue
        rk = np.array([counts[i] for i in idx], dtype=np.float64)
        fam = [r for r in rows if g == "all" or r["family"] == g.split("/")[0]]
        pads = sum(r["pads"] for r in fam)
        said = sum(r["speak"][k] for r in rows for k in _keys(r, g))
        row = {
            "right": int(rk[:, 0].sum()),
            "pieces": int(rk[:, 1].sum()),
            "share": round(rk[:, 0].sum() / rk[:, 1].sum(), 4),
            "speak_at_pads": round(sum(r["speak_pad"] for r in fam) / max(pads, 1), 4),
            "speak_at_pieces": round(said / rk[:, 1].sum(), 4),
        }
        if against is not None:
            ok = np.array([_in(against[i], g)[0] for i in idx], dtype=np.float64)
            delta = (rk[:, 0].sum() - ok.sum()) / rk[:, 1].sum()
            boot = rng.choice(len(idx), (2000, len(idx)))
            d = (rk[boot, 0] - ok[boot]).sum(1) / rk[boot, 1].sum(1)
            lo, hi = np.quantile(d, [0.025, 0.975])
            row |= {"delta": round(float(delta), 4), "ci": [round(lo, 4), round(hi, 4)]}
        res[g] = row
    return res


def table(res: dict, against: bool) -> str:
    head = "| group | pieces right | P(speak) at pads / at pieces |" + (
        " paired Δ [95 % CI] |" if against else ""
    )
    lines = [head, "|---|---|---|" + ("---|" if against else "")]
    for g, r in res.items():
        line = f"| {g} | {r['share']:.3f} ({r['right']} / {r['pieces']}) | "
        line += f"{r['speak_at_pads']:.4f} / {r['speak_at_pieces']:.3f} |"
        if against:
            line += f" {r['delta']:+.3f} [{r['ci'][0]:+.3f}, {r['ci'][1]:+.3f}] |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="microturn eval text", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a save_pretrained directory")
    p.add_argument("--data", required=True, help="a data directory (e.g. a dev split)")
    p.add_argument("--against", help="a second model, scored on the same samples")
    p.add_argument("--batch", type=int, default=16)
    args = p.parse_args(argv)
    rows = score(InteractionModel.from_pretrained(args.model), args.data, args.batch)
    other = None
    if args.against:
        other = score(InteractionModel.from_pretrained(args.against), args.data, args.batch)
    res = summarize(rows, other)
    print(table(res, other is not None))
    print(json.dumps({"model": args.model, "data": args.data, "against": args.against,
                      "groups": res}))  # fmt: skip
