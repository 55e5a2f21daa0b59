"""Are the should-act and should-not-act sides of each family indistinguishable by cheap cues?

For each family, n scenarios a side (seeds 7000 ...); two-sample Kolmogorov-Smirnov on the
user's speech so far, the decision time and the number of speech segments before it
(`meta["stats"]` of each scenario). `microturn check-matching` prints one table row per
family, then one JSON line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from microturn.data.families import conditions, make_scenario

CUES = ("speech_before", "decision_t", "segments_before")
FIRST_SEED = 7000


@dataclass(frozen=True)
class Match:
    """One family's cheap cues: the mean of each on either side, and the KS p-value."""

    family: str
    act: dict[str, float]
    hold: dict[str, float]
    p: dict[str, float]

    def row(self) -> str:
        cells = [f"{self.act[k]:.2f}/{self.hold[k]:.2f} ({self.p[k]:.3f})" for k in CUES]
        return f"| {self.family} | {' | '.join(cells)} |"


def match_family(family: str, split: str, n: int) -> Match:
    """n scenarios a side, the act and hold conditions taken in turn, paired by seed."""
    from scipy.stats import ks_2samp

    acts = [c for c, a in conditions(family) if a]
    holds = [c for c, a in conditions(family) if not a]
    a: dict[str, list[float]] = {k: [] for k in CUES}
    h: dict[str, list[float]] = {k: [] for k in CUES}
    for i in range(n):
        ta = make_scenario(family, acts[i % len(acts)], split, FIRST_SEED + i)
        th = make_scenario(family, holds[i % len(holds)], split, FIRST_SEED + i)
        for k in CUES:
            a[k].append(ta.meta["stats"][k])
            h[k].append(th.meta["stats"][k])
    return Match(
        family,
        {k: float(np.mean(a[k])) for k in CUES},
        {k: float(np.mean(h[k])) for k in CUES},
        {k: float(ks_2samp(a[k], h[k]).pvalue) for k in CUES},
    )


def report(split: str, n: int, families: Sequence[str]) -> dict:
    """Print the table (a row as each family finishes), then the JSON line; return its dict."""
    print(f"| family | {' | '.join(f'{c} act/hold (p)' for c in CUES)} |")
    print("|---" * (len(CUES) + 1) + "|")
    result = {}
    for fam in families:
        m = match_family(fam, split, n)
        result[fam] = {k: round(v, 4) for k, v in m.p.items()}
        print(m.row(), flush=True)
    worst = min(v for r in result.values() for v in r.values())
    out = {"split": split, "n": n, "min_p": round(worst, 4), "families": result}
    print(json.dumps(out))
    return out
