"""`microturn bench`: every system on the same held-out audio, one scorer, one report.

    microturn bench [--quick] [--data data/test] [--dev data/dev] [--checkpoint PATH]
                    [--systems NAME=SPEC ...] [--families F,G] [--per-condition N]
                    [--threads N] [--delegate-threshold P ...] [--vocoder PATH|griffin-lim]
                    [--out docs/bench]

Scenarios are the test split's (held-out templates, voices, durations); `--data` points at a
generated split with audio, otherwise they are generated here. System specs:

    model[:PATH]     the microturn model (default checkpoint), many scenarios batched as
                     sessions of one streaming engine
    model+agent[:PATH]  the same, every session linked to the real tool agent
                     (`microturn run --agent tools`): in T7 scenarios it hears no scripted
                     tool result; each delegation's real result enters its side text at the
                     tick the agent returns it, and the scorer times T7 by that result
    model+agent+hearing[:PATH]  the same, the agent hearing the request's audio itself
                     (`--agent-hearing whisper`, `agent/hearing.py`)
    vad[:THETA,M]    the VAD harness; bare `vad` is tuned on `--dev` (theta, m sweep)
    vad+timer        the tuned VAD harness scaffolded with a timer tool (T5)
    vad+tool[:THETA,M]         the VAD harness with a blocking tool call (T7): a request
                     that needs a tool goes to the real tool agent; silent until it returns,
                     then the reply with its result (`tool_harness.py`); bare: tuned
    vad+tool+filler[:THETA,M]  the same saying "let me check" at once while it blocks
    vad+tool+hearing[:THETA,M] `vad+tool` hearing the request with the agent's recogniser
                     (Whisper tiny.en, prompted) instead of being given its true words
    turn             the Smart Turn harness
    silent, eager    trivial: always silent; reply 0.2 s after any silence
    cmd:COMMAND      any system with the runner interface: COMMAND with {input} and {out}
                     writes {out}/model.wav and {out}/events.jsonl; {text} (side text as
                     JSONL) and {video} (.npy frames) are there for systems that read them
                     (e.g. "cmd:microturn run {input} --out {out} --text {text} --video {video}")

`--families` keeps only those families' scenarios (test and dev). `--threads` sets torch's
threads (0: torch's default). `--speak-threshold`, `--reply-threshold`, `--delegate-threshold`
and `--result-threshold` set the model systems' sampling as on `microturn run` (unset: the
runtime's defaults; e.g. T7 with `--delegate-threshold 0.01`), `--vocoder` what voices them
(default: the shipped learned vocoder, as on `run`); the cache keys hold them.

Prints the table, writes OUT/report.md (+ plots, results.jsonl.gz; the FDB export goes to
WORK/fdb), ends with one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from microturn.audio import from_int16, load, save
from microturn.bench.harness import Harness, SmartTurn, run_harness, vad_probs, write_output
from microturn.bench.score import SCORER_VERSION, Output, score, summarize
from microturn.bench.sessions import run_model
from microturn.data.shards import ShardReader
from microturn.runtime.session import Sampling
from microturn.voice.learned import DEFAULT_VOCODER, GRIFFIN_LIM

THETAS = (0.3, 0.5, 0.8, 1.2, 1.5)
MIN_BARGES = (0.2, 0.5)
DEFAULT_SYSTEMS = ("model", "vad", "vad+timer", "turn", "eager", "silent")
BLOCK = 320  # scenarios per cached block of results


@dataclass
class Scenario:
    tl: object  # Timeline
    user: np.ndarray
    video: np.ndarray | None = None  # (frames, 80, 80, 3) uint8, one per chunk

    @property
    def side_text(self) -> list[dict]:
        """Typed text and tool results the scenario gives the system, on its clock."""
        return self.feed_text()

    def feed_text(self, scripted_results: bool = True) -> list[dict]:
        """The side text a system hears: all of it, or without the scripted tool results of a
        delegation scenario (T7) when a real agent gives the results instead."""
        drop = not scripted_results and self.tl.family == "delegate"
        return [{"t": e.t_on, "text": e.text} for e in self.tl.on("side_text")
                if not (drop and e.kind == "tool_result")]  # fmt: skip

    @property
    def id(self) -> str:
        return self.tl.id

    @cached_property
    def fingerprint(self) -> str:
        """What a system is given and scored against: the user's audio, the video, the
        timeline (hashed once per scenario, not once per system that reads the cache)."""
        h = hashlib.sha1(self.user.tobytes())
        if self.video is not None:
            h.update(self.video.tobytes())
        h.update(self.tl.to_json().encode())
        return h.hexdigest()[:16]


def pick(data: str | Path, per_condition: int, families: set[str] | None = None) -> list[Scenario]:
    """The first `per_condition` scenarios of every (family, condition) of a split with audio."""
    r = ShardReader(data)
    count: dict[tuple, int] = defaultdict(int)
    out = []
    for i in range(len(r)):
        t = r.info(i)
        key = (t.family, t.condition)
        if (families and t.family not in families) or count[key] >= per_condition:
            continue
        count[key] += 1
        s = r[i]
        if "user_audio" not in s.arrays:
            raise ValueError(f"{data}: no stored audio (generate it with --audio)")
        out.append(Scenario(s.timeline, from_int16(s.arrays["user_audio"]), s.arrays.get("video")))
    return out


def generate(split: str, per_condition: int, work: Path) -> Path:
    """Generate a small split with audio into work/ (cached), for runs without --data."""
    from microturn.config import preset
    from microturn.data.generate import Job, run

    d = work / f"{split}-{per_condition}"
    if not (d / "manifest.json").exists():
        job = Job(split, str(d), preset("small").to_dict(), per_shard=16, audio=True,
                  per_condition=per_condition)  # fmt: skip
        run(job, workers=2, progress=False)
    return d


# --- systems ------------------------------------------------------------------------------
def run_command(cmd: str, scen: list[Scenario], work: Path) -> list[tuple]:
    outs = []
    for sc in scen:
        inp, od = work / "inputs" / f"{sc.id}.wav", work / "cmd" / sc.id
        text, video = inp.with_suffix(".text.jsonl"), inp.with_suffix(".video.npy")
        if not inp.exists():
            save(inp, sc.user)
            text.write_text("".join(json.dumps(e) + "\n" for e in sc.side_text))
            np.save(video, sc.video if sc.video is not None else np.zeros((0, 80, 80, 3), np.uint8))
        fill = {"{input}": inp, "{out}": od, "{text}": text, "{video}": video}
        args = []
        for a in shlex.split(cmd):
            for k, v in fill.items():
                a = a.replace(k, str(v))
            args.append(a)
        r = subprocess.run(args, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"system command failed on {sc.id}: {r.stderr.strip()[-300:]}")
        ev = [json.loads(x) for x in (od / "events.jsonl").read_text().splitlines() if x]
        outs.append((load(od / "model.wav"), ev))
    return outs


def run_harnesses(h: Harness | None, scen: list[Scenario], cache: dict) -> list[tuple]:
    smart = SmartTurn() if h is not None and h.turn_detector else None
    outs = []
    for sc in scen:
        if sc.id not in cache:
            cache[sc.id] = vad_probs(sc.user)  # the VAD does not depend on theta or m
        outs.append(run_harness(h, sc.tl, sc.user, smart, cache[sc.id]))
    return outs


AGENT_SYSTEMS = (
    "model+agent",
    "model+agent+hearing",
    "vad+tool",
    "vad+tool+filler",
    "vad+tool+hearing",
)
# (these hear no scripted result)


def scored(
    scen: list[Scenario], outs: list[tuple], asr_ids: set[str] = frozenset(), agent: bool = False
) -> list[dict]:
    """Score every output; on the scenarios in `asr_ids`, also cross-check content with the
    offline ASR (`asr_check`). `agent`: the system answers delegations with a real agent
    (`Output.agent`)."""
    res = []
    for sc, (a, ev) in zip(scen, outs, strict=True):
        r = score(sc.tl, Output.read(a, ev, agent=agent))
        if sc.id in asr_ids:
            r.update(asr_check(sc.tl, r, a))
        res.append(r)
    return res


def asr_sample(scen: list[Scenario], per_family: int) -> set[str]:
    """The first `per_family` scenarios of each family: where the ASR cross-check runs."""
    seen, ids = defaultdict(int), set()
    for sc in scen:
        if seen[sc.tl.family] < per_family:
            seen[sc.tl.family] += 1
            ids.add(sc.id)
    return ids


def run_blocks(
    name: str, spec: str, scen, work, cache, checkpoint, tuned, asr_ids, sampling=None,
    vocoder=None,
) -> list[dict]:  # fmt: skip
    """Run and score one system in blocks of scenarios, each block's results cached under
    WORK/results: a long run that is killed picks up at the block it was in. The cache key
    covers everything the results depend on: the spec, the checkpoint's files, the model's
    sampling (`sampling`, a `runtime.session.Sampling`; None: the runtime's defaults) and
    vocoder (`vocoder`, `voice.learned.load_vocoder`'s path; None: the runtime's), the tuned
    harness, the scorer, the block's scenarios and the ASR sample. Several processes on one
    machine can share WORK: each claims the block it runs, skips blocks another live process
    holds, and at the end waits for those (or takes over the claim of one that died)."""
    names = block_files(name, spec, scen, checkpoint, tuned, asr_ids, sampling, vocoder)
    blocks = {b: work / "results" / f for b, f in names.items()}
    done: dict[int, list[dict]] = {}
    while len(done) < len(blocks):
        waiting = False
        for b, f in blocks.items():
            if b in done:
                continue
            if f.exists():
                done[b] = json.loads(gzip.decompress(f.read_bytes()))
                continue
            if not claim(f):
                waiting = True
                continue
            try:
                block = scen[b : b + BLOCK]
                outs = system(spec, block, work, cache, checkpoint, tuned, sampling, vocoder)
                rs = scored(block, outs, asr_ids, spec.partition(":")[0] in AGENT_SYSTEMS)
                tmp = f.with_suffix(".tmp")
                tmp.write_bytes(gzip.compress(json.dumps(rs).encode()))
                tmp.replace(f)
            finally:
                f.with_suffix(".claim").unlink(missing_ok=True)
            done[b] = rs
            print(f"bench: {name} {b + len(block)}/{len(scen)}", file=sys.stderr, flush=True)
        if waiting and len(done) < len(blocks):
            time.sleep(CLAIM_POLL_S)  # another process is running the blocks still missing
    return [r for b in sorted(done) for r in done[b]]


CLAIM_POLL_S = 10.0
# the packages whose code decides what a model system says: a decoding fix with unchanged
# weights and defaults must not be handed the blocks the code before it said
MODEL_CODE = ("model", "runtime", "voice", "agent")


def code_stamp(packages: tuple[str, ...] = MODEL_CODE) -> str:
    """A hash of the source of `packages` (folders of `microturn/`), file by file."""
    root, h = Path(__file__).resolve().parents[1], hashlib.sha1()
    for pkg in packages:
        for f in sorted((root / pkg).rglob("*.py")):
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def files_stamp(d: Path) -> list[tuple[str, str]]:
    """(name, sha1) of each file of a checkpoint directory but its card (*.md): the weights and
    config decide the results, an edit of the card must not make the benchmark run again."""
    return [
        (f.name, hashlib.sha1(f.read_bytes()).hexdigest())
        for f in sorted(d.glob("*"))
        if f.is_file() and f.suffix != ".md"
    ]


def vocoder_stamp(path: str | Path | None = None) -> str | list[tuple[str, str]]:
    """What decides the sound of `voice.learned.load_vocoder(cfg, path)`: `GRIFFIN_LIM`, or the
    learned vocoder's `files_stamp` (None: the shipped one)."""
    if str(path) == GRIFFIN_LIM:
        return GRIFFIN_LIM
    return files_stamp(Path(path or DEFAULT_VOCODER))


def block_files(
    name: str, spec: str, scen, checkpoint, tuned, asr_ids, sampling=None, vocoder=None
) -> dict[int, str]:
    """The cache file name of each block (by its first index), a hash of everything its
    results depend on."""
    kind, _, arg = spec.partition(":")
    model = kind in ("model", "model+agent", "model+agent+hearing")
    ck = Path(arg if model and arg else checkpoint or "checkpoints/small")
    stamp = files_stamp(ck) if model and ck.is_dir() else []  # only the model reads them
    if model:  # the runtime's code and the sampling decide what the model says, the vocoder
        # how it sounds
        stamp += [("sampling", repr(sampling or Sampling())), ("code", code_stamp()),
                  ("vocoder", vocoder_stamp(vocoder))]  # fmt: skip
    names = {}
    for b in range(0, len(scen), BLOCK):
        ids = [s.id for s in scen[b : b + BLOCK]]
        content = [s.fingerprint for s in scen[b : b + BLOCK]]  # ids alone outlive a data fix
        key = json.dumps([spec, stamp, tuned.theta, tuned.min_barge, SCORER_VERSION, ids,
                          sorted(asr_ids & set(ids)), content])  # fmt: skip
        names[b] = f"{name}-{hashlib.sha1(key.encode()).hexdigest()[:12]}.json.gz"
    return names


def claim(f: Path) -> bool:
    """Take the block whose results go to `f` for this process: `f`.claim holds our pid. False
    while another live process holds it; a claim left by a dead process is taken over."""
    c = f.with_suffix(".claim")
    c.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(c, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                pid = int(c.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid == os.getpid():
                return True
            if pid and _alive(pid):
                return False
            c.unlink(missing_ok=True)  # its process is gone: try again to take it
            continue
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        pass
    return True


ASR_MIN_WORDS = 3  # one-word replies are left out: Whisper tiny hears "eleven" as "the"
ASR_RECALL = 0.5  # the ASR confirms a reply when it hears at least half its expected words


def asr_check(tl, r: dict, audio: np.ndarray) -> dict:
    """Content by the offline ASR next to content by the text events, over the speak windows
    with >= ASR_MIN_WORDS expected words that passed on timing. `asr_recall`: the share of
    their expected words in the ASR transcript of the whole output; `asr_content`: recall >=
    ASR_RECALL; `content`: the text events said every expected word. Empty when no window
    qualifies."""
    from microturn.eval.asr import transcribe, words

    xs = sorted(tl.expect, key=lambda x: x.t_on)
    pairs = [(x, j) for x, j in zip(xs, r["judgements"], strict=True)
             if x.kind == "speak" and x.text and j["passed"] and j["content"] is not None
             and len(words(x.text)) >= ASR_MIN_WORDS]  # fmt: skip
    if not pairs:
        return {}
    heard = set(words(transcribe(audio)))
    want = [w for x, _ in pairs for w in words(x.text)]
    recall = sum(w in heard for w in want) / len(want)
    return {"asr_recall": round(recall, 3), "asr_content": recall >= ASR_RECALL,
            "content": all(j["content"] for _, j in pairs)}  # fmt: skip


def tune(dev: list[Scenario], cache: dict) -> tuple[Harness, list[dict]]:
    """Sweep theta x m on dev; pick the best mean balanced accuracy over the families."""
    curve = []
    for th in THETAS:
        for m in MIN_BARGES:
            h = Harness(th, m)
            fam = summarize(scored(dev, run_harnesses(h, dev, cache)))
            bas = [v["balanced"] for v in fam.values() if v["balanced"] is not None]
            curve.append({"theta": th, "m": m, "mean_balanced": round(float(np.mean(bas)), 4),
                          "families": {k: v["balanced"] for k, v in fam.items()}})  # fmt: skip
    best = max(curve, key=lambda c: c["mean_balanced"])
    return Harness(best["theta"], best["m"]), curve


def tune_cached(dev: list[Scenario], cache: dict, work: Path) -> tuple[Harness, list[dict]]:
    """`tune`, its result kept in WORK keyed by the dev scenarios, the grid and the scorer: a
    resumed run (or a second process running other systems) does not sweep again."""
    key = json.dumps([[s.id for s in dev], THETAS, MIN_BARGES, SCORER_VERSION])
    f = work / f"tune-{hashlib.sha1(key.encode()).hexdigest()[:12]}.json"
    if f.exists():
        d = json.loads(f.read_text())
        return Harness(d["theta"], d["m"]), d["curve"]
    tuned, curve = tune(dev, cache)
    f.parent.mkdir(parents=True, exist_ok=True)
    f.with_suffix(".tmp").write_text(json.dumps(
        {"theta": tuned.theta, "m": tuned.min_barge, "curve": curve}))  # fmt: skip
    f.with_suffix(".tmp").replace(f)
    return tuned, curve


def system(
    spec: str, scen, work, cache, checkpoint, tuned, sampling=None, vocoder=None
) -> list[tuple]:
    kind, _, arg = spec.partition(":")
    if kind == "model":
        return run_model(arg or checkpoint, scen, sampling=sampling, vocoder=vocoder)
    if kind in ("model+agent", "model+agent+hearing"):
        hearing = "whisper" if kind.endswith("hearing") else "transcript"
        return run_model(arg or checkpoint, scen, agent="tools", hearing=hearing,
                         sampling=sampling, vocoder=vocoder)  # fmt: skip
    if kind == "vad":
        return run_harnesses(harness_of(arg, tuned), scen, cache)
    if kind in ("vad+tool", "vad+tool+filler", "vad+tool+hearing"):
        from microturn.bench.tool_harness import run_tool_harnesses

        h = harness_of(arg, tuned)
        return run_tool_harnesses(h, scen, cache, kind.endswith("filler"), kind.endswith("hearing"))
    if kind == "vad+timer":
        return run_harnesses(replace(tuned, timer=True), scen, cache)
    if kind == "turn":
        return run_harnesses(Harness(turn_detector=True), scen, cache)
    if kind == "eager":
        return run_harnesses(Harness(0.2, None), scen, cache)
    if kind == "silent":
        return run_harnesses(None, scen, cache)
    if kind == "cmd":
        return run_command(arg, scen, work)
    raise SystemExit(f"microturn bench: error: unknown system spec {spec!r} (see --help)")


def harness_of(arg: str, tuned: Harness) -> Harness:
    """`THETA,M` (M `inf`: no barge-in) -> that VAD harness; empty -> the tuned one."""
    if not arg:
        return tuned
    try:
        th, m = arg.split(",")
        return Harness(float(th), None if m == "inf" else float(m))
    except ValueError:
        raise SystemExit(f"microturn bench: error: want THETA,M, got {arg!r}") from None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        prog="microturn bench",
        description=__doc__.split("\n")[0],
        epilog=__doc__[__doc__.index("Scenarios are") :],  # the system specs, the output
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="2 scenarios per condition (CI)")
    p.add_argument("--data", default=None, help="a test split with audio (else generated)")
    p.add_argument("--dev", default=None, help="a dev split with audio, to tune the harness")
    p.add_argument("--per-condition", type=int, default=None)
    p.add_argument("--checkpoint", default=None)
    p.add_argument(
        "--systems", nargs="+", default=None, metavar="NAME=SPEC",
        help="systems to score (SPEC alone names itself; specs below)",
    )  # fmt: skip
    p.add_argument("--families", default=None, help="comma-separated families (default: all)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument(
        "--asr", type=int, default=0, metavar="N",
        help="cross-check content with the offline ASR on N scenarios per family and system",
    )  # fmt: skip
    p.add_argument(
        "--blocks", type=int, default=None, metavar="K",
        help=f"score only the first K blocks of {BLOCK} scenarios (a partial run, so reported)",
    )  # fmt: skip
    from microturn.cli import add_speak_flags, add_vocoder_flag

    add_speak_flags(p)  # the model systems' thresholds, as on `run`, `serve`, `eval replies`
    add_vocoder_flag(p)
    p.add_argument("--out", default="out/bench")
    p.add_argument("--work", default="out/bench-work")
    args = p.parse_args(argv)
    sampling = Sampling.flagged(args)
    n = args.per_condition or (2 if args.quick else 200)
    work, out = Path(args.work), Path(args.out)
    fams = set(args.families.split(",")) if args.families else None
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    t0 = time.time()
    test = pick(args.data or generate("test", n, work), n, fams)
    if args.blocks is not None:  # the same files, blocks and cache keys as the whole run's
        test = test[: args.blocks * BLOCK]
    n_dev = max(1, n // 4) if args.quick else 40
    dev = pick(args.dev or generate("dev", n_dev, work), n_dev, fams)
    cache: dict = {}
    tuned, curve = tune_cached(dev, cache, work)
    asr_ids = asr_sample(test, args.asr)
    specs = args.systems or [f"{s}={s}" for s in DEFAULT_SYSTEMS]
    results, timing = {}, {}
    for item in specs:
        name, _, spec = item.partition("=")
        a = time.time()
        results[name] = run_blocks(name, spec or name, test, work, cache, args.checkpoint,
                                   tuned, asr_ids, sampling, args.vocoder)  # fmt: skip
        timing[name] = round(time.time() - a, 1)
    from microturn.bench.report import write_report

    meta = vars(args) | {"per_condition": n, "argv": argv if argv is not None else sys.argv[2:]}
    from microturn.bench.harness import vad_lags

    for sc in test:  # the VAD on every test scenario (cached when a harness ran)
        if sc.tl.family == "turn" and sc.id not in cache:
            cache[sc.id] = vad_probs(sc.user)
    lags = vad_lags(test, cache)
    summary = write_report(out, results, curve, tuned, test, meta, timing, work, lags)
    summary["seconds"] = round(time.time() - t0, 1)
    print(json.dumps(summary))


__all__ = ["SCORER_VERSION", "main", "write_output"]
