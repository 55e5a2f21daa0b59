"""The voice yardstick: how much of what the model means to say a listener hears, stage by stage.

On the model's side of held-out scenarios whose replies are sentences (`POOL`: a tool result
woven back, a refusal, an elapsed time, a corrected request, in turn; the test split holds out
templates, lexicon items and user voices, festival included), Whisper (`eval/asr.py`: greedy,
WER per scenario capped at 1) transcribes the model's channel at six stages, always on the
same scenarios, and two more on the words the model said free running:

    raw          the data engine's model voice (espeak-ng) saying the reference reply
    ceiling      its log-mel through the runtime's streaming vocoder (200 ms steps)
    teacher      the reference text, phones and audio forced as the model's history; what its
                 flow head says at each slot, vocoded as the runtime does
    text-forced  the reference text and phones forced; the audio its own (it hears what its
                 head said)
    own-phones   the reference text forced; the phones and the audio its own (the phone
                 head's with `--no-pronounce`, else laid out from the text): what free running
                 would sound like if its words were the reference's
    free-raw     the model's own free-running words (below), said by the data engine's model
                 voice
    free-ceiling those, through the runtime's streaming vocoder: the ceiling on the same words
    free         free running; WER against its own text stream (the words it meant to say)

The first five are scored against the reference reply; the last three against the model's
own words, over the scenarios where it said any (how many it did is reported), with the share
of those words that are words of the data engine's lexicon (every word its corpus uses). Its
words are often not a sentence ("okay volume two"), which a recogniser hears worse in any
voice: `free` against `free-ceiling` (paired) is how far its voice is from the ceiling, and
`free-ceiling` against `ceiling` what its words cost. Each row: mean, median and a 95 %
bootstrap interval of the mean; a second table gives the stages by the synthesizer of the
user's voice (`by_engine`: festival's prompts are held out of training). The model rows go
through `Engine` sessions exactly as `microturn run` does (teacher forcing is a session's
`script`).

    microturn eval voice --model checkpoints/small --split test --n 100
"""

from __future__ import annotations

import argparse
import json
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from microturn.audio import from_int16
from microturn.data.generate import featurize
from microturn.data.layout import phone_slots, streams
from microturn.eval.asr import normalize, transcribe, wer
from microturn.eval.text import likeliest_piece
from microturn.grid import Grid
from microturn.model import InteractionModel
from microturn.runtime.driver import Driver, Feed, SideText
from microturn.runtime.engine import Engine
from microturn.runtime.events import ModelText
from microturn.runtime.session import Sampling
from microturn.tokenizer import PAD, Tokenizer
from microturn.voice.learned import load_vocoder
from microturn.voice.mel import MelAnalyzer
from microturn.voice.roundtrip import stream
from microturn.voice.vocoder import Vocoder

STAGES = (
    "raw",
    "ceiling",
    "teacher",
    "text-forced",
    "own-phones",
    "free-raw",
    "free-ceiling",
    "free",
)
# (family, condition) whose model side is sentences, not single words (`qa` answers one word,
# which a recogniser misses alone); scenario i is POOL[i % 4] with seed i // 4
POOL = (("delegate", "delegate"), ("refusal", "harmful"), ("elapsed", "ask"), ("repair", "plain"))
MODES = ("teacher", "text-forced", "own-phones", "free")  # the stages the model speaks
FREE_STAGES = ("free-raw", "free-ceiling", "free")  # scored on the cases that said words


@dataclass
class Case:
    """One scenario: its id, what the user side feeds (audio, side text), the reference model
    side (its words, audio, log-mel), the model's text stream of it, one token per slot, and
    its phone stream, (slots, frames_per_position) (`layout.phone_slots`)."""

    id: str
    feed: Feed
    text: str
    audio: np.ndarray
    logmel: np.ndarray
    tokens: np.ndarray
    phones: np.ndarray
    family: str = ""  # its family in `POOL`
    engine: str = ""  # the synthesizer of the user's voice (festival: held out of training)


def cases(cfg, split: str, n: int, pool=POOL, first_seed: int = 0) -> list[Case]:
    """The first n scenarios of `pool` ((family, condition) pairs), in turn, from `split`:
    scenario i is pool[i % len(pool)] with seed first_seed + i // len(pool)."""
    from microturn.data.families import make_scenario

    grid, tok, t = Grid(cfg.grid), Tokenizer(), cfg.train
    out = []
    for i in range(n):
        family, condition = pool[i % len(pool)]
        tl = make_scenario(family, condition, split, first_seed + i // len(pool))
        s = featurize(tl, cfg, audio=True)
        user = from_int16(s.arrays["user_audio"])
        n_slots = len(user) // grid.samples_per_chunk * grid.positions_per_chunk
        st = streams(tl, tok, n_slots, grid.slot_s, t.text_lead, t.transcript_lag)
        side = [SideText(e.t_on, e.text) for e in tl.on("side_text")]
        text = " ".join(e.text for e in tl.on("model"))
        model_audio = from_int16(s.arrays["model_audio"])
        logmel = s.arrays["model_mel"].astype(np.float32)
        phones = phone_slots(tl, n_slots, grid, t.phone_lead)
        voice = tl.on("user")[0].voice if tl.on("user") else None
        engine = voice.engine if voice else "?"
        feed = Feed(user, side)
        out.append(
            Case(tl.id, feed, text, model_audio, logmel, st["model"], phones, family, engine)
        )
    return out


def script(c: Case, mode: str) -> dict | None:
    """What a session in `mode` is forced to say of case c (`Session.script`): the reference
    text, phones and audio history (`teacher`: its head's audio is what it says), the text
    and phones (`text-forced`), the text alone (`own-phones`), nothing (`free`)."""
    if mode == "free":
        return None
    if mode == "own-phones":
        return {"tokens": c.tokens}
    forced = {"tokens": c.tokens, "phones": c.phones}
    return forced | {"logmel": c.logmel, "head_audio": True} if mode == "teacher" else forced


def speak(
    model: InteractionModel,
    todo: list[Case],
    slots: int = 24,
    sampling: Sampling | None = None,
    vocoder=None,
) -> dict:
    """Every case in each model mode, `slots` sessions at a time, sampled with `sampling` (the
    runtime's default when None) -> {(case id, mode): (audio, its own words, (text pieces
    right, reference pieces) on the true history: teacher mode only, else None)}."""
    driver = Driver(Engine(model, slots=slots, vocoder=vocoder))
    jobs = [(c, m) for c in todo for m in MODES]
    live, out = {}, {}
    while jobs or live:
        while jobs and len(live) < slots:
            c, mode = jobs.pop(0)
            s = driver.open(c.feed, f"{c.id}/{mode}", zlib.crc32(c.id.encode()), sampling)
            s.script = script(c, mode)
            s.record = mode == "teacher"  # its text logits: `pieces_right`
            live[s.slot] = (c, mode, s)
        driver.tick()
        for slot in [k for k, (_, _, s) in live.items() if driver.done(s)]:
            c, mode, s = live.pop(slot)
            said = driver.close(s)
            own = "".join(e.text for e in said.events if isinstance(e, ModelText))
            P = driver.engine.grid.positions_per_chunk
            text = pieces_right(s.trace, c.tokens, P) if mode == "teacher" else None
            out[(c.id, mode)] = (said.audio, normalize(own), text)
    return out


def pieces_right(trace: list[dict], tokens: np.ndarray, P: int) -> tuple[int, int]:
    """A teacher-forced session's recorded text logits against the reference text: at each
    slot where the reference says a piece, is it the head's likeliest piece (<pad> aside)?
    -> (right, pieces). Trace row i speaks for slot P + i (the first output slot of chunk 0
    is slot P: `Engine.step`)."""
    logits = torch.stack([t["logits"] for t in trace])
    ref = torch.as_tensor(np.asarray(tokens[P : P + len(logits)]), dtype=torch.long)
    say = ref != PAD
    return int((likeliest_piece(logits[: len(ref)])[say] == ref[say]).sum()), int(say.sum())


def summary(x: list[float], seed: int = 0) -> dict:
    """Mean, median and a 95 % bootstrap interval of the mean (2,000 resamples)."""
    if not x:
        return {"n": 0, "mean": None, "median": None, "ci": [None, None]}
    a = np.asarray(x, np.float64)
    boot = np.random.default_rng(seed).choice(a, (2000, len(a))).mean(1)
    lo, hi = np.quantile(boot, [0.025, 0.975])
    r = lambda v: round(float(v), 3)  # noqa: E731
    return {"n": len(a), "mean": r(a.mean()), "median": r(np.median(a)), "ci": [r(lo), r(hi)]}


def measure(
    model: InteractionModel,
    split: str,
    n: int,
    slots: int = 24,
    sampling: Sampling | None = None,
    vocoder=None,
) -> dict:
    """The six stages on the first n scenarios of `POOL` in `split` -> per-stage WER lists and
    summaries (what `main` prints). `vocoder` (default: the runtime's,
    `voice.learned.load_vocoder`) voices the model and the ceiling rows alike."""
    cfg = model.cfg
    todo = cases(cfg, split, n)
    vocoder = vocoder or load_vocoder(cfg, None)  # the runtime's vocoder (Engine's default)
    mel = MelAnalyzer(cfg)  # the data engine's log-mel, for `data_voice`
    said = speak(model, todo, slots, sampling, vocoder)
    per: dict[str, list[float]] = {k: [] for k in STAGES}
    words: list[str] = []
    text: dict[str, list[int]] = {}  # family -> [pieces right, pieces] on the true history
    for c in todo:
        right, n_pieces = said[(c.id, "teacher")][2]
        for k in ("all", c.family):
            t = text.setdefault(k, [0, 0])
            t[0], t[1] = t[0] + right, t[1] + n_pieces
        ref = normalize(c.text)
        per["raw"].append(wer(ref, transcribe(c.audio)))
        seed = zlib.crc32(c.id.encode())
        voc = stream(vocoder, torch.from_numpy(c.logmel), seed).numpy()
        per["ceiling"].append(wer(ref, transcribe(voc)))
        for mode in ("teacher", "text-forced", "own-phones"):
            per[mode].append(wer(ref, transcribe(said[(c.id, mode)][0])))
        audio, own, _ = said[(c.id, "free")]
        if own.split():
            per["free"].append(wer(own, transcribe(audio)))
            raw, voc = data_voice(own, mel, vocoder, seed)
            per["free-raw"].append(wer(own, transcribe(raw)))
            per["free-ceiling"].append(wer(own, transcribe(voc)))
            words += own.split()
    rows = {k: summary([min(v, 1.0) for v in per[k]]) for k in STAGES}
    gap = [min(a, 1.0) - min(b, 1.0) for a, b in zip(per["free"], per["free-ceiling"], strict=True)]
    per["free_gap"] = gap
    # the user's synthesizer of each entry: every case, or those whose free run said words
    spoke = [c.engine for c in todo if said[(c.id, "free")][1].split()]
    who = {k: spoke if k in FREE_STAGES + ("free_gap",) else [c.engine for c in todo] for k in per}
    known = lexicon()
    lex = {
        "words": len(words),
        "in_lexicon": round(sum(w in known for w in words) / max(len(words), 1), 3),
        "decoding": bool(sampling.lexicon if sampling is not None else Sampling.lexicon),
    }
    return {
        "split": split,
        "scenarios": n,
        "stages": rows,
        "free_gap": summary(gap),  # free - free-ceiling, paired: the voice on its own words
        "by_engine": by_engine(per, who),
        "lexicon": lex,
        "text": {k: {"right": a, "pieces": b} for k, (a, b) in text.items()},
        "per_case": per,
    }


def by_engine(per: dict[str, list[float]], who: dict[str, list[str]]) -> dict:
    """Per-stage WER lists and the user's synthesizer of each entry -> {engine: {stage:
    summary (capped at 1; the paired gap `free_gap` as it is)}}: the stages on the prompts of
    each synthesizer (festival's are held out of training)."""
    out: dict[str, dict] = {}
    for e in sorted({w for ws in who.values() for w in ws}):
        out[e] = {}
        for k, vals in per.items():
            mine = [v for v, w in zip(vals, who[k], strict=True) if w == e]
            out[e][k] = summary(mine if k == "free_gap" else [min(v, 1.0) for v in mine])
    return out


def data_voice(
    text: str, mel: MelAnalyzer, vocoder: Vocoder, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """`text` said by the data engine's model voice (espeak-ng, as the training data says the
    model's side) -> (its audio, its log-mel (`mel`) through `vocoder` in the runtime's 200 ms
    steps)."""
    from microturn.data.voices import MODEL_VOICE
    from microturn.synth.dispatch import synthesize

    audio = synthesize(text, MODEL_VOICE).audio.astype(np.float32)
    x = np.zeros(mel.grid.pad_to_chunks(len(audio)), np.float32)
    x[: len(audio)] = audio
    with torch.no_grad():
        logmel = mel.frames(torch.from_numpy(x))
    return audio, stream(vocoder, logmel, seed).numpy()


def lexicon() -> set[str]:
    """Every word the data engine's corpus uses, normalised as the recogniser's output is."""
    from microturn.data.corpus import corpus

    return {w for line in corpus() for w in normalize(line).split()}


def engine_table(by: dict) -> list[str]:
    """`by_engine`'s summaries as table lines: a row per synthesizer of the user's voice."""
    cols = ("ceiling", "teacher", "text-forced", "own-phones")
    head = "| user voice | replies | " + " | ".join(cols) + " | free | free - free-ceiling |"
    lines = ["", "by the user's synthesizer (festival: held out of training)", "", head]
    lines.append("|---|---|" + "---|" * (len(cols) + 2))
    none = summary([])
    for e, st in by.items():
        row = [f"{st[k]['mean']:.3f}" if st.get(k, none)["n"] else "-" for k in cols]
        f, g = st.get("free", none), st.get("free_gap", none)
        row.append(f"{f['mean']:.3f} ({f['n']} said)" if f["n"] else "-")
        row.append(f"{g['mean']:+.3f} [{g['ci'][0]:+.3f}, {g['ci'][1]:+.3f}]" if g["n"] else "-")
        lines.append(f"| {e} | {st.get('ceiling', none)['n']} | " + " | ".join(row) + " |")
    return lines


def table(r: dict) -> str:
    lines = [
        f"voice yardstick: the model side of {r['scenarios']} {r['split']} scenarios; Whisper "
        "tiny.en WER, per scenario capped at 1",
        "",
        "| stage | n | mean WER [95 % CI] | median |",
        "|---|---|---|---|",
    ]
    for k in STAGES:
        s = r["stages"][k]
        if s["n"] == 0:
            lines.append(f"| {k} | 0 | - | - |")
            continue
        lo, hi = s["ci"]
        ci = f"{s['mean']:.3f} [{lo:.3f}, {hi:.3f}]"
        lines.append(f"| {k} | {s['n']} | {ci} | {s['median']:.3f} |")
    g = r.get("free_gap")
    if g and g["n"]:
        lines.append(
            f"\nfree running against the ceiling on its own words (paired, n = {g['n']}): "
            f"{g['mean']:+.3f} [{g['ci'][0]:+.3f}, {g['ci'][1]:+.3f}]"
        )
    if r.get("by_engine"):
        lines += engine_table(r["by_engine"])
    lex = r["lexicon"]
    lines += [
        "",
        f"free-running text: {lex['words']} words, {lex['in_lexicon']:.1%} in the lexicon"
        + (" (decoded through the lexicon)" if lex.get("decoding") else ""),
    ]
    if r.get("text"):
        share = lambda t: f"{t['right'] / max(t['pieces'], 1):.1%}"  # noqa: E731
        fams = ", ".join(f"{k} {share(t)}" for k, t in r["text"].items() if k != "all")
        a = r["text"]["all"]
        lines.append(
            f"text head on the true history: the reference's piece is its likeliest at "
            f"{share(a)} of {a['pieces']} reference pieces ({fams})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="microturn eval voice", description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a save_pretrained directory")
    p.add_argument("--split", default="test", choices=["train", "dev", "test"])
    p.add_argument("--n", type=int, default=100, help="scenarios (replies)")
    p.add_argument("--slots", type=int, default=24, help="sessions stepped together")
    p.add_argument(
        "--word-temperature",
        type=float,
        default=Sampling.word_temperature,
        help="which piece the model says, once it speaks (runtime/session.py: Sampling); "
        "default: the runtime's",
    )
    p.add_argument(
        "--flow-temperature",
        type=float,
        default=Sampling.flow_temperature,
        help="the flow head's noise (default: the runtime's)",
    )
    p.add_argument(
        "--lexicon",
        action=argparse.BooleanOptionalAction,
        default=Sampling.lexicon,
        help="say only words of the data engine's language (runtime/words.py; default: the "
        "runtime's)",
    )
    p.add_argument(
        "--pronounce",
        action=argparse.BooleanOptionalAction,
        default=Sampling.pronounce,
        help="phones along the pronunciations of the words said (runtime/pronunciation.py; "
        "default: the runtime's)",
    )
    from microturn.cli import add_vocoder_flag

    add_vocoder_flag(p)
    args = p.parse_args(argv)
    if args.n < 1:
        p.error("--n must be at least 1")
    if args.flow_temperature < 0:
        p.error("--flow-temperature must be >= 0")
    temps = {
        "word_temperature": args.word_temperature,
        "flow_temperature": args.flow_temperature,
        "lexicon": args.lexicon,
        "pronounce": args.pronounce,
    }
    try:
        sampling = Sampling(**temps)  # it checks the word temperature itself
    except ValueError:
        p.error("--word-temperature must be >= 0")
    model = InteractionModel.from_pretrained(args.model).eval()
    voc = load_vocoder(model.cfg, args.vocoder)
    r = measure(model, args.split, args.n, args.slots, sampling, voc)
    print(table(r))
    meta = {"model": args.model, "vocoder": args.vocoder or "checkpoints/vocoder"}
    meta |= {k: v for k, v in temps.items() if k != "lexicon"}
    print(json.dumps({k: v for k, v in r.items() if k != "per_case"} | meta))
