"""The dispatcher: jobs off the tick in threads of their own, several in flight, partial and
later (timer) results, cancel and close, timeouts and crashes as failure results with a logged
error, and a poll that never blocks."""

import logging
import threading
import time

from microturn.agent.context import build
from microturn.agent.dispatcher import Dispatcher
from microturn.agent.job import FAILURE_TEXT
from microturn.agent.tool_agent import ToolAgent
from microturn.runtime.events import UserText


def ctx(words: str, t: float = 1.0, session: str = "s"):
    ev = [UserText(0.1 * i, " " + w) for i, w in enumerate(words.split())]
    return build(session, ev, t)


def wait_for(d, session, now, n=1, within=5.0):
    out, end = [], time.monotonic() + within
    while len(out) < n and time.monotonic() < end:
        out += d.poll(session, now)
        time.sleep(0.005)
    return out


class Gate:
    """An agent that streams two parts, then waits on a gate (or its cancel flag)."""

    name = "gate"

    def __init__(self):
        self.gate = threading.Event()

    def run(self, job):
        job.say("first part.")
        job.say("second part.")
        while not (self.gate.wait(0.01) or job.cancelled.is_set()):
            pass
        return "the end"


def test_several_jobs_in_flight_stream_then_finish():
    agent = Gate()
    d = Dispatcher(agent, timeout_s=10)
    jobs = [d.submit("s", ctx("hello")) for _ in range(3)]
    got = wait_for(d, "s", 2.0, n=6)
    assert [r.status for r in got] == ["partial"] * 6 and d.in_flight("s") == 3
    agent.gate.set()
    got = wait_for(d, "s", 2.0, n=3)
    assert sorted(r.job for r in got) == sorted(j.id for j in jobs)
    assert {(r.status, r.text) for r in got} == {("ok", "the end")}
    assert d.in_flight() == 0


def test_poll_never_blocks_on_a_busy_agent():
    agent = Gate()
    d = Dispatcher(agent, timeout_s=10)
    d.submit("s", ctx("x"))
    t = time.perf_counter()
    for _ in range(100):
        d.poll("other", 0.0)
    assert time.perf_counter() - t < 0.5  # 100 polls while a job runs: no waiting on it
    agent.gate.set()


def test_timer_results_come_due_on_the_session_clock():
    d = Dispatcher(ToolAgent())
    job = d.submit("s", ctx("tell me in ten seconds", t=3.0))
    now = wait_for(d, "s", 3.2)
    assert [(r.status, r.text) for r in now] == [("ok", "timer set for ten seconds")]
    assert d.poll("s", 12.9) == []  # due at 3.0 + 10 s
    (r,) = d.poll("s", 13.0)
    assert (r.job, r.status, r.text, r.due) == (
        job.id,
        "later",
        "your timer for ten seconds is done",
        13.0,
    )


def test_never_mind_cancels_running_jobs_and_pending_timers(caplog):
    agent = Gate()
    d = Dispatcher(ToolAgent())
    d.submit("s", ctx("set a timer for five minutes"))
    wait_for(d, "s", 1.0)
    gd = Dispatcher(agent)
    g = gd.submit("s", ctx("anything"))
    wait_for(gd, "s", 1.0, n=2)
    with caplog.at_level(logging.WARNING, "microturn.agent"):
        assert len(d.cancel("s")) == 1 and gd.cancel("s") == [g.id]
    assert [r.status for r in d.poll("s", 1e9)] == ["cancelled"]  # the timer: no words
    (r,) = wait_for(gd, "s", 1.0)
    assert (r.status, r.text) == ("cancelled", FAILURE_TEXT) and g.cancelled.is_set()
    assert "cancelled" in caplog.text


def test_a_closed_session_ends_its_jobs_silently():
    agent = Gate()
    d = Dispatcher(agent)
    d.submit("a", ctx("x"))
    b = d.submit("b", ctx("x"))
    wait_for(d, "a", 1.0, n=2)
    d.close("a")
    assert d.in_flight("a") == 0 and d.poll("a", 1.0) == [] and d.in_flight("b") == 1
    agent.gate.set()
    assert [r.job for r in wait_for(d, "b", 1.0, n=3) if r.status == "ok"] == [b.id]


class Crash:
    name = "crash"

    def run(self, job):
        raise RuntimeError("the tool fell over")


class Hang:
    name = "hang"

    def run(self, job):
        time.sleep(3)  # ignores its cancel flag
        return "too late"


def test_crash_and_timeout_are_failure_results_with_a_logged_error(caplog):
    with caplog.at_level(logging.ERROR, "microturn.agent"):
        d = Dispatcher(Crash())
        d.submit("s", ctx("x"))
        (r,) = wait_for(d, "s", 1.0)
        assert (r.status, r.text) == ("failed", FAILURE_TEXT) and "fell over" in r.error
        h = Dispatcher(Hang(), timeout_s=0.2)
        h.submit("s", ctx("x"))
        (r,) = wait_for(h, "s", 1.0)
        assert (r.status, r.text) == ("timeout", FAILURE_TEXT)
    assert "fell over" in caplog.text and "timed out" in caplog.text


def test_too_many_in_flight_is_a_failure_not_a_wait():
    agent = Gate()
    d = Dispatcher(agent, max_in_flight=2)
    for _ in range(3):
        d.submit("s", ctx("x"))
    got = wait_for(d, "s", 1.0, n=5)
    assert [r.status for r in got].count("failed") == 1
    agent.gate.set()
