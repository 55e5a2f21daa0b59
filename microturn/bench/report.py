"""The benchmark report: a markdown table per split (systems x tasks), the harness's theta/m
curve, latency distributions, example timelines where systems differ, and an export in
Full-Duplex-Bench v1's input format for cross-checking with its official scripts."""

from __future__ import annotations

import json
import platform
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from microturn.bench.score import SCORER_VERSION, mcnemar, summarize
from microturn.config import GridConfig
from microturn.data.families import FAMILIES

TASK = {name: f.task for name, f in FAMILIES.items()}


def cell(v: dict) -> str:
    """**balanced** act [CI] / hold [CI]."""

    def side(x):
        if x["pass"] is None:
            return "-"
        # wilson() can round a zero lower bound to -0.0; clamped here because editing
        # score.py changes the scorer hash that keys every banked block of results
        return f"{x['pass']:.2f} [{max(0.0, x['ci'][0]):.2f}-{x['ci'][1]:.2f}]"

    ba = "-" if v["balanced"] is None else f"**{v['balanced']:.2f}**"
    return f"{ba} {side(v['act'])} / {side(v['hold'])}"


def table(results: dict[str, list[dict]], key: str) -> tuple[str, dict]:
    """Rows: tasks; columns: systems."""
    sums = {name: summarize(rs, key) for name, rs in results.items()}
    fams = sorted({f for s in sums.values() for f in s}, key=lambda f: TASK.get(f, f))
    names = list(sums)
    lines = ["| task | n act/hold | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 2)]
    # every system scored the same scenarios; a scenario with no applicable expectation for a
    # system (T3: it was not speaking when the overlap began) is not judged for it
    total = Counter((r["family"], r["act"]) for r in next(iter(results.values())))
    for f in fams:
        act, hold = total[(f, True)], total[(f, False)]
        cells = []
        for m in names:
            if f not in sums[m]:
                cells.append("-")
                continue
            a, h = sums[m][f]["act"]["n"], sums[m][f]["hold"]["n"]
            n = "" if (a, h) == (act, hold) else f" (judged {a}/{h})"
            cells.append(cell(sums[m][f]) + n)
        lines.append(f"| {TASK.get(f, f)} {f} | {act}/{hold} | " + " | ".join(cells) + " |")
    lat = []
    for m in names:
        t = sums[m].get("turn", {})
        med = t.get("latency_median")
        lat.append("-" if med is None else f"{med:.2f} / {t['latency_p90']:.2f} s")
    lines.append("| T1 onset latency median / p90 | | " + " | ".join(lat) + " |")
    return "\n".join(lines), sums


def paired(results: dict[str, list[dict]]) -> list[str]:
    """McNemar p for the first system against each other one, per family (same files)."""
    names = list(results)
    if len(names) < 2:
        return []
    a = names[0]
    out = [f"| {a} vs | " + " | ".join(names[1:]) + " |", "|" + "---|" * len(names)]
    fams = sorted({r["family"] for r in results[a]}, key=lambda f: TASK.get(f, f))
    for f in fams:
        row = []
        for b in names[1:]:
            pa = [r for r in results[a] if r["family"] == f and r["pass"] is not None]
            ids = {r["id"] for r in pa}
            pb = {r["id"]: r for r in results[b] if r["id"] in ids and r["pass"] is not None}
            pairs = [(bool(r["pass"]), bool(pb[r["id"]]["pass"])) for r in pa if r["id"] in pb]
            row.append(f"{mcnemar([x for x, _ in pairs], [y for _, y in pairs]):.3g}")
        out.append(f"| {f} | " + " | ".join(row) + " |")
    return out


def analytic(results: list[dict], scen: list, h, lags) -> list[str]:
    """The harness's measured pass rates next to the research notes' analytic model, and for
    T3 what the measurement shows about where they part."""
    from microturn.bench.harness import predicted_pass
    from microturn.bench.score import wilson

    by_id = {r["id"]: r for r in results}
    lines = [
        "| task | side | predicted | measured [95 % CI] | n | agrees |",
        "|---|---|---|---|---|---|",
    ]
    for fam in ("turn", "barge_in"):
        for act in (True, False):
            pairs = [(predicted_pass(h, sc.tl, lags), by_id[sc.id]["timing_pass"]) for sc in scen
                     if sc.tl.family == fam and sc.tl.act == act and sc.id in by_id]  # fmt: skip
            pairs = [(p, m) for p, m in pairs if p is not None and m is not None]
            if not pairs:
                continue
            pred = float(np.mean([p for p, _ in pairs]))
            k, n = sum(bool(m) for _, m in pairs), len(pairs)
            lo, hi = wilson(k, n)
            ok = "yes" if lo <= pred <= hi else "no"
            side = "act" if act else "hold"
            lines.append(f"| {TASK[fam]} {fam} | {side} | {pred:.2f} | {k / n:.2f} [{lo:.2f}, "
                         f"{hi:.2f}] | {n} | {ok} |")  # fmt: skip
    return lines + ["", *barge_in_mechanism(by_id, scen, h, lags)]


def barge_in_mechanism(by_id: dict, scen: list, h, lags) -> list[str]:
    """Measured stop latencies against the model's min_barge + lag + delay, and which
    should-not-act overlaps the harness kept talking through."""
    lat, held = [], defaultdict(lambda: [0, 0])
    for sc in scen:
        r = by_id.get(sc.id)
        if r is None or sc.tl.family != "barge_in":
            continue
        if sc.tl.act:
            lat += [j["latency"] for j in r["judgements"]
                    if j["kind"] == "stop" and j["latency"] is not None]  # fmt: skip
        else:
            held[sc.tl.condition][0] += bool(r["timing_pass"])
            held[sc.tl.condition][1] += 1
    if not lat or h.min_barge is None:
        return []
    p10, p50, p90 = np.percentile(lat, [10, 50, 90])
    on = np.percentile(lags.onsets, [10, 50, 90]) if len(lags.onsets) else np.zeros(3)
    base = h.min_barge + h.delay
    kept = ", ".join(f"{c} {k}/{n}" for c, (k, n) in sorted(held.items()))
    return [
        f"T3 act: measured stop latency p10 / p50 / p90 = {p10:.3f} / {p50:.3f} / {p90:.3f} s "
        f"(n {len(lat)}, limit 0.5 s); the model's m + delay + onset lag = {base:.2f} + "
        f"{on[0]:.3f} / {on[1]:.3f} / {on[2]:.3f} s (lag p10 / p50 / p90 on T1). T3 hold: "
        f"the harness talked through the overlap in {kept}; the model counts every overlap "
        f"of >= {h.min_barge} s as heard, but the VAD misses some quiet background speech and "
        "short backchannels.",
    ]


def delegation(results: dict[str, list[dict]]) -> dict[str, dict]:
    """T7 should-act scenarios per system: delegated in the window, the result existed (a real
    agent answered with words), the agent's result carried the expected value, and the
    content row: the result's words said after it existed, in the woven reply's window."""
    from microturn.bench.score import wilson

    out = {}
    for name, rs in results.items():
        woven = [
            (r, next(j for j in r["judgements"] if j.get("value") is not None))
            for r in rs
            if r["family"] == "delegate" and r["act"]
            and any(j.get("value") is not None for j in r["judgements"])
        ]  # fmt: skip
        if not woven:
            continue
        n = len(woven)
        k = sum(bool(j["value"]) for _, j in woven)
        dele = sum(any(x["kind"] == "delegate" and x["passed"] for x in r["judgements"])
                   for r, _ in woven)  # fmt: skip
        right = [j["result_right"] for _, j in woven if j["result_right"] is not None]
        out[name] = {
            "n": n,
            "delegated": dele,
            "result": sum(j["result_t"] is not None for _, j in woven),
            "real": bool(right),  # a real agent: judged on its own results
            "right": sum(bool(x) for x in right),
            "value": round(k / n, 4),
            "value_k": k,
            "ci": wilson(k, n),
        }
    return out


def delegation_lines(results: dict[str, list[dict]]) -> list[str]:
    """The T7 content row and what it rests on, per system (markdown)."""
    rows = delegation(results)
    if not rows:
        return []
    lines = [
        "## T7: the delegated result said after it existed",
        "",
        "Should-act delegation scenarios. The result exists at the scenario's scripted tool "
        "result, or, for a system with a real agent (`model+agent`, `vad+tool` and their "
        "variants), at its agent's first result with words (a failure result does "
        "not count). Content: every word of the expected result said, after it existed, in "
        "the woven reply's window (its words from the text events), with a 95 % Wilson "
        "interval.",
        "",
        "| system | n | delegated in the window | result existed | agent's result right "
        "| result said after it existed [95 % CI] |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in rows.items():
        right = f"{v['right']}/{v['n']}" if v["real"] else "(scripted)"
        lo, hi = v["ci"]
        lines.append(f"| {name} | {v['n']} | {v['delegated']}/{v['n']} | {v['result']}/{v['n']} "
                     f"| {right} | {v['value_k']}/{v['n']} = {v['value']:.2f} [{max(0.0, lo):.2f}"
                     f"-{hi:.2f}] |")  # fmt: skip
    return [*lines, ""]


def made_by(args: dict) -> list[str]:
    """How the scenario splits the command read were generated, from their manifests."""
    lines = []
    for key in ("data", "dev"):
        m = Path(args.get(key) or "") / "manifest.json"
        if args.get(key) and m.exists():
            d = json.loads(m.read_text())
            fams = d.get("families") or list(FAMILIES)
            sub = "" if set(fams) == set(FAMILIES) else f" --families {','.join(fams)}"
            lines.append(f"`{args[key]}`: `microturn synth --split {d['split']} --per-condition "
                         f"{d['per_condition']}{sub} --out {args[key]}` ({d['scenarios']} "
                         f"scenarios, {d['hours']:.1f} h)")  # fmt: skip
    return ["Scenarios: " + "; ".join(lines) + ".", ""] if lines else []


def asr_lines(results: dict) -> list[str]:
    """Content by the offline ASR vs by the text events, where cross-checked (--asr)."""
    rows = []
    for name, rs in results.items():
        both = [(r["asr_content"], r["content"]) for r in rs if r.get("asr_content") is not None]
        if both:
            agree = sum(a == b for a, b in both) / len(both)
            asr_ok = sum(bool(a) for a, _ in both) / len(both)
            ev_ok = sum(bool(b) for _, b in both) / len(both)
            rec = np.mean([r["asr_recall"] for r in rs if r.get("asr_recall") is not None])
            rows.append(f"| {name} | {len(both)} | {ev_ok:.2f} | {asr_ok:.2f} | {rec:.2f} "
                        f"| {agree:.2f} |")  # fmt: skip
    if not rows:
        return []
    return [
        "Content cross-check with the offline ASR (Whisper tiny.en) on the scenarios sampled "
        "with `--asr`, over their replies that were timed right and expect at least 3 words "
        "(one-word replies are left out: Whisper tiny mishears single synthetic words). The "
        "ASR confirms a scenario when it hears at least half of the expected words.",
        "",
        "| system | n | content by text events | confirmed by ASR | mean word recall | agreement |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
    ]


def size_line(args: dict, scen: list) -> str:
    """How many scenarios were scored per condition (counted, so a `--data` split of another
    size reads true), saying so plainly when `--blocks` cut the run short."""
    per = defaultdict(int)
    for sc in scen:
        per[(sc.tl.family, sc.tl.condition)] += 1
    lo, hi = min(per.values(), default=0), max(per.values(), default=0)
    counted = f"{lo}" if lo == hi else f"{lo}–{hi}"
    if args.get("blocks") is None:
        return f"{counted} scenarios per condition"
    return (f"**partial run**: the first {args['blocks']} blocks ({len(scen)} scenarios, "
            f"{counted} per condition) of the {args['per_condition']}-per-condition "
            "list")  # fmt: skip


def plots(out: Path, results: dict, curve: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    for m in sorted({c["m"] for c in curve}):
        cs = [c for c in curve if c["m"] == m]
        ax.plot([c["theta"] for c in cs], [c["mean_balanced"] for c in cs], "o-", label=f"m={m}")
        for key, style in (("turn", ":"), ("barge_in", "--")):
            ax.plot([c["theta"] for c in cs], [c["families"].get(key) for c in cs], style,
                    alpha=0.6, label=f"{key}, m={m}")  # fmt: skip
    ax.set_xlabel("end-of-turn silence theta (s)")
    ax.set_ylabel("balanced accuracy (dev)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "harness_curve.png", dpi=80)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.4))
    bins = np.linspace(-1.5, 3.0, 46)
    for name, rs in results.items():
        lat = [x for r in rs if r["family"] == "turn" and r["act"] for x in r["latencies"]]
        if lat:
            ax.hist(np.clip(lat, -1.5, 3.0), bins, histtype="step", label=f"{name} (n {len(lat)})")
    ax.axvspan(-0.2, 1.5, color="green", alpha=0.07)
    ax.set_xlabel("T1 end-of-turn onset latency (s; window shaded; clipped for display only)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=80)
    plt.close(fig)


def examples(out: Path, results: dict, scen: list, k: int = 3) -> list[str]:
    """Plot up to k T1/T3 scenarios where the first system and the tuned harness disagree:
    the user's audio, every system's speech segments, the expectation windows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    if "vad" not in results or len(names) < 2:
        return []
    a, by = names[0], {n: {r["id"]: r for r in rs} for n, rs in results.items()}
    picks = [sc for sc in scen if sc.tl.family in ("turn", "barge_in")
             and sc.id in by[a] and sc.id in by["vad"]
             and by[a][sc.id]["timing_pass"] != by["vad"][sc.id]["timing_pass"]][:k]  # fmt: skip
    files = []
    for sc in picks:
        fig, ax = plt.subplots(figsize=(9, 1.2 + 0.35 * len(names)))
        t = np.arange(len(sc.user)) / GridConfig().sample_rate
        ax.plot(t, len(names) + 0.4 * sc.user / (np.abs(sc.user).max() + 1e-9), lw=0.3, c="k")
        for x in sc.tl.expect:
            ax.axvspan(x.t_on, x.t_off, color="green" if x.kind == "speak" else "red", alpha=0.1)
        for row, n in enumerate(names):
            r = by[n].get(sc.id)
            for on, off, _ in r["segments"] if r else []:
                ax.plot([on, off], [len(names) - 1 - row] * 2, lw=6, solid_capstyle="butt")
        ax.set_yticks(range(len(names) + 1), [*reversed(names), "user"])
        ax.set_xlabel(f"{sc.id} ({sc.tl.condition}): s; windows green = speak, red = hold")
        fig.tight_layout()
        f = f"example-{sc.id}.png"
        fig.savefig(out / f, dpi=70)
        plt.close(fig)
        files.append(f)
    return files


def export_fdb(out: Path, scen: list) -> int:
    """Full-Duplex-Bench v1 layout: one folder per T1 scenario with input.wav and
    turn_taking.json (end of turn) or pause.json (the mid-turn pause)."""
    from microturn.audio import save

    n = 0
    for sc in scen:
        tl = sc.tl
        if tl.family != "turn":
            continue
        d = out / "fdb" / tl.id
        d.mkdir(parents=True, exist_ok=True)
        save(d / "input.wav", sc.user)
        if tl.act:
            t = tl.meta["decision_t"]
            ann = [{"text": "[TURN-TAKING]", "timestamp": [round(t, 3), round(t, 3)]}]
            (d / "turn_taking.json").write_text(json.dumps(ann))
        else:
            x = next(x for x in tl.expect if x.kind == "silent")
            ann = [{"text": "[PAUSE]", "timestamp": [x.t_on, round(x.t_off - 0.2, 3)]}]
            (d / "pause.json").write_text(json.dumps(ann))
        n += 1
    return n


def write_report(
    out: Path,
    results,
    curve,
    tuned,
    scen,
    args: dict,
    timing: dict,
    work: Path | None = None,
    lags=None,
) -> dict:
    import gzip

    from microturn.bench.harness import VadLags

    lags = lags or VadLags(np.zeros(0), np.zeros(0))
    out.mkdir(parents=True, exist_ok=True)
    tab, sums = table(results, "timing_pass")
    tab_content, sums_content = table(results, "pass")
    plots(out, results, curve)
    fdb_dir = work or out  # the export holds wavs: keep it out of a committed report
    n_fdb = export_fdb(fdb_dir, scen)
    ex = examples(out, results, scen)
    with gzip.open(out / "results.jsonl.gz", "wt") as f:
        for name, rs in results.items():
            for r in rs:
                f.write(json.dumps({"system": name, "scorer": SCORER_VERSION, **r}) + "\n")
    best = max(curve, key=lambda c: c["mean_balanced"])
    md = [
        "# microturn interactivity benchmark",
        "",
        f"Scorer `{SCORER_VERSION}` · split `test` (held-out templates, voices, durations) · "
        f"{size_line(args, scen)} · {platform.processor() or 'cpu'}",
        "",
        f"Command: `microturn bench {' '.join(args.get('argv', []))}`",
        "",
        *made_by(args),
        "Cells: **balanced accuracy** = mean of the should-act pass rate [95 % Wilson CI] and "
        "the should-not-act pass rate [CI]. A scenario passes when every expectation of its "
        "timeline passes; timing is read from each system's output audio through the fixed VAD. "
        'n: scenarios per side; "judged a/h" in a cell: the system\'s own n where some '
        "scenarios had no expectation that applied to it (T3's stop / continue apply only when "
        "the system was speaking as the overlap began).",
        "",
        "## Timing (the interaction itself)",
        "",
        tab,
        "",
        "## Timing and content",
        "",
        "Content from each system's text events (every expected word said in the window). The "
        "harnesses speak the scenario's reference replies (an oracle), so this table flatters "
        "them by design: compare the model against them on timing.",
        "",
        tab_content,
        "",
        *delegation_lines(results),
        f"Harness tuned on dev: theta = {tuned.theta} s, m = {tuned.min_barge} s (mean dev "
        f"balanced accuracy {best['mean_balanced']:.3f}); whole curve below and in "
        "`harness_curve.png`.",
        "",
        "| theta (s) | m (s) | mean balanced (dev) | T1 turn | T3 barge_in |",
        "|---|---|---|---|---|",
        *[
            f"| {c['theta']} | {c['m']} | {c['mean_balanced']:.3f} | "
            f"{c['families'].get('turn')} | {c['families'].get('barge_in')} |"
            for c in curve
        ],
        "",
        f"Tuned harness vs the analytic model (theta {tuned.theta} s, m {tuned.min_barge} s, "
        f"delay 0.2 s, VAD onset / offset lag {lags.on:.2f} / {lags.off:.2f} s, medians on T1; "
        "research/benchmarks.md C2, with the two facts of this data in "
        "`harness.predicted_pass`): predicted pass rate from each scenario's own pause and "
        "overlap lengths, measured timing pass rate.",
        "",
        *analytic(results.get("vad", []), scen, tuned, lags),
        "",
        *asr_lines(results),
        "Paired McNemar p-values (same files):",
        "",
        *paired(results),
        "",
        "![T1 latency](latency.png) ![harness curve](harness_curve.png)",
        "",
        f"Where {next(iter(results))} and the tuned harness disagree (T1/T3):",
        "",
        *[f"![{f}]({f})" for f in ex],
        "",
        f"Seconds per system in this invocation (blocks already in WORK's cache are read, not "
        f"run again): {json.dumps(timing)}. FDB-v1-format export: {n_fdb} T1 "
        f"scenarios under `{fdb_dir / 'fdb'}` (input.wav + turn_taking.json / pause.json; made "
        "by the command, not committed). Every scored scenario: `results.jsonl.gz`.",
    ]
    (out / "report.md").write_text("\n".join(md) + "\n")
    print(tab)
    return {
        "scorer": SCORER_VERSION,
        "per_condition": args["per_condition"],
        "harness": {"theta": tuned.theta, "m": tuned.min_barge},
        "balanced_timing": {n: {f: v["balanced"] for f, v in s.items()} for n, s in sums.items()},
        "balanced": {n: {f: v["balanced"] for f, v in s.items()} for n, s in sums_content.items()},
        "delegation": delegation(results),
    }
