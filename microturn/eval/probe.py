"""Teacher-forced turn-taking probe: does the model want to speak after an end of turn, and
not in a mid-turn pause of the same length?

On the `turn` family of a data split (matched pairs: whole question vs fragment + pause), the
model reads the user's audio up to the decision point; its own stream is blanked (it has said
nothing yet). Score of a scenario = the model's probability that it starts speaking within
0.6 s after the decision point: 1 - prod_k (1 - p_k) over the output positions k whose speech
would be heard in that window, p_k = P(next text token is not <pad>). Each p_k is already
conditioned on silence at the earlier positions (the blanked stream), so the product is the
chance of staying silent through the window. (`--score max` gives the largest single p_k
instead.) Next to it, how well the model *hears* the user up to the decision point: its
transcript cross-entropy (nats per word token, pooled over the group) on the user's words
spoken before it, at the transcript head's lagged positions (a model that knows nothing
scores ln(vocab) = 6.93). AUC separates ends of turn (act) from pauses (hold), per
synthesizer, next to the trivial "speech so far" cue, which the data engine matches between
the two sides (so it should sit near 0.5 here, where it reached ~0.90 in the feasibility
experiment's unmatched data). The probe cannot see a model that starts too early, so beside it:
"early start", over the ends of turn, the mean probability that the model starts speaking in
the 0.6 s *before* the decision point, over the user's last words (lower is better). About
one pause in ten follows words that could end the turn (a whole question, then "please"): the
groups "/mid-phrase" and "/complete-looking" score the ends of turn against each kind of pause
apart (`groups_of`), since for the second kind only prosody can tell.

    microturn probe --model runs/small/model --data data/dev data/test
    microturn probe --model NEW --against OLD --data data/dev   # paired difference
"""

from __future__ import annotations

import json
from collections import defaultdict

import numpy as np
import torch

from microturn.data.layout import IGNORE, OUTPUT, collate, layout
from microturn.data.shards import ShardReader
from microturn.grid import Grid
from microturn.model import InteractionModel
from microturn.tokenizer import PAD, Tokenizer
from microturn.train.losses import autocast, model_input


def auc(pos: list[float], neg: list[float]) -> float:
    """P(score of a random positive > a random negative), ties count half (Mann-Whitney)."""
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    p, n = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float((p > n).mean() + 0.5 * (p == n).mean())


def auc_ci(a: float, n_pos: int, n_neg: int, z: float = 1.96) -> tuple[float, float]:
    """95 % interval of an AUC (Hanley & McNeil 1982 standard error)."""
    if not n_pos or not n_neg or a != a:
        return (float("nan"), float("nan"))
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    se = float(np.sqrt(max(var, 0.0)))
    return (round(max(0.0, a - z * se), 3), round(min(1.0, a + z * se), 3))


@torch.no_grad()
def decision_forward(
    model: InteractionModel, sample, tok: Tokenizer, window_s: float = 0.6, at: float | None = None
):
    """The teacher-forced forward pass of one turn scenario, its own stream blanked; `at`
    (default: the scenario's `decision_t`) is the decision point.

    Returns (model output, layout, `window`: the output positions whose speech would be heard
    within `window_s` after the decision point, `heard`: the input positions whose transcript
    targets are words that began before it, `before`: the output positions whose speech would
    be heard in the `window_s` before it, i.e. over the user's last words)."""
    cfg = model.cfg
    grid = Grid(cfg.grid)
    t = cfg.train
    a = sample.timeline.meta["decision_t"] if at is None else at
    slot_s = grid.chunk_s / grid.positions_per_chunk
    chunks = int((a + window_s) / grid.chunk_s) + 2
    lay = layout(sample.timeline, sample.arrays, tok, grid, t.text_lead, t.transcript_lag, chunks)
    out = lay.kind == OUTPUT
    lay.text[out] = PAD  # blank the model's own stream: it has said nothing yet
    lay.dmel[out] = lay.dmel[out][:1]  # its first (silent) slot, everywhere
    b = collate([lay])
    with autocast("cpu", t):
        o = model(model_input(b))
    onset = (lay.pos + t.text_lead) * slot_s  # when speech begun at this text slot is heard
    window = out & (onset >= a) & (onset < a + window_s)
    heard = (lay.transcript_target != IGNORE) & (lay.transcript_target != PAD)
    heard &= (lay.pos - t.transcript_lag) * slot_s < a  # the word began before the decision
    before = out & (onset >= a - window_s) & (onset < a)
    return o, lay, window, heard, before


def score(
    model: InteractionModel, sample, tok: Tokenizer, window_s: float = 0.6, how: str = "window"
) -> tuple[float, float, int, float]:
    """(the scenario's score, summed transcript CE on the words heard before the decision
    point, their token count, P(it starts in the window *before* the decision point))."""
    return score_forward(*decision_forward(model, sample, tok, window_s), how=how)


def score_forward(
    o, lay, window, heard, before, how: str = "window"
) -> tuple[float, float, int, float]:
    """`score` from a `decision_forward` already made."""
    p_start = 1.0 - torch.softmax(o.text_logits[0].float(), -1)[:, PAD]
    p = p_start[torch.from_numpy(window)].double()
    early = float(1.0 - torch.prod(1.0 - p_start[torch.from_numpy(before)].double()))
    ce = torch.nn.functional.cross_entropy(
        o.transcript_logits[0].float()[torch.from_numpy(heard)],
        torch.from_numpy(lay.transcript_target[heard]),
        reduction="sum",
    )
    s = float(p.max()) if how == "max" else float(1.0 - torch.prod(1.0 - p))
    return s, float(ce), int(heard.sum()), early


def turn_indices(r: ShardReader, limit: int | None = None, family: str = "turn") -> list[int]:
    """The `turn` scenarios (or another family's) of a split: its act side (ends of turn),
    then its hold side (pauses); `limit`: at most half of it from each side."""
    act, hold = r.where(family, act=True), r.where(family, act=False)
    return act[: limit // 2] + hold[: limit // 2] if limit else act + hold


def groups_of(meta: dict, act: bool) -> tuple[str, ...]:
    """The groups a turn scenario is scored in: all, its engine, its voice (not espeak's: its
    accents x variants are many), its fragments' prosody; and, for all and the engine, the
    split by the kind of pause. "/mid-phrase" compares the ends of turn with the pauses after
    an incomplete phrase (the words decide); "/complete-looking" with the pauses after words
    that could end the turn ("what is two plus two" ... "please"), where only prosody can
    tell (such a fragment is cut out of the whole sentence: `families.turn_taking.build_turn`).
    Every end of turn is in both."""
    voice = meta["user_voice"].split("@")[0]  # "engine:voice[+variant]"
    engine = voice.split(":")[0]
    by_voice = [] if engine == "espeak" else [voice]
    kinds = ["mid-phrase", "complete-looking"]
    if not act:
        kinds = [kinds[bool(meta.get("surface_complete"))]]
    split = [f"{g}/{k}" for g in ("all", engine) for k in kinds]
    return ("all", engine, *by_voice, f"prosody={meta.get('prosody')}", *split)


def records(model: InteractionModel, data: str, limit: int | None = None, how: str = "window"):
    """One record per turn scenario of a split: its groups, side, score, the speech-so-far
    cue, its hearing (nats, tokens) and early start. `summarize` and `paired` read these."""
    tok = Tokenizer()
    r = ShardReader(data)
    out = []
    for i in turn_indices(r, limit):
        s = r[i]
        tl = s.timeline
        sc, nats, tokens, early = score(model, s, tok, how=how)
        out.append(
            {
                "id": tl.id,
                "groups": groups_of(tl.meta, bool(tl.act)),
                "act": bool(tl.act),
                "score": sc,
                "cue": tl.meta["stats"]["speech_before"],
                "nats": nats,
                "tokens": tokens,
                "early": early,
            }
        )
    return out


def summarize(recs: list[dict]) -> dict[str, dict]:
    """Per group: n, the model's AUC with its interval, the cue's AUC, hearing, early start."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for x in recs:
        for g in x["groups"]:
            groups[g].append(x)
    res = {}
    for g, xs in sorted(groups.items()):
        act = [x["score"] for x in xs if x["act"]]
        hold = [x["score"] for x in xs if not x["act"]]
        a = auc(act, hold)
        tokens, nats = sum(x["tokens"] for x in xs), sum(x["nats"] for x in xs)
        early = [x["early"] for x in xs if x["act"]]  # over the user's last words: too early
        res[g] = {
            "n_act": len(act),
            "n_hold": len(hold),
            "auc_model": round(a, 4),
            "auc_model_ci": auc_ci(a, len(act), len(hold)),
            "auc_speech_so_far": round(
                auc([x["cue"] for x in xs if x["act"]], [x["cue"] for x in xs if not x["act"]]), 4
            ),
            "hearing_nats": round(nats / tokens, 4) if tokens else float("nan"),
            "hearing_tokens": tokens,
            "early_start": round(float(np.mean(early)), 4) if early else float("nan"),
        }
    return res


def probe(model: InteractionModel, data: str, limit: int | None = None, how: str = "window"):
    return summarize(records(model, data, limit, how))


def paired(base: list[dict], new: list[dict], n_boot: int = 2000, seed: int = 0) -> dict:
    """Per group, AUC(new) - AUC(base) on the same scenarios, with a 95 % paired bootstrap
    interval (ends of turn and pauses resampled with replacement, the same draw for both
    models): far tighter than comparing two independent intervals, since both models meet
    the same hard and easy scenarios."""
    if [x["id"] for x in base] != [x["id"] for x in new]:
        raise ValueError("paired: the two record lists are not the same scenarios in order")
    rng = np.random.default_rng(seed)
    sa, sb = (np.array([x["score"] for x in r]) for r in (base, new))
    groups = sorted({g for x in base for g in x["groups"]})
    res = {}
    for g in groups:
        ix = [i for i, x in enumerate(base) if g in x["groups"]]
        act = np.array([i for i in ix if base[i]["act"]])
        hold = np.array([i for i in ix if not base[i]["act"]])
        if not len(act) or not len(hold):  # no AUC on one side only (as in `summarize`)
            res[g] = {"delta": float("nan"), "ci": (float("nan"), float("nan"))}
            continue
        d = auc(sb[act], sb[hold]) - auc(sa[act], sa[hold])
        boots = []
        for _ in range(n_boot):
            a, h = rng.choice(act, len(act)), rng.choice(hold, len(hold))
            boots.append(auc(sb[a], sb[h]) - auc(sa[a], sa[h]))
        lo, hi = np.percentile(boots, [2.5, 97.5])
        res[g] = {"delta": round(float(d), 4), "ci": (round(float(lo), 4), round(float(hi), 4))}
    return res


def main(args) -> None:
    """`microturn probe`: a table per split and group, then one JSON line."""
    model = InteractionModel.from_pretrained(args.model).eval()
    other = InteractionModel.from_pretrained(args.against).eval() if args.against else None
    res, deltas = {}, {}
    vs = " | AUC - against [paired 95 % CI]" if other else ""
    print(
        "| split | group | n act / hold | AUC model [95 % CI] | AUC speech-so-far "
        f"| hearing (nats/token) | early start{vs} |"
    )
    print("|---|---|---|---|---|---|---|" + ("---|" if other else ""))
    for d in args.data:
        recs = records(model, d, args.limit, args.score)
        res[d] = summarize(recs)
        if other:
            deltas[d] = paired(records(other, d, args.limit, args.score), recs)
        for g, v in res[d].items():
            extra = ""
            if other:
                dv = deltas[d][g]
                extra = f" {dv['delta']:+.3f} [{dv['ci'][0]:+.3f}, {dv['ci'][1]:+.3f}] |"
            print(
                f"| {d} | {g} | {v['n_act']} / {v['n_hold']} | {v['auc_model']:.3f} "
                f"[{v['auc_model_ci'][0]:.3f}, {v['auc_model_ci'][1]:.3f}] | "
                f"{v['auc_speech_so_far']:.3f} | {v['hearing_nats']:.2f} | {v['early_start']:.3f} |"
                + extra
            )
    out = {"model": args.model, "score": args.score, "results": res}
    if other:
        out |= {"against": args.against, "delta_vs_against": deltas}
    print(json.dumps(out))
