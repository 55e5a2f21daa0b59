"""The `microturn` command: thin entry points, no work at import.

    microturn synth   --split train --hours 10 --workers 2 --out data/train
    microturn synth   --split test --per-condition 200 --out data/test
    microturn example --family turn --condition pause --out out/example
    microturn plot    TIMELINE.json | DATA_DIR#INDEX | family:condition:split:seed --out x.png
    microturn train   --preset small --data data/train --dev data/dev --out runs/small
    microturn bench   [--quick] [--systems NAME=SPEC ...]     (the interactivity benchmark)
    microturn bench   runtime [--quick]                        (the streaming runtime)
    microturn bench   vocoder [--n-iter 32] [--limit N]        (dMel + vocoder round trip)
    microturn run     INPUT.wav --out DIR [--checkpoint PATH] [--text EVENTS.jsonl] [--seed S]

Known failures (bad audio, a missing synthesizer, a broken data directory) print one line
and exit with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _known_errors() -> tuple[type[Exception], ...]:
    from microturn.audio import AudioError
    from microturn.config import ConfigError
    from microturn.data.shards import ShardError
    from microturn.model.model import CheckpointError
    from microturn.runtime.runner import RunError
    from microturn.synth.base import SynthError
    from microturn.timeline import TimelineError

    return (
        AudioError,
        CheckpointError,
        ConfigError,
        ShardError,
        SynthError,
        TimelineError,
        FileNotFoundError,
        RunError,
    )


def cmd_run(args: argparse.Namespace) -> None:
    from microturn.runtime.runner import main

    main(args)


def cmd_synth(args: argparse.Namespace) -> None:
    from microturn.config import preset
    from microturn.data.families import FAMILIES
    from microturn.data.generate import Job, run

    fams = tuple(args.families.split(",")) if args.families else tuple(FAMILIES)
    bad = [f for f in fams if f not in FAMILIES]
    if bad:
        raise SystemExit(f"microturn: error: unknown families {bad}; known: {list(FAMILIES)}")
    if not args.hours and not args.per_condition:
        raise SystemExit("microturn: error: give --hours (train) or --per-condition (dev/test)")
    audio = args.audio if args.audio is not None else args.split != "train"
    job = Job(
        args.split,
        str(args.out),
        preset(args.preset).to_dict(),
        args.per_shard,
        audio,
        args.per_condition,
        fams,
    )
    m = run(job, hours=args.hours, workers=args.workers, progress=not args.quiet)
    rate = m["hours"] * 3600 / max(m["wall_s"], 1e-9)
    print(
        f"{m['split']}: {m['scenarios']} scenarios, {m['hours']:.2f} h of dialogue in "
        f"{m['wall_s']:.0f} s ({rate:.0f}x real time) -> {args.out}"
    )


def load_timeline(spec: str):
    """A timeline from a JSON file, a shard sample `DIR#N`, or `family:condition:split:seed`."""
    from microturn.timeline import Timeline

    if "#" in spec:
        from microturn.data.shards import ShardReader

        d, i = spec.rsplit("#", 1)
        s = ShardReader(d)[int(i)]
        return s.timeline, s
    if spec.count(":") == 3 and not Path(spec).exists():
        from microturn.data.families import make_scenario

        fam, cond, split, seed = spec.split(":")
        return make_scenario(fam, cond, split, int(seed)), None
    return Timeline.load(spec), None


def cmd_plot(args: argparse.Namespace) -> None:
    from microturn.audio import from_int16
    from microturn.plot import plot_timeline

    tl, sample = load_timeline(args.input)
    kw = {}
    if sample is not None and "user_audio" in sample.arrays:
        kw = {
            "user": from_int16(sample.arrays["user_audio"]),
            "model": from_int16(sample.arrays["model_audio"]),
            "video": sample.arrays.get("video"),
        }
    print(plot_timeline(tl, args.out, **kw))


def cmd_example(args: argparse.Namespace) -> None:
    """Synthesize one conversation: timeline JSON, user/model/stereo wavs, and a plot."""
    import numpy as np

    from microturn.audio import save
    from microturn.data.families import FAMILIES, conditions, make_scenario
    from microturn.data.render import render
    from microturn.plot import plot_timeline

    if args.family not in FAMILIES:
        raise SystemExit(
            f"microturn: error: unknown family {args.family!r}; known: {', '.join(FAMILIES)}"
        )
    conds = [c for c, _ in conditions(args.family)]
    cond = args.condition or conds[0]
    if cond not in conds:
        raise SystemExit(f"microturn: error: {args.family} has conditions {conds}")
    tl = make_scenario(args.family, cond, args.split, args.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    r = render(tl)
    tl.save(out / "timeline.json")
    save(out / "user.wav", r.user)
    save(out / "model.wav", r.model)
    save(out / "stereo.wav", np.stack([r.user, r.model], axis=1))
    plot_timeline(tl, out / "timeline.png", r.user, r.model, r.video)
    words = lambda ch: " | ".join(e.text for e in tl.on(ch))  # noqa: E731
    print(f"{tl.id}: {tl.duration:.1f} s, user voice {tl.meta['user_voice']}")
    print(f"  user : {words('user')}")
    print(f"  model: {words('model')}")
    print(f"wrote {out}/timeline.json, user.wav, model.wav, stereo.wav, timeline.png")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="microturn", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("synth", help="generate a split of synthetic full-duplex data as shards")
    s.add_argument("--split", choices=["train", "dev", "test"], required=True)
    s.add_argument("--hours", type=float, default=0.0, help="hours of dialogue (train)")
    s.add_argument(
        "--per-condition", type=int, default=0, help="scenarios per family condition (dev/test)"
    )
    s.add_argument("--workers", type=int, default=2)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--preset", default="small")
    s.add_argument("--per-shard", type=int, default=32)
    s.add_argument("--families", default="", help="comma-separated subset (default: all)")
    s.add_argument(
        "--audio",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also store waveforms (default: on for dev/test, off for train)",
    )
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(fn=cmd_synth)

    e = sub.add_parser("example", help="synthesize one conversation and plot it")
    e.add_argument("--family", default="turn")
    e.add_argument("--condition", default="")
    e.add_argument("--split", default="dev", choices=["train", "dev", "test"])
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", type=Path, default=Path("out/example"))
    e.set_defaults(fn=cmd_example)

    sub.add_parser("train", help="train a model (see `microturn train --help`)")
    sub.add_parser(
        "bench",
        help="the interactivity benchmark (`microturn bench --help`); `bench runtime`, "
        "`bench vocoder`",
    )

    r = sub.add_parser("run", help="stream a wav through the model (the runner interface)")
    r.add_argument("input", help="a wav file (any rate: resampled to 16 kHz; stereo is mixed)")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--checkpoint", default=None, help="a save_pretrained directory")
    r.add_argument("--text", default=None, help='JSONL side text: {"t": s, "text": "..."}')
    r.add_argument("--video", default=None, help="uint8 .npy (frames, 80, 80, 3) at 5 fps")
    r.add_argument("--seed", type=int, default=0)
    r.set_defaults(fn=cmd_run)

    q = sub.add_parser("plot", help="plot a timeline, a shard sample or a scenario spec")
    q.add_argument("input", help="TIMELINE.json | DATA_DIR#INDEX | family:condition:split:seed")
    q.add_argument("--out", type=Path, required=True)
    q.set_defaults(fn=cmd_plot)
    return p


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:  # the trainer owns its flags (and runs under torchrun too)
        from microturn.train import main as train_main

        return train_main(argv[1:])
    if argv[:2] == ["bench", "runtime"]:
        from microturn.runtime.bench import main as bench_main

        return bench_main(argv[2:])
    if argv[:2] == ["bench", "vocoder"]:
        from microturn.voice.roundtrip import main as roundtrip_main

        return roundtrip_main(argv[2:])
    if argv[:1] == ["bench"]:
        from microturn.bench.suite import main as suite_main

        return suite_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except _known_errors() as e:
        print(f"microturn: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
