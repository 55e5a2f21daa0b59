"""The baselines a model must beat: a tuned cascade harness, a turn-detector harness, and
trivial systems — all causal, all writing the runner interface (model.wav + events.jsonl).

**VAD harness** (what LiveKit/pipecat/OpenAI-Realtime agents do): silero-vad on the user's
audio, 32 ms frames, causal hysteresis (speech from p >= 0.5, silence below 0.35). When the user
has been silent for `theta` s it takes the turn, `delay` s later (processing + playback). While
it speaks, `min_barge` s of user speech makes it stop. What it says is an **oracle**: the
scenario's reference replies, one per floor-take in order, in the model's voice — generous on
content, so only timing separates it from the model.

**Turn-detector harness**: the same VAD; after 0.2 s of silence it asks Smart Turn v3.2 (the
ONNX model bundled in `pipecat-ai`, run with onnxruntime) once whether the last 8 s form a
complete turn (p > 0.5: take the turn); if not, it waits for `theta_max` s of silence.

**Scaffolded**: the VAD harness plus a timer tool that speaks each timed line on time (T5's
bolt-on); with a blocking call to the real tool agent for T7 (`tool_harness.py`, which
`Harness.decide`'s `blocks` serve). T4's clock needs no bolt-on here: the oracle's answers
already carry the right number.

**Trivial**: `silent` says nothing; `eager` is the VAD harness with theta = 0.2 s and no
barge-in (reply after any silence).
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from microturn.audio import save
from microturn.timeline import Timeline

SR = 16_000
FRAME = 512  # silero-vad's window at 16 kHz: 32 ms
FRAME_S = FRAME / SR
ON, OFF = 0.5, 0.35


@lru_cache(maxsize=1)
def _silero():
    from silero_vad import load_silero_vad

    return load_silero_vad()


def vad_probs(user: np.ndarray) -> np.ndarray:
    """Causal silero-vad speech probability per 32 ms frame (its recurrent state carries)."""
    import torch

    model = _silero()
    model.reset_states()
    n = len(user) // FRAME
    x = torch.from_numpy(np.ascontiguousarray(user[: n * FRAME], np.float32)).view(n, FRAME)
    with torch.no_grad():
        return np.array([float(model(x[i], SR)) for i in range(n)])


def speaking(p: np.ndarray) -> np.ndarray:
    """Hysteresis: on at p >= ON, off again below OFF."""
    out, on = np.zeros(len(p), bool), False
    for i, v in enumerate(p):
        on = v >= ON if not on else v >= OFF
        out[i] = on
    return out


class SmartTurn:
    """Smart Turn v3.2 from the pipecat-ai wheel (files only; `pipecat` itself is not imported)."""

    def __init__(self):
        import onnxruntime as ort

        spec = importlib.util.find_spec("pipecat")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("pip install --no-deps pipecat-ai==1.14.0 (scripts/setup.sh does)")
        d = Path(spec.submodule_search_locations[0]) / "audio" / "turn" / "smart_turn"
        fs = importlib.util.spec_from_file_location("_smart_turn_feats", d / "_whisper_features.py")
        self.feats = importlib.util.module_from_spec(fs)
        fs.loader.exec_module(self.feats)
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = 1, 1
        self.session = ort.InferenceSession(str(d / "data" / "smart-turn-v3.2-cpu.onnx"), so)

    def complete(self, audio: np.ndarray) -> float:
        """P(the turn is complete) from the last 8 s of 16 kHz audio (left-padded)."""
        x = audio[-8 * SR :]
        x = np.pad(x, (8 * SR - len(x), 0)).astype(np.float32)
        f = self.feats.compute_whisper_log_mel_features(x, do_normalize=True)[None]
        return float(self.session.run(None, {"input_features": f.astype(np.float32)})[0].ravel()[0])


@dataclass(frozen=True)
class Block:
    """A floor-take that waits on a tool (`tool_harness.py`): from its decision the pipeline
    blocks `seconds` and reads no audio (what the user says then is dropped, never heard);
    `speak_first`: it starts speaking (a filler) at once, else only after the block."""

    seconds: float
    speak_first: bool = False


@dataclass
class Harness:
    theta: float = 0.8  # end-of-turn silence (s)
    min_barge: float | None = 0.5  # user speech that stops it (s); None: never stops
    delay: float = 0.2  # processing + playback delay (s)
    turn_detector: bool = False
    theta_max: float = 3.0  # turn-detector fallback silence
    timer: bool = False  # scaffolded: a timer tool speaks timed lines on time

    @property
    def name(self) -> str:
        if self.turn_detector:
            return "turn-detector"
        m = self.min_barge if self.min_barge else "inf"
        return f"vad(theta={self.theta:g},m={m}{',timer' if self.timer else ''})"

    def decide(
        self,
        user: np.ndarray,
        smart: SmartTurn | None = None,
        probs: np.ndarray | None = None,
        lengths: list[float] | None = None,
        default_length: float = 1.0,
        blocks: dict[int, Block] | None = None,
    ) -> list[tuple[float, float]]:
        """-> floor-takes [(start, stop)], decided causally frame by frame. Take k lasts
        `lengths[k]` s (its reply's duration; `default_length` past the list) unless the user
        barges in. `blocks[k]`: take k waits on a tool (see `Block`).
        `probs`: the VAD's per-frame probabilities if already computed (a sweep reuses them)."""
        sp = speaking(vad_probs(user) if probs is None else probs)
        lengths, blocks = lengths or [], blocks or {}
        takes: list[list[float]] = []
        heard, quiet, talk, asked = False, 0.0, 0.0, False
        deaf = -1.0  # blocked on a tool until then: no frame is read
        for i, s in enumerate(sp):
            t = (i + 1) * FRAME_S
            if t <= deaf + 1e-9:
                quiet = talk = 0.0  # it resumes on fresh audio
                continue
            busy = bool(takes) and t < takes[-1][1]  # it is speaking (or about to)
            if s:
                heard, quiet, asked = True, 0.0, False
                talk += FRAME_S
                barge = self.min_barge is not None and talk - FRAME_S < self.min_barge <= talk
                if busy and barge and takes[-1][0] <= t:  # stops after the pipeline delay
                    takes[-1][1] = min(takes[-1][1], t + self.delay)
                continue
            talk = 0.0
            quiet += FRAME_S
            if not heard or busy:
                continue
            go = quiet >= self.theta
            if self.turn_detector:  # one verdict per silence (pipecat asks at VAD stop)
                go = quiet >= self.theta_max
                if not go and quiet >= 0.2 and not asked:
                    asked = True
                    go = smart.complete(user[: int(t * SR)]) > 0.5
            if go:
                k = len(takes)
                length = lengths[k] if k < len(lengths) else default_length
                b = blocks.get(k)
                start = t + self.delay + (b.seconds if b and not b.speak_first else 0.0)
                takes.append([start, start + length])
                deaf = t + b.seconds if b else deaf
                heard = False  # the next take needs new user speech
        return [(a, b) for a, b in takes]


def oracle_replies(tl: Timeline, timer: bool = False) -> list[str]:
    """The oracle responder's lines: the scenario's reference model utterances in order,
    without its backchannels (a plain harness does not backchannel) — and, with a timer tool,
    without the timed ones (the tool says those). Each floor-take says the next line; when
    they run out it says "okay"."""
    skip = {"backchannel"} | ({"timed"} if timer else set())
    return [e.text for e in tl.on("model") if e.kind not in skip and e.text]


def render(lines: list[tuple[float, float, str]], n: int) -> tuple[np.ndarray, list[dict]]:
    """Speak each (start, stop, text) in the model's voice, cut at stop -> (audio, events)."""
    from microturn.data.voices import MODEL_VOICE
    from microturn.synth import synthesize

    out = np.zeros(n, np.float32)
    events: list[dict] = []
    for a, b, text in sorted(lines):
        i = int(a * SR)
        if i >= n:
            continue
        clip = synthesize(text, MODEL_VOICE)
        j = min(n, i + len(clip.audio), int(b * SR) if b != float("inf") else n)
        out[i:j] = clip.audio[: j - i]
        for w in clip.words:
            if a + w.t_on < j / SR:
                events.append(
                    {"t": round(a + w.t_on, 3), "kind": "model_text", "text": " " + w.text}
                )
    return out, events


def run_harness(
    h: Harness | None,
    tl: Timeline,
    user: np.ndarray,
    smart: SmartTurn | None = None,
    probs: np.ndarray | None = None,
) -> tuple[np.ndarray, list[dict]]:
    """One scenario -> (output audio, events); h None is the always-silent system."""
    if h is None:
        return render([], len(user))
    from microturn.data.voices import MODEL_VOICE
    from microturn.synth import synthesize

    queue = oracle_replies(tl, h.timer)
    lengths = [len(synthesize(x, MODEL_VOICE).audio) / SR for x in queue]
    okay = len(synthesize("okay", MODEL_VOICE).audio) / SR  # when the script runs out
    takes = h.decide(user, smart, probs, lengths, okay)
    lines = [(a, b, queue[k] if k < len(queue) else "okay") for k, (a, b) in enumerate(takes)]
    if h.timer:  # scaffolded: a timer tool fires each timed line on time (+ the same delay)
        lines += [(e.t_on + h.delay, float("inf"), e.text) for e in tl.on("model", "timed")]
    return render(lines, len(user))


def write_output(out: Path, audio: np.ndarray, events: list[dict]) -> None:
    """The runner interface's two scored files."""
    out.mkdir(parents=True, exist_ok=True)
    save(out / "model.wav", audio)
    (out / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


@dataclass
class VadLags:
    """How far the harness's VAD lags behind the user's word runs (s), measured on the `turn`
    scenarios: every run's onset lag and offset lag. The analytic model's only measured
    inputs."""

    onsets: np.ndarray
    offsets: np.ndarray

    @property
    def on(self) -> float:
        return float(np.median(self.onsets)) if len(self.onsets) else 0.0

    @property
    def off(self) -> float:
        return float(np.median(self.offsets)) if len(self.offsets) else 0.0


def vad_lags(scen: list, probs: dict) -> VadLags:
    """The VAD's onset and offset lags behind the user's word runs, on the `turn` scenarios."""
    ons, offs = [], []
    for sc in scen:
        if sc.tl.family != "turn" or sc.id not in probs:
            continue
        sp = speaking(probs[sc.id])
        t = (np.arange(len(sp)) + 1) * FRAME_S
        for a, b in _runs(sc.tl):
            on, off = t[(t >= a) & sp], t[(t >= b) & ~sp]
            if len(on):
                ons.append(on[0] - a)
            if len(off):
                offs.append(off[0] - b)
    return VadLags(np.array(ons), np.array(offs))


def _runs(tl: Timeline) -> list[list[float]]:
    """The user's speech as runs of words (gaps under 50 ms joined)."""
    runs: list[list[float]] = []
    for a, b in sorted((w.t_on, w.t_off) for e in tl.on("user") for w in e.words):
        if runs and a - runs[-1][1] <= 0.05:
            runs[-1][1] = max(runs[-1][1], b)
        else:
            runs.append([a, b])
    return runs


def predicted_pass(h: Harness, tl: Timeline, lags: VadLags | None = None) -> float | None:
    """The research notes' analytic harness model: the probability that the harness passes
    this scenario (T1 and T3 only; None elsewhere), from its own pause and overlap lengths
    and the VAD's measured lags. The harness takes the floor in any user pause the VAD sees
    as longer than theta, `delay` later; it stops `min_barge` into any overlapping speech the
    VAD hears, `delay` later.
    - T1 uses the median lags. Two facts of this data the notes do not spell out are in it: a
      statement's reference reply is a backchannel, so the oracle's early "takeover" there is
      itself a (permitted) backchannel; and pauses are seen lag-shifted.
    - T3 barge-in: the stop lands min_barge + onset lag + delay after the interruption
      starts; the pass probability integrates over the measured onset lags (they vary by a
      few VAD frames from word to word). Should-not-act: any overlap of >= min_barge (user
      backchannel, side talk, background speech) is taken as heard."""
    from microturn.bench.score import BACKCHANNELS, words

    lags = lags or VadLags(np.zeros(0), np.zeros(0))
    on, off = lags.on, lags.off
    if tl.family == "turn":
        runs = _runs(tl)
        early = any(b[0] - a[1] - off + on > h.theta for a, b in zip(runs, runs[1:], strict=False))
        replies = oracle_replies(tl)
        bc = bool(replies) and " ".join(words(replies[0])) in BACKCHANNELS
        return float((bc or not early) and h.theta + h.delay <= 1.5)
    if tl.family == "barge_in":
        if tl.act:
            if h.min_barge is None:
                return 0.0
            x = next(x for x in tl.expect if x.kind == "stop")
            lag = lags.onsets if len(lags.onsets) else np.zeros(1)
            return float(np.mean(h.min_barge + lag + h.delay <= x.t_off - x.t_on))
        over = [e for e in tl.on("user") + tl.on("other") if e.kind != "utterance"]
        return float(not any(e.t_off - e.t_on >= (h.min_barge or 1e9) for e in over))
    return None
