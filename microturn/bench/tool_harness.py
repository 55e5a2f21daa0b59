"""The cascade harness with a blocking tool call: the T7 baselines `vad+tool`,
`vad+tool+filler` and `vad+tool+hearing`.

What it is given (the oracle convention of `harness.oracle_replies`): which requests need a
tool (the scenario's delegation, so a look-alike asked directly never calls one), the
request's true words (an oracle transcript of the user's turn that asked), and the
scenario's reference replies. `vad+tool+hearing` is given no words: it hears the request
with the model's agent's ears (`agent/hearing.py`: Whisper tiny.en, prompted, on the user's
audio from `HEAR_LEAD_S` before the request to `HEAR_TAIL_S` after its end), as a cascade's
recogniser would; the recognition is not timed in its block (a streaming recogniser has
the words when the turn ends). The tool is the real tool agent (`agent/tool_agent.py`,
through an `agent.dispatcher.Dispatcher`, the path the model's delegations take): it routes
the request's words to one tool and says the result. What it says with the result is the
reference's woven reply with the scripted result replaced by the tool's real one (the tool's
words alone where the reply does not carry the scripted result verbatim and the two differ,
and the failure result when the tool fails).

Timing is the tuned VAD harness's (`harness.Harness`): the first floor-take answers the
request (wherever the VAD takes it), and at that decision the pipeline calls the tool and
**blocks** on it:

- `vad+tool`: nothing is said until the tool returns; the reply starts `delay` after that.
- `vad+tool+filler`: "let me check" starts `delay` after the decision, as a voice pipeline's
  canned filler does; the reply follows the filler, and not before the tool returned plus
  `delay`, in the same floor-take.

While it blocks the pipeline reads no audio: user speech in that time is dropped (neither
heard nor answered, nor counted towards the next end of turn or a barge-in); listening
resumes on fresh audio after it. Everywhere else it is the VAD harness, listening while it
speaks. The tool runs once per scenario before the causal pass (its answer does not depend
on when it is asked: no T7 request asks the clock) and its measured wall time, rounded up to
whole 32 ms VAD frames, is the block: the local tools answer in well under one frame, so
the block is one frame on every run. A timer's later "done" result falls after the scenario
and is not said. Its events are what the scorer reads from any agent: `delegation` and
`agent_call` at the decision, `agent_result` when the tool returned.
"""

from __future__ import annotations

import math
import time

import numpy as np

from microturn.agent import context
from microturn.agent.dispatcher import Dispatcher
from microturn.agent.job import Result
from microturn.bench.harness import FRAME_S, SR, Block, Harness, render, run_harness
from microturn.runtime.events import AgentCall, AgentResult, Delegation, UserText
from microturn.timeline import Timeline

FILLER = "let me check"
HEAR_LEAD_S, HEAR_TAIL_S = 0.3, 0.1  # `vad+tool+hearing`'s stretch around the request


def request_events(tl: Timeline, t: float) -> list[UserText]:
    """The user's words up to `t` as a transcript (one piece per word, at its onset): the
    oracle transcript the context package is built from."""
    return [UserText(w.t_on, " " + w.text) for e in tl.on("user") if e.t_off <= t + 1e-9
            for w in e.words]  # fmt: skip


def heard_request(tl: Timeline, user: np.ndarray, t: float, hear) -> list[UserText]:
    """The request as `hear` (16 kHz audio -> words) hears the user's turn that asked, the
    last to begin by `t`: its words as one transcript piece at `t` (none when it hears
    nothing)."""
    turn = max((e for e in tl.on("user") if e.t_on <= t + 1e-9), key=lambda e: e.t_on)
    a, b = max(0.0, turn.t_on - HEAR_LEAD_S), turn.t_off + HEAR_TAIL_S
    heard = hear(np.asarray(user[int(a * SR) : int(b * SR)], np.float32)).strip()
    return [UserText(t, " " + heard)] if heard else []


def call_tool(dispatcher: Dispatcher, session: str, events: list, t: float) -> tuple:
    """Ask the agent, block until it answers -> (its final result, the package's request,
    wall seconds it took). Timer results due later are dropped."""
    ctx = context.build(session, events, t)
    start = time.perf_counter()
    job = dispatcher.submit(session, ctx)
    dispatcher.settle(dispatcher.timeout_s + 1.0)
    wall = time.perf_counter() - start
    got = [r for r in dispatcher.poll(session, t) if r.status != "partial"]
    dispatcher.close(session)
    final = got[-1] if got else Result(session, job.id, "", "failed", "no result")
    return final, ctx.request, wall


def reply_with(tl: Timeline, res: Result) -> str:
    """The reference's woven reply carrying the tool's real result."""
    woven = tl.on("model", "result")[0].text
    value = tl.on("tool", "tool_result")[0].text
    if res.status == "ok" and value in woven:
        return woven.replace(value, res.text)
    if res.status == "ok" and res.text == value:  # the reply words it otherwise ("timer is set")
        return woven
    return res.text


def run_tool_harness(
    h: Harness,
    tl: Timeline,
    user: np.ndarray,
    dispatcher: Dispatcher,
    filler: bool = False,
    probs: np.ndarray | None = None,
    hear=None,
) -> tuple[np.ndarray, list[dict]]:
    """One scenario -> (output audio, events); a scenario without a delegation is the plain
    VAD harness's. `hear` (16 kHz audio -> words): the request as it hears it, not its true
    words (`vad+tool+hearing`)."""
    tool = next((e for e in tl.on("tool") if e.kind == "delegate"), None)
    if tool is None:
        return run_harness(h, tl, user, None, probs)
    from microturn.data.voices import MODEL_VOICE
    from microturn.synth import synthesize

    def length(text: str) -> float:
        return len(synthesize(text, MODEL_VOICE).audio) / SR

    request = request_events(tl, tool.t_on)
    t_req = max((e.t for e in request), default=0.0)
    if hear is not None:
        request = heard_request(tl, user, t_req, hear)
    res, asked, wall = call_tool(dispatcher, tl.id, request, t_req)
    block = max(1, math.ceil(wall / FRAME_S - 1e-9)) * FRAME_S
    said = reply_with(tl, res)
    skip = {"backchannel", "ack", "result"}
    queue = [said] + [e.text for e in tl.on("model") if e.kind not in skip and e.text]
    lead = max(length(FILLER), block) if filler else 0.0  # where the reply starts in take 0
    lengths = [lead + length(said)] + [length(x) for x in queue[1:]]
    takes = h.decide(user, None, probs, lengths, length("okay"), {0: Block(block, filler)})
    lines = [(a, b, queue[k] if k < len(queue) else "okay") for k, (a, b) in enumerate(takes)]
    events: list[dict] = []
    if takes:
        a, b = takes[0]
        decided = round(a - h.delay - (0.0 if filler else block), 3)
        if filler:
            lines[0] = (a, b, FILLER)
            if a + lead < b:
                lines.append((a + lead, b, said))
        t_res = round(decided + block, 3)
        events = [
            Delegation(decided).to_json(),
            AgentCall(decided, res.job, dispatcher.agent.name, asked).to_json(),
            AgentResult(t_res, res.job, res.status, res.text, res.error).to_json(),
        ]
    audio, spoken = render(lines, len(user))
    return audio, spoken + events


def run_tool_harnesses(
    h: Harness, scen: list, cache: dict, filler: bool = False, hearing: bool = False
) -> list[tuple[np.ndarray, list[dict]]]:
    """Every scenario (suite.Scenario) through the tool harness; `cache` keeps the VAD's
    probabilities per scenario id, as `suite.run_harnesses` does. `hearing`: it hears the
    request with the agent's recogniser (`vad+tool+hearing`)."""
    from microturn.agent.registry import dispatcher
    from microturn.agent.tool_agent import warm
    from microturn.bench.harness import vad_probs

    d = dispatcher("tools")
    warm()
    hear = None
    if hearing:
        from microturn.agent import hearing as ears

        ears.warm()
        hear = ears.whisper
    outs = []
    for sc in scen:
        if sc.id not in cache:
            cache[sc.id] = vad_probs(sc.user)
        outs.append(run_tool_harness(h, sc.tl, sc.user, d, filler, cache[sc.id], hear))
    return outs
