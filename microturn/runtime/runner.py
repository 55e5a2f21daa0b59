"""The offline runner: a wav file streamed through a session on a simulated clock.

    microturn run INPUT.wav --out DIR [--checkpoint PATH] [--text EVENTS.jsonl]
                  [--video FRAMES.npy] [--seed S]
                  [--agent tools|llm [--agent-url URL --agent-model NAME] [--agent-timeout S]
                   [--agent-hearing transcript|whisper]]

The input is cut into 200 ms chunks (the last one zero-padded) and fed one per tick by the
session driver (`driver.py`), so `model.wav` is time-aligned with the input: what the model
says at time t is at sample t (chunk 0 is its silence before it has heard anything). Writes
`model.wav` (the grid's rate, mono, the input's duration), `stereo.wav` (left user, right
model), `events.jsonl` (one JSON object per line, `docs/events.md`) and `timeline.png`. This is
the interface the benchmark scores every system through.

`--text` lines are {"t": seconds, "text": "..."}: side text (a tool result, a typed note)
injected into the model's input text stream at that time. `--video` is a uint8 array
(frames, 80, 80, 3) at 5 fps (one frame per chunk). `--agent` answers the model's
delegations with a background agent (`microturn/agent/`, `docs/agent.md`): its calls and
results are events too.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from microturn.audio import load, save
from microturn.runtime.driver import Feed, SideText
from microturn.runtime.events import Event, ModelText, UserText, write_jsonl


class RunError(ValueError):
    """Bad runner input: a malformed side-text or video file."""


DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "small"


def read_text_events(path: str | Path) -> list[SideText]:
    out = []
    for i, line in enumerate(Path(path).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            e = json.loads(line)
            out.append(SideText(float(e["t"]), str(e["text"])))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError):
            raise RunError(
                f'{path}:{i}: want a JSON object {{"t": seconds, "text": "..."}}, got {line[:60]!r}'
            ) from None
    return sorted(out, key=lambda e: e.t)


def read_video(path: str | Path, side: int) -> np.ndarray:
    try:
        v = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise RunError(f"{path}: cannot read a .npy video ({e})") from None
    if v.dtype != np.uint8 or v.ndim != 4 or v.shape[1:] != (side, side, 3):
        raise RunError(f"{path}: want uint8 (frames, {side}, {side}, 3), got {v.dtype} {v.shape}")
    return v


def load_model(checkpoint: str | Path | None):
    from microturn.model import InteractionModel

    path = Path(checkpoint) if checkpoint else DEFAULT_CHECKPOINT
    if not (path / "config.json").exists():
        raise FileNotFoundError(
            f"no model checkpoint at {path} (want a save_pretrained directory: "
            "config.json + model.safetensors); pass --checkpoint PATH"
        )
    return InteractionModel.from_pretrained(path)


def run_file(
    model,
    wav: str | Path,
    out: str | Path,
    seed: int = 0,
    text_events: list[SideText] | None = None,
    video: np.ndarray | None = None,
    invariant: bool = True,
    script: dict | None = None,
    agent=None,
    sampling=None,
    vocoder=None,
) -> dict:
    """Stream `wav` through one session; write the four files into `out`; return a summary.
    `script` teacher-forces what the model says (see `Session.script`); `agent` (an
    `agent.dispatcher.Dispatcher`) answers its delegations; `sampling` (a
    `runtime.session.Sampling`) replaces the runtime's default settings; `vocoder` (a
    what `voice.learned.load_vocoder` returns) the runtime's default."""
    from microturn.runtime.driver import drive
    from microturn.runtime.engine import Engine

    engine = Engine(model, slots=1, invariant=invariant, vocoder=vocoder)
    user = load(wav, engine.grid.sample_rate, mono="mix")
    feed = Feed(user, text_events or [], video)
    if agent is None:
        result = drive(engine, feed, "run", seed, sampling, script=script)
    else:
        from microturn.agent.link import drive as drive_with_agent

        result = drive_with_agent(engine, feed, agent, "run", seed, sampling, script=script)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save(out / "model.wav", result.audio)
    save(out / "stereo.wav", np.stack([user, result.audio], 1))
    write_jsonl(result.events, out / "events.jsonl")
    dur = len(user) / engine.grid.sample_rate
    plot(result.events, user, result.audio, dur, engine.grid.slot_s, out / "timeline.png")
    text = "".join(e.text for e in result.events if isinstance(e, ModelText)).strip()
    return {"input": str(wav), "duration_s": round(dur, 3), "said": text}


def plot(
    events: list[Event], user: np.ndarray, said: np.ndarray, dur: float, slot_s: float, path: Path
) -> None:
    """The run as a timeline plot; each text token is a word one slot (`slot_s`) long."""
    from microturn.plot import plot_timeline
    from microturn.synth import Word
    from microturn.timeline import Event as Said
    from microturn.timeline import Timeline

    evs = []
    for kind, channel in ((ModelText, "model"), (UserText, "user")):
        mine = [e for e in events if isinstance(e, kind)]
        clean = ("".join(c for c in e.text if c.isprintable()).strip() for e in mine)
        ws = [Word(c or "·", e.t, e.t + slot_s) for c, e in zip(clean, mine, strict=True)]
        if ws:
            text = " ".join(w.text for w in ws)
            evs.append(Said(channel, kind.kind, ws[0].t_on, ws[-1].t_off, text, ws))
    title = "microturn run: user (top, with its streaming transcript) and model (its words)"
    tl = Timeline("run", "run", "", True, "test", dur, evs, meta={"title": title})
    plot_timeline(tl, path, user, said)


def main(args) -> None:
    events = None
    if args.text:
        events = read_text_events(args.text)
    model = load_model(args.checkpoint)
    video = read_video(args.video, model.cfg.grid.video_side) if args.video else None
    agent = None
    if getattr(args, "agent", None):
        from microturn.agent.registry import dispatcher

        try:
            agent = dispatcher(
                args.agent, args.agent_url, args.agent_model, args.agent_timeout,
                getattr(args, "agent_hearing", "transcript"),
            )  # fmt: skip
        except ValueError as e:
            raise RunError(str(e)) from None
    from microturn.runtime.session import Sampling

    sampling = Sampling.flagged(args)
    from microturn.voice.learned import load_vocoder

    vocoder = load_vocoder(model.cfg, getattr(args, "vocoder", None))
    summary = run_file(
        model, args.input, args.out, args.seed, events, video, agent=agent, sampling=sampling,
        vocoder=vocoder,
    )  # fmt: skip
    if getattr(args, "asr", False):  # what a listener hears: Whisper on the model's audio,
        # read back from the 16-bit file a listener plays (not the float samples: Whisper's
        # transcript can differ between the two)
        from microturn.eval.asr import transcribe

        sr = model.cfg.grid.sample_rate
        summary["heard"] = transcribe(load(Path(args.out) / "model.wav", sr, mono="mix"), sr)
    print(json.dumps(summary))
