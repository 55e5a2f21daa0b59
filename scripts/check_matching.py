"""Are the should-act and should-not-act sides of each family indistinguishable by cheap cues?

For each family, n scenarios a side; two-sample Kolmogorov-Smirnov on the user's speech so far,
the decision time and the number of speech segments before it. Prints a table, then one JSON
line. Usage: python -m scripts.check_matching --split train --n 100
"""

from __future__ import annotations

import argparse
import json


def main(argv: list[str] | None = None) -> None:
    import numpy as np
    from scipy.stats import ks_2samp

    from microturn.data.families import FAMILIES, conditions, make_scenario

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--split", default="train", choices=["train", "dev", "test"])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--families", default=",".join(FAMILIES))
    args = p.parse_args(argv)
    cues = ("speech_before", "decision_t", "segments_before")
    print(f"| family | {' | '.join(f'{c} act/hold (p)' for c in cues)} |")
    print("|---" * (len(cues) + 1) + "|")
    result = {}
    for fam in args.families.split(","):
        acts = [c for c, a in conditions(fam) if a]
        holds = [c for c, a in conditions(fam) if not a]
        a = {k: [] for k in cues}
        h = {k: [] for k in cues}
        for i in range(args.n):
            ta = make_scenario(fam, acts[i % len(acts)], args.split, 7000 + i)
            th = make_scenario(fam, holds[i % len(holds)], args.split, 7000 + i)
            for k in cues:
                a[k].append(ta.meta["stats"][k])
                h[k].append(th.meta["stats"][k])
        ps = {k: float(ks_2samp(a[k], h[k]).pvalue) for k in cues}
        result[fam] = {k: round(v, 4) for k, v in ps.items()}
        cells = [f"{np.mean(a[k]):.2f}/{np.mean(h[k]):.2f} ({ps[k]:.3f})" for k in cues]
        print(f"| {fam} | {' | '.join(cells)} |", flush=True)
    worst = min(v for r in result.values() for v in r.values())
    print(
        json.dumps({"split": args.split, "n": args.n, "min_p": round(worst, 4), "families": result})
    )


if __name__ == "__main__":
    main()
