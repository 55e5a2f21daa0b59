"""The `microturn` command: thin entry points, no work at import.

    microturn synth   --split train --hours 10 --workers 2 --out data/train
    microturn synth   --split test --per-condition 200 --out data/test
    microturn example --family turn --condition pause --out out/example
    microturn plot    TIMELINE.json | DATA_DIR#INDEX | family:condition:split:seed --out x.png
    microturn train   --preset small --data data/train --dev data/dev --out runs/small
    microturn train-vocoder --out runs/vocoder [--steps 12000]   (the learned vocoder)
    microturn export  runs/small/model checkpoints/small       (bf16 weights for shipping)
    microturn probe   --model runs/small/model --data data/dev [--against OLD]
    microturn probe-layers --model M --fit data/train-turn --eval data/dev
    microturn sample  --model runs/small/model --data "data/dev#12" --out docs/samples/x
    microturn bench   [--quick] [--systems NAME=SPEC ...]     (the interactivity benchmark)
    microturn bench   runtime [--quick]                        (the streaming runtime)
    microturn bench   train [--presets tiny small]             (training tokens/s and MFU)
    microturn bench   vocoder [--n-iter 32] [--limit N]        (dMel + vocoder round trip)
    microturn bench   agent [--checkpoint PATH]                (delegations in flight vs the tick)
    microturn run     INPUT.wav --out DIR [--checkpoint PATH] [--text EVENTS.jsonl] [--seed S]
                      [--agent tools|llm --agent-url URL --agent-model NAME --agent-hearing H]
    microturn serve   [--model PATH] [--host 127.0.0.1] [--port 8765] [--max-sessions 16]
                      [--agent tools|llm --agent-url URL --agent-model NAME --agent-hearing H]
    microturn talk    --server ws://127.0.0.1:8765 INPUT.wav --out DIR [--fast]
    microturn bench   serve [--sessions 8 16 24] [--fuzz-frames 10000]   (the live server)
    microturn check-matching --split train --n 100   (act vs hold sides: cheap-cue KS tests)
    microturn tokenizer [--out PATH]                  (retrain the BPE on the data's corpus)
    microturn eval voice --model M [--split test] [--n 100]   (WER: raw, ceiling, model stages)
    microturn eval replies --model M [--split test] [--n 100] (answered? how long?)
    microturn eval text --model M --data data/dev-text [--against M2] (the next piece, by family)

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
    from microturn.serve.wire import ServeError
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
        ServeError,
        ConnectionError,
    )


def _threshold(text: str) -> float:
    """A threshold on the command line: a probability, 0 for none (the decision drawn)."""
    try:
        x = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= x <= 1:
        raise argparse.ArgumentTypeError(f"a threshold lies in [0, 1], got {x}")
    return x


# what each of Sampling's thresholds (runtime/session.py: `THRESHOLDS`) says as a flag
THRESHOLD_HELP = {
    "speak_threshold": "say a first word when the model's P(speak) reaches P (0: draw it at "
    "every slot; default: the runtime's, 0.1)",
    "reply_threshold": "within a reply, say its next word when P(speak) reaches P (0: as the "
    "first; default: the runtime's, 0.2)",
    "delegate_threshold": "delegate when the model's P(<delegate>) reaches P, e.g. 0.01 with "
    "an agent (default, or 0: only as its likeliest piece once speaking)",
    "result_threshold": "say the next piece of a result it has read and not yet said when "
    "P(speak) reaches P (0: as any other piece; default: the runtime's, 0.02)",
}


def add_vocoder_flag(p: argparse.ArgumentParser) -> None:
    """`--vocoder PATH|griffin-lim` (`voice.learned.load_vocoder`; named here, so that building
    the parser does not load torch)."""
    p.add_argument(
        "--vocoder", default=None, metavar="PATH|griffin-lim",
        help="what voices the model: a learned vocoder's directory (`microturn train-vocoder`'s "
        "OUT/model; default: the shipped checkpoints/vocoder) or griffin-lim (8 iterations)",
    )  # fmt: skip


def add_speak_flags(p: argparse.ArgumentParser) -> None:
    """`--speak-threshold`, `--reply-threshold`, ...: one flag per `Sampling` threshold
    (named here, so that building the parser does not load torch); unset, the runtime's
    defaults."""
    for name in THRESHOLD_HELP:
        flag = "--" + name.replace("_", "-")
        p.add_argument(flag, type=_threshold, default=None, metavar="P", help=THRESHOLD_HELP[name])


def cmd_run(args: argparse.Namespace) -> None:
    from microturn.runtime.runner import main

    main(args)


def cmd_serve(args: argparse.Namespace) -> None:
    from microturn.serve.server import main

    main(args)


def cmd_talk(args: argparse.Namespace) -> None:
    from microturn.serve.talk import main

    main(args)


def _listed(arg: str, known, what: str) -> tuple[str, ...]:
    """A comma-separated subset of `known` ("": none named), each checked."""
    names = tuple(arg.split(",")) if arg else ()
    bad = [x for x in names if x not in known]
    if bad:
        raise SystemExit(f"microturn: error: unknown {what} {bad}; known: {list(known)}")
    return names


def _families(arg: str) -> tuple[str, ...]:
    """A comma-separated subset of the families ("": all of them), each checked."""
    from microturn.data.families import FAMILIES

    return _listed(arg, FAMILIES, "families") or tuple(FAMILIES)


def _qa_topics(arg: str) -> tuple[str, ...]:
    """A comma-separated subset of the QA question cores ("": all of them), each checked."""
    from microturn.data.language.questions import KNOWLEDGE

    return _listed(arg, KNOWLEDGE, "QA topics")


def cmd_synth(args: argparse.Namespace) -> None:
    from microturn.config import preset
    from microturn.data.generate import Job, run

    fams = _families(args.families)
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
        _qa_topics(args.qa_topics),
    )
    if args.first_shard and args.split != "train":
        raise SystemExit("microturn: error: --first-shard is for --split train")
    m = run(
        job, hours=args.hours, workers=args.workers, progress=not args.quiet, first=args.first_shard
    )
    rate = m["hours"] * 3600 / max(m["wall_s"], 1e-9)
    print(
        f"{m['split']}: {m['scenarios']} scenarios, {m['hours']:.2f} h of dialogue in "
        f"{m['wall_s']:.0f} s ({rate:.0f}x real time) -> {args.out}"
    )


def cmd_check_matching(args: argparse.Namespace) -> None:
    from microturn.data.matching import report

    report(args.split, args.n, _families(args.families))


def cmd_tokenizer(args: argparse.Namespace) -> None:
    from microturn.data.corpus import corpus
    from microturn.tokenizer import PATH, Tokenizer, train

    p = train(corpus(), args.out or PATH)
    t = Tokenizer(p)
    probe = "what is thirty seven times twenty four"
    print(f"wrote {p}: vocab {t.vocab_size}; {probe!r} -> {t.encode(probe)}")


def load_timeline(spec: str):
    """A timeline from a JSON file, a shard sample `DIR#N`, or `family:condition:split:seed`."""
    from microturn.timeline import Timeline

    if "#" in spec:
        from microturn.data.shards import read_sample

        s = read_sample(spec)
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


def cmd_export(args: argparse.Namespace) -> None:
    from microturn.train.export import export

    worst = export(args.src, args.dst)
    print(f"wrote {args.dst}; max |fp32 reload - bf16| = {worst:.2e}")


def cmd_probe(args: argparse.Namespace) -> None:
    from microturn.eval.probe import main

    main(args)


def cmd_probe_layers(args: argparse.Namespace) -> None:
    from microturn.eval.probe_layers import main

    main(args)


def cmd_sample(args: argparse.Namespace) -> None:
    from microturn.eval.sample import main

    main(args)


def cmd_bench_train(args: argparse.Namespace) -> None:
    from microturn.train.throughput import main

    main(args)


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
        "--qa-topics",
        default="",
        help="QA questions of these cores only, comma-separated (arith,chain,num,fixed,spell,"
        "capital ...; default: all)",
    )
    s.add_argument(
        "--first-shard",
        type=int,
        default=0,
        help="train: number shards from here (new seeds: a set beside another)",
    )
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
        "train-vocoder", help="train the learned vocoder (see `microturn train-vocoder --help`)"
    )
    sub.add_parser(
        "bench",
        help="the interactivity benchmark (`microturn bench --help`); `bench runtime`, "
        "`bench serve`, `bench train`, `bench vocoder`, `bench agent`",
    )

    sub.add_parser(
        "eval",
        help="`microturn eval voice | replies | text`: the voice yardstick, whole replies, "
        "the text head on the recorded history",
    )

    x = sub.add_parser("export", help="a trained model -> a shippable checkpoint (bf16 weights)")
    x.add_argument("src", help="a save_pretrained directory")
    x.add_argument("dst")
    x.set_defaults(fn=cmd_export)

    t = sub.add_parser("probe", help="teacher-forced turn-taking probe: AUC, hearing, early start")
    t.add_argument("--model", required=True, help="a save_pretrained directory")
    t.add_argument("--data", nargs="+", required=True)
    t.add_argument("--limit", type=int, default=None)
    t.add_argument(
        "--score", choices=("window", "max"), default="window",
        help="P(start within the window) (default), or the largest one-slot p",
    )  # fmt: skip
    t.add_argument(
        "--against", default=None,
        help="a second model: also print AUC(model) - AUC(against) on the same scenarios",
    )  # fmt: skip
    t.set_defaults(fn=cmd_probe)

    h = sub.add_parser(
        "probe-layers",
        help="linear read-outs of each layer at the turn (or hand-over) decision vs the model",
    )
    h.add_argument("--model", required=True)
    h.add_argument("--fit", required=True, help="data dir whose scenarios fit the read-out")
    h.add_argument(
        "--family", default="turn", choices=["turn", "delegate"],
        help="the decision read: the end of turn (turn) or the hand-over to an agent (delegate)",
    )  # fmt: skip
    h.add_argument("--eval", nargs="+", required=True)
    h.add_argument("--limit", type=int, default=None)
    h.add_argument("--l2", type=float, nargs="+", default=[1e-4, 1e-3, 1e-2, 1e-1])
    h.set_defaults(fn=cmd_probe_layers)

    m = sub.add_parser("sample", help="the model answers a recorded dev conversation; its WER")
    m.add_argument("--model", required=True)
    m.add_argument("--data", required=True, help="DATA_DIR#INDEX (a sample with user audio)")
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=0)
    m.set_defaults(fn=cmd_sample)

    r = sub.add_parser("run", help="stream a wav through the model (the runner interface)")
    r.add_argument("input", help="a wav file (any rate: resampled to 16 kHz; stereo is mixed)")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--checkpoint", default=None, help="a save_pretrained directory")
    r.add_argument("--text", default=None, help='JSONL side text: {"t": s, "text": "..."}')
    r.add_argument("--video", default=None, help="uint8 .npy (frames, 80, 80, 3) at 5 fps")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument(
        "--asr",
        action="store_true",
        help="also print `heard`: Whisper tiny.en's transcript of the model's audio",
    )
    add_vocoder_flag(r)
    r.add_argument(
        "--lexicon", action=argparse.BooleanOptionalAction, default=None,
        help="say only words of the data engine's language (runtime/words.py; default: the "
        "runtime's)",
    )  # fmt: skip
    r.add_argument(
        "--pronounce", action=argparse.BooleanOptionalAction, default=None,
        help="lay the phone stream out from the words said (runtime/pronunciation.py; "
        "default: the runtime's)",
    )  # fmt: skip
    r.add_argument(
        "--agent", choices=["tools", "llm"], default=None,
        help="answer the model's delegations: the tool agent, or an OpenAI-compatible LLM",
    )  # fmt: skip
    add_speak_flags(r)
    r.add_argument("--agent-url", default=None, help="the LLM's base URL (…/v1)")
    r.add_argument("--agent-model", default=None, help="the LLM's model name")
    r.add_argument("--agent-timeout", type=float, default=30.0, help="seconds per delegation")
    r.add_argument(
        "--agent-hearing", choices=["transcript", "whisper"], default="transcript",
        help="how the agent gets the request: it reads the model's transcript head, or hears "
        "the user's audio (Whisper tiny.en; it needs a core of its own: docs/agent.md)",
    )  # fmt: skip
    r.set_defaults(fn=cmd_run)

    v = sub.add_parser("serve", help="an OpenAI-Realtime-compatible server and its browser page")
    v.add_argument("--model", default=None, help="a checkpoint (default: checkpoints/small)")
    v.add_argument("--host", default="127.0.0.1", help="off loopback --token is required")
    v.add_argument("--port", type=int, default=8765)
    v.add_argument("--max-sessions", type=int, default=16)
    v.add_argument("--token", default=None, help="clients send it as `Authorization: Bearer`")
    v.add_argument("--allow-origin", action="append", help="a browser origin to allow (repeat)")
    v.add_argument("--grace-s", type=float, default=30.0, help="a dropped session waits this long")
    v.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    v.add_argument("--send-queue", type=int, default=1024, help="events queued for a slow client")
    v.add_argument(
        "--lexicon", action=argparse.BooleanOptionalAction, default=None,
        help="every session says only words of the data engine's language (runtime/words.py; "
        "default: the runtime's, on)",
    )  # fmt: skip
    v.add_argument(
        "--pronounce", action=argparse.BooleanOptionalAction, default=None,
        help="every session's phone stream laid out from its words (runtime/pronunciation.py; "
        "default: the runtime's, on)",
    )  # fmt: skip
    add_speak_flags(v)
    v.add_argument(
        "--prebuffer-ms", type=int, default=200, help="input held before a session's clock starts"
    )
    v.add_argument(
        "--agent", choices=["tools", "llm"], default=None,
        help="answer every session's delegations: the tool agent, or an OpenAI-compatible LLM",
    )  # fmt: skip
    v.add_argument("--agent-url", default=None, help="the LLM's base URL (…/v1)")
    v.add_argument("--agent-model", default=None, help="the LLM's model name")
    v.add_argument("--agent-timeout", type=float, default=30.0, help="seconds per delegation")
    v.add_argument(
        "--agent-hearing", choices=["transcript", "whisper"], default="transcript",
        help="how the agent gets the request: it reads the model's transcript head, or hears "
        "the user's audio (Whisper tiny.en; it needs a core of its own: docs/agent.md)",
    )  # fmt: skip
    add_vocoder_flag(v)
    v.set_defaults(fn=cmd_serve)

    w = sub.add_parser("talk", help="a wav file as one side of a live conversation with a server")
    w.add_argument("input", help="a wav file (any rate; stereo is mixed)")
    w.add_argument("--server", default="ws://127.0.0.1:8765")
    w.add_argument("--out", type=Path, default=Path("out/talk"))
    w.add_argument("--fast", action="store_true", help="send the file at once, not in real time")
    w.add_argument("--tail", type=float, default=4.0, help="seconds of silence after the file")
    w.add_argument("--token", default=None)
    w.set_defaults(fn=cmd_talk)

    m = sub.add_parser(
        "check-matching", help="can cheap cues tell a family's act side from its hold side?"
    )
    m.add_argument("--split", default="train", choices=["train", "dev", "test"])
    m.add_argument("--n", type=int, default=100, help="scenarios per side of each family")
    m.add_argument("--families", default="", help="comma-separated subset (default: all)")
    m.set_defaults(fn=cmd_check_matching)

    k = sub.add_parser("tokenizer", help="retrain the BPE tokenizer on the data engine's corpus")
    k.add_argument("--out", type=Path, default=None, help="default: the packaged asset")
    k.set_defaults(fn=cmd_tokenizer)

    q = sub.add_parser("plot", help="plot a timeline, a shard sample or a scenario spec")
    q.add_argument("input", help="TIMELINE.json | DATA_DIR#INDEX | family:condition:split:seed")
    q.add_argument("--out", type=Path, required=True)
    q.set_defaults(fn=cmd_plot)
    return p


def build_bench_train_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="microturn bench train",
        description="training throughput: tokens/s and MFU per preset, bf16 vs fp32",
    )
    p.add_argument("--presets", nargs="+", default=["tiny", "small"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=512)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(fn=cmd_bench_train)
    return p


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["train"]:  # the trainer owns its flags (and runs under torchrun too)
        from microturn.train.args import main as train_main

        return train_main(argv[1:])
    if argv[:1] == ["train-vocoder"]:
        from microturn.train.vocoder import main as vocoder_main

        return vocoder_main(argv[1:])
    if argv[:2] == ["bench", "runtime"]:
        from microturn.runtime.bench import main as bench_main

        return bench_main(argv[2:])
    if argv[:2] == ["bench", "serve"]:
        from microturn.serve.load import main as serve_bench_main

        return serve_bench_main(argv[2:])
    if argv[:2] == ["eval", "voice"]:
        from microturn.eval.voice import main as voice_main

        return voice_main(argv[2:])
    if argv[:2] == ["eval", "replies"]:
        from microturn.eval.replies import main as replies_main

        return replies_main(argv[2:])
    if argv[:2] == ["eval", "text"]:
        from microturn.eval.text import main as text_main

        return text_main(argv[2:])
    if argv[:2] == ["bench", "agent"]:
        from microturn.agent.bench import main as agent_bench_main

        return agent_bench_main(argv[2:])
    if argv[:2] == ["bench", "vocoder"]:
        from microturn.voice.roundtrip import main as roundtrip_main

        return roundtrip_main(argv[2:])
    if argv[:2] == ["bench", "train"]:
        args = build_bench_train_parser().parse_args(argv[2:])
    elif argv[:1] == ["bench"]:
        from microturn.bench.suite import main as suite_main

        return suite_main(argv[1:])
    else:
        args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except _known_errors() as e:
        print(f"microturn: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
