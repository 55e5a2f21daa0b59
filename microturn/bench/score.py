"""The scorer: a system's output (audio + text events) against a scenario's expectations.

Timing always comes from the output audio through the fixed VAD (`vad.py`); content from the
system's `model_text` events (the words it says), assigned to the audio segment they fall in.
A segment whose words are a backchannel ("yeah", "mm hmm", ...) is a backchannel; every other
segment — including one with no text at all — is a *response* (it takes the floor).

Each `Expect` of a timeline is judged by its kind (None = not applicable):

    speak        the first response onset after the onset the previous speak judged (and
                 after the start of a preceding stop window) lies in [t_on,
                 t_off] (an earlier onset is a failure, never clipped); latency = onset - ref;
                 when the expected words are a backchannel, a backchannel counts as the onset;
                 content: every word of `text` is said in the responses starting in the window
    silent       no response onset in [t_on, t_off] (backchannels allowed)
    backchannel  a backchannel onset in [t_on, t_off], and no response onset there
    stop         speaking at t_on (else n/a) and that segment ends by t_off
    continue     speaking at t_on (else n/a), still at t_off - 0.5 s, no gap >= 0.5 s between
    delegate     a `delegation` event in [t_on, t_off]; no_delegate: none
    count        the last number word said in [t_on, t_off] is `text`
    no_number    no number word said in [t_on, t_off]
    silent_value the value `text` is not said (by words timed) in [t_on, t_off] (no
                 hallucinated tool result)

T7 (a delegation scenario: the timeline has a tool result) is judged around the moment the
result existed, `r`: the scenario's scripted tool result, or — when the system answers its
delegations with a real agent (`Output.agent`, or it writes `agent_call` / `agent_result`
events) — its first `agent_result` with words (status ok, partial or later) at or after the
delegate window opens; with a real agent and no such result, the result never existed. Then:

    delegate     as above; besides, the responses with an onset in its window before `r`
                 are the acknowledgement ("one moment"): the next speak looks after them
    silent_value with a real agent its window ends at `r` (at the end when never)
    woven speak  with a real agent its window is [r, max(r, the user's last words) + 2 s]
                 (the data engine's 2 s), judged in time order with the other windows, and
                 fails when the result never existed. In both cases a reply that runs
                 straight on from the acknowledgement (one audio segment) counts when its
                 words after `r` carry the result. `value`: the result's words are said after
                 it existed, in the window (the content row of the report).

A scenario passes when every applicable expectation passes. Families are paired: the report
gives each side's pass rate with a Wilson 95 % interval and their balanced accuracy.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from microturn.bench import vad
from microturn.config import GridConfig
from microturn.timeline import Expect, Timeline


def _backchannel_phrases() -> frozenset[str]:
    """The closed class of listener tokens: the data engine's backchannels, "oh"/"ah" + one,
    and each one doubled ("yeah yeah") — normalised to plain words."""
    from microturn.data.language.closed_classes import BACKCHANNELS as base

    out = set(base) | {"mhm", "hmm", "uh hmm"}
    out |= {f"{p} {b}" for p in ("oh", "ah") for b in base} | {f"{b} {b}" for b in base}
    return frozenset(" ".join(re.findall(r"[a-z0-9']+", x.replace("-", " "))) for x in out)


BACKCHANNELS = _backchannel_phrases()
NUMBER_WORDS = set(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
    "eighty ninety hundred".split()
)
TEXT_SLACK_S = (0.3, 0.1)  # a text event belongs to a segment starting up to 0.3 s after it
RESULT_STATUSES = ("ok", "partial", "later")  # an agent_result that carries a result
WOVEN_AFTER_S = 2.0  # the woven reply's window ends this long after the result / user


def _version() -> str:
    h = hashlib.sha256()
    for f in ("vad.py", "score.py"):
        h.update((Path(__file__).parent / f).read_bytes())
    h.update(repr(sorted(BACKCHANNELS)).encode())  # the lexicon lives with the data engine
    return h.hexdigest()[:12]


SCORER_VERSION = _version()


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


@dataclass
class Segment:
    on: float
    off: float
    text: str = ""

    @property
    def backchannel(self) -> bool:
        return " ".join(words(self.text)) in BACKCHANNELS


@dataclass
class Output:
    """What a system did: its speech segments (with words) and its non-speech events.
    `agent`: it answers delegations with a real agent and heard no scripted tool result (a
    system whose events include `agent_call` / `agent_result` is taken to, too)."""

    segments: list[Segment]
    events: list[dict] = field(default_factory=list)
    agent: bool = False

    @classmethod
    def read(
        cls,
        audio: np.ndarray,
        events: list[dict],
        sr: int = GridConfig().sample_rate,
        agent: bool = False,
    ) -> Output:
        segs = [Segment(a, b) for a, b in vad.segments(audio, sr)]
        for e in sorted((e for e in events if e.get("kind") == "model_text"), key=lambda e: e["t"]):
            for s in segs:
                if s.on - TEXT_SLACK_S[0] <= e["t"] <= s.off + TEXT_SLACK_S[1]:
                    s.text += e["text"]  # pieces: a word's first token carries its space
                    break
        return cls(segs, events, agent)

    def responses(self) -> list[Segment]:
        return [s for s in self.segments if not s.backchannel]

    def speaking_at(self, t: float) -> Segment | None:
        return next((s for s in self.segments if s.on <= t < s.off), None)

    def words_between(self, a: float, b: float) -> list[str]:
        """Words whose text events are timed in [a, b] (pieces joined as said)."""
        ev = sorted((e for e in self.events if e.get("kind") == "model_text"), key=lambda e: e["t"])
        return words("".join(e["text"] for e in ev if a <= e["t"] <= b))

    def said(self, a: float, b: float) -> list[str]:
        """Words of the segments with an onset in [a, b]."""
        return [w for s in self.segments if a <= s.on <= b for w in words(s.text)]

    def says(self, a: float, b: float, text: str) -> bool:
        """The content rule: every word of `text` is among the words said in [a, b]."""
        said = set(self.said(a, b))
        return all(w in said for w in words(text))


def listener_word(text: str) -> bool:
    """Expected words that are themselves a backchannel ("okay", "yes"): said as one, they
    still take the turn."""
    return " ".join(words(text)) in BACKCHANNELS


@dataclass
class Judgement:
    kind: str
    passed: bool | None  # None: not applicable
    latency: float | None = None
    content: bool | None = None
    onset: float | None = None  # the onset it judged (speak; delegate: its acknowledgement)
    value: bool | None = None  # T7 woven speak: the result's words said after it existed
    result_t: float | None = None  # T7 woven speak: when the result existed (None: never)
    result_right: bool | None = None  # ... a real agent's result carried the expected value


def judge(x: Expect, out: Output, scope_start: float) -> Judgement:
    a, b = x.t_on, x.t_off
    if x.kind == "speak":
        # a turn whose expected words are themselves a backchannel ("okay" after a statement),
        # or are not given, is taken by any segment, a backchannel too
        # (inside its window only: a backchannel elsewhere is never an early takeover)
        bc_ok = not x.text or listener_word(x.text)
        later = [s for s in out.responses() if s.on > scope_start]
        first = later[0] if later else None
        if bc_ok:
            bcs = [
                s for s in out.segments if s.backchannel and a <= s.on <= b and s.on > scope_start
            ]
            if bcs and (first is None or bcs[0].on < first.on):
                first = bcs[0]
        ok = first is not None and a <= first.on <= b
        lat = None if first is None else round(first.on - x.attrs.get("ref", a), 3)
        used = first.on if first is not None else None
        content = None
        if x.text and ok:
            content = out.says(a, b, x.text)
        return Judgement("speak", ok, lat, content, used)
    if x.kind == "silent":
        return Judgement("silent", not any(a <= s.on <= b for s in out.responses()))
    if x.kind == "backchannel":  # a backchannel in the pause, and no floor-take
        bc = any(a <= s.on <= b for s in out.segments if s.backchannel)
        return Judgement("backchannel", bc and not any(a <= s.on <= b for s in out.responses()))
    if x.kind in ("stop", "continue"):
        seg = out.speaking_at(a)
        if seg is None:
            return Judgement(x.kind, None)
        if x.kind == "stop":
            return Judgement("stop", seg.off <= b, round(seg.off - a, 3))
        inside = [s for s in out.segments if s.off > a and s.on < b]
        gaps = [n.on - p.off for p, n in zip(inside, inside[1:], strict=False)]
        held = out.speaking_at(b - 0.5) is not None
        return Judgement("continue", held and all(g < 0.5 for g in gaps))
    if x.kind in ("delegate", "no_delegate"):
        hit = any(e.get("kind") == "delegation" and a <= e["t"] <= b for e in out.events)
        return Judgement(x.kind, hit if x.kind == "delegate" else not hit)
    if x.kind == "count":
        nums = [w for w in out.said(a, b) if w in NUMBER_WORDS]
        want = words(x.text)
        if want in ([], ["zero"]):  # nothing to count: say no number at all
            return Judgement("count", not nums)
        return Judgement("count", nums[-len(want) :] == want)
    if x.kind == "no_number":
        return Judgement("no_number", not any(w in NUMBER_WORDS for w in out.said(a, b)))
    if x.kind == "silent_value":  # by the words' own times: a run-on reply may say it later
        said = out.words_between(a, b)
        want = words(x.text)
        n = len(want)
        hit = n > 0 and any(said[i : i + n] == want for i in range(len(said)))
        return Judgement("silent_value", not hit)
    raise ValueError(f"the scorer has no rule for expectation kind {x.kind!r}")


@dataclass
class Delegated:
    """When a T7 scenario's delegated result existed, for the judgement: `t` (None: a real
    agent gave none), `real` (from the system's agent events, not the script), `value` the
    expected result's words, `text` the real result's words."""

    t: float | None
    real: bool
    value: str
    text: str = ""


def delegated(tl: Timeline, out: Output) -> Delegated | None:
    """The result's time in a delegation scenario (None in any other)."""
    script = tl.on("tool", "tool_result")
    window = next((x for x in tl.expect if x.kind == "delegate"), None)
    if not script or window is None:
        return None
    value = script[0].text
    agent = [e for e in out.events if e.get("kind") in ("agent_call", "agent_result")]
    if not (agent or out.agent):
        return Delegated(script[0].t_on, False, value)
    got = [e for e in agent if e["kind"] == "agent_result" and e["t"] >= window.t_on
           and e.get("status") in RESULT_STATUSES and str(e.get("text", "")).strip()]  # fmt: skip
    first = min(got, key=lambda e: e["t"], default=None)
    return Delegated(None, True, value) if first is None else (
        Delegated(first["t"], True, value, first["text"]))  # fmt: skip


def retimed(x: Expect, d: Delegated | None, tl: Timeline) -> Expect:
    """An expectation's window on the real result's clock (T7 with a real agent)."""
    if d is None or not d.real or x.kind not in ("silent_value", "speak"):
        return x
    if x.kind == "silent_value":
        return replace(x, t_off=max(x.t_on, tl.duration if d.t is None else d.t))
    if not x.attrs.get("woven") or d.t is None:
        return x
    user = max((e.t_off for e in tl.on("user") if e.t_on < x.t_off), default=d.t)
    return replace(x, t_on=d.t, t_off=max(d.t, user) + WOVEN_AFTER_S, attrs={**x.attrs, "ref": d.t})


def judge_woven(x: Expect, out: Output, scope: float, d: Delegated, ack: Segment | None):
    """The woven reply: `judge`'s onset rule, or a run-on from the acknowledgement whose
    words after the result carry it; plus whether the result's words were said after it
    existed (`value`)."""
    right = all(w in words(d.text) for w in words(d.value)) if d.real else None
    if d.t is None:  # a real agent gave no result: there was nothing to weave in
        return Judgement("speak", False, value=False, result_right=right)
    j = judge(x, out, scope)
    end = -1.0 if ack is None or ack.off <= d.t else ack.off + TEXT_SLACK_S[1]
    run_on = out.words_between(d.t, end)  # the acknowledgement's words after the result
    want = words(d.value)
    if not j.passed and run_on and want and all(w in run_on for w in want):
        t = min(e["t"] for e in out.events if e.get("kind") == "model_text" and e["t"] >= d.t)
        j = Judgement("speak", True, round(t - x.attrs.get("ref", x.t_on), 3), None, t)
    said = set(out.said(x.t_on, x.t_off)) | set(run_on)
    if x.text and j.passed:
        j.content = all(w in said for w in words(x.text))
    after = set(out.said(max(x.t_on, d.t), x.t_off)) | set(run_on)
    j.value = bool(want) and all(w in after for w in want)
    j.result_t, j.result_right = d.t, right
    return j


def score(tl: Timeline, out: Output) -> dict:
    """One scenario -> {"pass", "timing_pass", "judgements": [...], "latencies": [...]}.
    Windows are judged in time order; judgements are listed in the order of the timeline's
    expectations sorted by their (scripted) start."""
    d = delegated(tl, out)
    xs = sorted(tl.expect, key=lambda x: x.t_on)
    eff = [retimed(x, d, tl) for x in xs]
    js: list[Judgement | None] = [None] * len(xs)
    scope, ack = -1.0, None
    for i in sorted(range(len(xs)), key=lambda i: eff[i].t_on):
        x = eff[i]
        if d is not None and x.kind == "speak" and x.attrs.get("woven"):
            j = judge_woven(x, out, scope, d, ack)
        else:
            j = judge(x, out, scope)
        if d is not None and x.kind == "delegate":  # its acknowledgement, before the result
            acks = [s for s in out.responses() if s.on > scope and x.t_on <= s.on <= x.t_off
                    and (d.t is None or s.on < d.t)]  # fmt: skip
            if acks:
                j.onset, ack = acks[-1].on, acks[-1]
        js[i] = j
        if j.onset is not None:  # each reply is judged once: the next looks after it
            scope = max(scope, j.onset)
        if x.kind == "stop":  # after an interruption only a new onset answers it
            scope = max(scope, x.t_on)
    appl = [j for j in js if j.passed is not None]
    timing = all(j.passed for j in appl) if appl else None
    content = [j.content for j in js if j.content is not None]
    return {
        "id": tl.id,
        "family": tl.family,
        "condition": tl.condition,
        "act": tl.act,
        "timing_pass": timing,
        "pass": None if timing is None else timing and all(content),
        "latencies": [j.latency for j in js if j.kind == "speak" and j.latency is not None],
        "judgements": [vars(j) for j in js],
        "segments": [[s.on, s.off, s.text.strip()] for s in out.segments],
    }


# --- statistics ---------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score 95 % interval for k successes of n."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (round(c - h, 4), round(c + h, 4))


def mcnemar(a: list[bool], b: list[bool]) -> float:
    """Exact two-sided McNemar p-value for paired pass/fail lists (same scenarios)."""
    n01 = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    n10 = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    n = n01 + n10
    if n == 0:
        return 1.0
    k = min(n01, n10)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def summarize(results: list[dict], key: str = "pass") -> dict:
    """Per family: each side's pass rate (Wilson CI, n), balanced accuracy, latencies.
    key: "pass" (timing and content) or "timing_pass" (timing only)."""
    fams: dict[str, dict] = {}
    for r in results:
        f = fams.setdefault(r["family"], {"act": [], "hold": [], "lat": []})
        if r[key] is not None:
            f["act" if r["act"] else "hold"].append(bool(r[key]))
        if r["act"]:
            f["lat"] += r["latencies"]
    out = {}
    for name, f in sorted(fams.items()):
        row = {}
        for side in ("act", "hold"):
            k, n = sum(f[side]), len(f[side])
            row[side] = {"pass": round(k / n, 4) if n else None, "n": n, "ci": wilson(k, n)}
        ps = [row[s]["pass"] for s in ("act", "hold") if row[s]["pass"] is not None]
        row["balanced"] = round(sum(ps) / len(ps), 4) if ps else None
        lat = np.asarray(f["lat"], float)
        row["latency_median"] = round(float(np.median(lat)), 3) if len(lat) else None
        row["latency_p90"] = round(float(np.quantile(lat, 0.9)), 3) if len(lat) else None
        out[name] = row
    return out
