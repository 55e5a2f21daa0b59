"""A run's log, `RUN/metrics.jsonl` (one JSON line per step, written by rank 0 as it goes),
and its plot, `RUN/curves.png`."""

from __future__ import annotations

import json
from pathlib import Path


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x]


class MetricsLog:
    """RUN/metrics.jsonl opened to go on after `step`: a resumed run drops the lines logged
    past its checkpoint; a run at step 0 (new, or killed before its first checkpoint) starts
    the file over. Each line is flushed as written, so a killed run keeps what it logged."""

    def __init__(self, run: Path, step: int):
        path = run / "metrics.jsonl"
        if step and path.exists():
            rows = path.read_text().splitlines()
            keep = [r for r in rows if r and json.loads(r)["step"] <= step]
            path.write_text("".join(r + "\n" for r in keep))
        self.f = open(path, "a" if step else "w")

    def write(self, row: dict) -> None:
        self.f.write(json.dumps(row) + "\n")
        self.f.flush()

    def close(self) -> None:
        self.f.close()


def plot_curves(run: Path) -> None:
    """RUN/curves.png: text, flow and transcript losses over the steps, train and dev."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(run)
    if not rows:
        return
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    for ax, k in zip(axes, ("text", "flow", "transcript"), strict=True):
        tr = [r for r in rows if k in r]  # the step-0 row holds dev losses only
        ax.plot([r["step"] for r in tr], [r[k] for r in tr], lw=0.7, label="train")
        dv = [r for r in rows if f"dev_{k}" in r]
        if dv:
            ax.plot([r["step"] for r in dv], [r[f"dev_{k}"] for r in dv], "o-", label="dev")
        ax.set_title(k)
        ax.set_xlabel("step")
        ax.legend()
    fig.tight_layout()
    fig.savefig(run / "curves.png", dpi=80)
    plt.close(fig)
