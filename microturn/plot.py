"""Draw a conversation on one time axis: both channels' spectrograms, words, pauses, cues,
tool traffic, what the model was expected to do, and (for visual scenes) a strip of frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from microturn.config import GridConfig
from microturn.timeline import Timeline

EXPECT_COLOURS = {
    "speak": "#2ca02c",
    "backchannel": "#98df8a",
    "silent": "#d62728",
    "stop": "#ff7f0e",
    "continue": "#1f77b4",
    "delegate": "#9467bd",
}


def _spec(ax, x: np.ndarray, sr: int, duration: float) -> None:
    import torch

    from microturn.config import preset
    from microturn.voice.mel import MelAnalyzer

    a = MelAnalyzer(preset("small"))
    n = len(x) // a.grid.hop * a.grid.hop
    m = a.frames(torch.from_numpy(x[:n].astype(np.float32))).numpy().T
    ax.imshow(
        m,
        origin="lower",
        aspect="auto",
        extent=(0, n / sr, 0, m.shape[0]),
        cmap="magma",
        vmin=-4.5,
        vmax=0.75,
    )
    ax.set_xlim(0, duration)
    ax.set_yticks([])


def _words(ax, events, y: float, colour: str) -> None:
    for e in events:
        ax.axvspan(e.t_on, e.t_off, ymin=0.0, ymax=0.06, color=colour, alpha=0.9)
        for w in e.words:
            ax.text(
                w.t_on,
                y,
                w.text,
                fontsize=6,
                color="white",
                rotation=60,
                va="bottom",
                ha="left",
                clip_on=True,
            )


def plot_timeline(
    tl: Timeline,
    out: str | Path,
    user: np.ndarray | None = None,
    model: np.ndarray | None = None,
    video: np.ndarray | None = None,
) -> Path:
    """Write a PNG of `tl`. Audio/video are rendered from the timeline when not given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if user is None or model is None:
        from microturn.data.render import render

        r = render(tl)
        user, model, video = r.user, r.model, r.video if video is None else video
    sr = GridConfig().sample_rate
    rows = 4 if video is not None and len(video) else 3
    fig, axes = plt.subplots(
        rows,
        1,
        figsize=(max(8, min(16, tl.duration * 0.6)), 1.8 * rows),
        sharex=False,
        gridspec_kw={"height_ratios": [3, 3, 1.2, 1.4][:rows]},
    )
    ax_u, ax_m, ax_e = axes[0], axes[1], axes[2]
    _spec(ax_u, user, sr, tl.duration)
    _spec(ax_m, model, sr, tl.duration)
    ax_u.set_ylabel("user mic", fontsize=8)
    ax_m.set_ylabel("model", fontsize=8)
    _words(ax_u, tl.on("user"), 55, "#17becf")
    _words(ax_u, tl.on("other"), 30, "#bcbd22")
    _words(ax_m, tl.on("model"), 55, "#e377c2")
    for e in tl.on("cue"):
        ax_u.axvspan(e.t_on, e.t_off, color="cyan" if e.kind == "beep" else "grey", alpha=0.5)
        ax_u.text(e.t_on, 74, f"{e.kind} {e.attrs.get('freq', 0):.0f}Hz", fontsize=6, color="cyan")
    speech = sorted((e.t_on, e.t_off) for e in tl.on("user"))
    for (_, a1), (b0, _) in zip(speech, speech[1:], strict=False):
        if b0 - a1 > 0.25:  # pauses within the user's speech
            ax_u.annotate(
                "",
                xy=(b0, 70),
                xytext=(a1, 70),
                arrowprops={"arrowstyle": "<->", "color": "white", "lw": 0.8},
            )
            ax_u.text((a1 + b0) / 2, 72, f"{b0 - a1:.2f}s", fontsize=6, color="white", ha="center")
    # expectations and tool traffic on their own lane
    lanes = {}
    for x in tl.expect:
        lane = lanes.setdefault(x.kind, len(lanes))
        ax_e.barh(
            lane,
            x.t_off - x.t_on,
            left=x.t_on,
            height=0.7,
            color=EXPECT_COLOURS.get(x.kind, "#7f7f7f"),
            alpha=0.7,
        )
        if x.text:
            ax_e.text(x.t_on, lane, x.text[:30], fontsize=6, va="center")
    for e in tl.on("tool") + tl.on("side_text"):
        ax_e.axvline(e.t_on, color="#9467bd", lw=1)
        ax_e.text(e.t_on, len(lanes), f"{e.kind}: {e.text[:24]}", fontsize=6, color="#9467bd")
    ax_e.set_yticks(range(len(lanes)), list(lanes), fontsize=7)
    ax_e.set_ylim(-0.6, len(lanes) + 0.8)
    ax_e.set_xlim(0, tl.duration)
    ax_e.set_xlabel("time (s)")
    for x in (ax_u, ax_m):
        x.axvline(tl.meta.get("decision_t", -1), color="yellow", ls="--", lw=1)
    if rows == 4:
        ax_v = axes[3]
        idx = np.linspace(0, len(video) - 1, min(12, len(video))).astype(int)
        ax_v.imshow(np.concatenate([video[i] for i in idx], axis=1))
        ax_v.set_xticks(
            [(k + 0.5) * video.shape[2] for k in range(len(idx))],
            [f"{i / 5:.1f}s" for i in idx],
            fontsize=6,
        )
        ax_v.set_yticks([])
    title = tl.meta.get("title") or (
        f"{tl.family} / {tl.condition} ({'act' if tl.act else 'hold'}) - {tl.split} - "
        f"{tl.meta.get('user_voice', '')}"
    )
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=72)
    plt.close(fig)
    return out
