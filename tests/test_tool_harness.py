"""The cascade harness with a blocking tool call (`vad+tool`, `vad+tool+filler`) on real T7
scenarios: silent until the real tool agent returns, then the reply with its real result;
the filler variant speaks at once; the scorer times T7 by the real result; and the bench
command runs the new systems."""

import json
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from microturn.agent.dispatcher import Dispatcher
from microturn.agent.job import Result
from microturn.agent.tool_agent import ToolAgent
from microturn.bench.harness import SR, Harness
from microturn.bench.score import Output, score, words
from microturn.bench.suite import pick
from microturn.bench.tool_harness import FILLER, reply_with, run_tool_harness
from microturn.config import preset
from microturn.model import InteractionModel

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


class SlowTools(ToolAgent):
    """The real tool agent, answering 0.5 s late (a slow tool makes the block visible)."""

    def run(self, job):
        time.sleep(0.5)
        return super().run(job)


def of(events, kind):
    return [e for e in events if e["kind"] == kind]


def said_after(events, t):
    return words("".join(e["text"] for e in events if e["kind"] == "model_text" and e["t"] >= t))


@pytest.fixture(scope="module")
def act(delegate_data):
    return [s for s in pick(delegate_data, 3) if s.tl.act]


def test_blocking_is_silent_until_the_tool_returns_then_says_its_result(act):
    h, whole = Harness(0.3, 0.2), 0
    for sc in act:
        audio, ev = run_tool_harness(h, sc.tl, sc.user, Dispatcher(SlowTools()))
        (dele,) = of(ev, "delegation")
        (res,) = of(ev, "agent_result")
        assert of(ev, "agent_call")[0]["request"]  # the oracle transcript of the request
        assert res["t"] - dele["t"] >= 0.5  # the block: the tool's measured time
        # no sound from the decision until the tool returned (+ the pipeline's delay)
        quiet = audio[int(dele["t"] * SR) : int((res["t"] + h.delay) * SR) - 1]
        assert np.abs(quiet).max() == 0.0
        out = Output.read(audio, ev, agent=True)
        first = next(s for s in out.segments if s.on >= dele["t"])
        assert first.on == pytest.approx(res["t"] + h.delay, abs=0.05)
        # its reply carries the tool's real result (a failure's words when it failed); a
        # question the user asks meanwhile may barge in and cut it
        reply = words(reply_with(sc.tl, Result(sc.id, res["job"], res["text"], res["status"])))
        said = words(first.text)
        assert said and said == reply[: len(said)] and set(words(res["text"])) <= set(reply)
        if len(sc.tl.on("user")) == 1:  # nobody cuts it
            whole += said == reply
        r = score(sc.tl, out)
        (woven,) = [j for j in r["judgements"] if j["value"] is not None]
        assert woven["result_t"] == (res["t"] if res["status"] == "ok" else None)
    assert whole == sum(len(sc.tl.on("user")) == 1 for sc in act) > 0


def test_filler_speaks_at_once_while_it_blocks(act):
    h = Harness(0.3, 0.2)
    sc = next(s for s in act if len(s.tl.on("user")) == 1)  # nobody cuts it
    audio, ev = run_tool_harness(h, sc.tl, sc.user, Dispatcher(SlowTools()), filler=True)
    (dele,) = of(ev, "delegation")
    (res,) = of(ev, "agent_result")
    first = [e for e in ev if e["kind"] == "model_text" and e["t"] >= dele["t"]]
    assert words("".join(e["text"] for e in first[:3])) == words(FILLER)
    assert first[0]["t"] == pytest.approx(dele["t"] + h.delay, abs=0.1)
    assert first[0]["t"] < res["t"]  # the filler starts before the slow tool returns
    assert set(words(res["text"])) <= set(said_after(ev, res["t"]))


def test_the_hearing_harness_acts_on_what_it_heard(act):
    """`vad+tool+hearing`: the agent gets the recogniser's words, not the true ones, heard
    on the turn that asked (0.3 s before it to 0.1 s after it); hearing nothing, it gets no
    request and says the failure result."""
    sc = act[0]
    turn = sc.tl.on("user")[0]
    stretches = []

    def hear(audio):
        stretches.append(len(audio) / SR)
        return "what is seventy seven times thirty one"

    h = Harness(0.3, 0.2)
    _, ev = run_tool_harness(h, sc.tl, sc.user, Dispatcher(ToolAgent()), hear=hear)
    (call,) = of(ev, "agent_call")
    (res,) = of(ev, "agent_result")
    assert call["request"] == "what is seventy seven times thirty one"
    assert (res["status"], res["text"]) == ("ok", "two thousand three hundred eighty seven")
    want = min(turn.t_off + 0.1, len(sc.user) / SR) - max(0.0, turn.t_on - 0.3)
    assert stretches == [pytest.approx(want, abs=2 / SR)]
    _, ev = run_tool_harness(h, sc.tl, sc.user, Dispatcher(ToolAgent()), hear=lambda a: " ")
    (res,) = of(ev, "agent_result")
    assert res["status"] == "failed" and res["text"] == "i couldn't get that"


def test_a_request_that_needs_no_tool_calls_none(delegate_data):
    hold = [s for s in pick(delegate_data, 3) if not s.tl.act]
    for sc in hold:
        _, ev = run_tool_harness(Harness(0.3, 0.2), sc.tl, sc.user, Dispatcher(ToolAgent()))
        assert not of(ev, "delegation") and not of(ev, "agent_call")


def test_bench_runs_the_agent_systems_on_t7(delegate_data, tmp_path):
    torch.manual_seed(0)
    InteractionModel(preset("tiny")).save_pretrained(tmp_path / "ckpt")
    r = subprocess.run(
        [sys.executable, "-m", "microturn.cli", "bench", "--data", delegate_data,
         "--dev", delegate_data, "--families", "delegate", "--per-condition", "2",
         "--threads", "1", "--checkpoint", str(tmp_path / "ckpt"), "--systems",
         "model+agent", "vad+tool=vad+tool:0.3,0.2", "filler=vad+tool+filler:0.3,0.2",
         "ears=vad+tool+hearing:0.3,0.2",
         "--out", str(tmp_path / "report"), "--work", str(tmp_path / "work")],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert set(summary["balanced_timing"]) == {"model+agent", "vad+tool", "filler", "ears"}
    d = summary["delegation"]
    assert {k: v["n"] for k, v in d.items()} == {
        "model+agent": 2, "vad+tool": 2, "filler": 2, "ears": 2}  # fmt: skip
    assert d["vad+tool"]["delegated"] == 2 and d["vad+tool"]["real"]
    assert d["ears"]["delegated"] == 2 and d["ears"]["real"]
    report = (tmp_path / "report" / "report.md").read_text()
    assert "## T7: the delegated result said after it existed" in report
