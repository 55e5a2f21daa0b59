"""The control for the vocal-tract scale (docs/LOG.md, session 6): the same train scenarios as
`microturn synth --split train --hours H`, with every train voice's scale pinned to 1.0.

The scale is still drawn, from a range of width 1e-9 that rounds to 1.0, so the rng stream and
with it every template, base voice, rate and pitch match the scaled data one for one.

    python -m scripts.synth_unscaled --hours 12 --workers 2 --out data/train-noformant
"""

import argparse
import dataclasses

from microturn.data import voices

# At import, so the spawned synthesis workers (which re-import this module) see it too.
voices.POOLS["train"] = dataclasses.replace(voices.POOLS["train"], formant=(1.0, 1.0 + 1e-9))

if __name__ == "__main__":
    from microturn.cli import main

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--hours", type=float, required=True)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    main(["synth", "--split", "train", "--hours", str(a.hours), "--workers", str(a.workers),
          "--out", a.out])  # fmt: skip
