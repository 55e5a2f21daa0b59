"""The dispatcher: agents run off the tick, their results handed to the tick that polls.

`submit()` starts a job in a thread of its own and returns at once; `poll(session, now)`
never blocks: it hands out the session's results that have arrived (and timer results due by
`now`, the session's clock), and ends jobs past their timeout with a failure result. Any
number of jobs may be in flight per session (up to `max_in_flight` in all); `cancel()` (the
user's "never mind") ends a session's jobs and pending timers with a failure result,
`close()` (a closed session) ends them silently. A job that raises, times out or is cancelled
becomes `FAILURE_TEXT` plus an error on the `microturn.agent` logger; a thread that ignores
its cancel flag keeps running, but nothing it says is used.

A tick loop (the offline runner, a server's asyncio loop) calls `poll` once per session per
tick; all methods are thread-safe. A loop on a simulated clock (the benchmark) may `settle`
first: wait, for at most a bounded wall time, until no job is running, so that what a fast
agent answers lands at the same tick on every run. Job ids count per session
(`SESSION-0`, `SESSION-1`, ...), so they do not depend on the other sessions.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable

from microturn.agent.context import ContextPackage
from microturn.agent.job import Agent, Job, Result

log = logging.getLogger("microturn.agent")


class Dispatcher:
    def __init__(
        self,
        agent: Agent,
        timeout_s: float = 30.0,
        max_in_flight: int = 32,
        clock: Callable[[], float] = time.monotonic,
    ):
        if timeout_s <= 0 or max_in_flight < 1:
            raise ValueError(f"bad dispatcher settings: timeout {timeout_s}, max {max_in_flight}")
        self.agent, self.timeout_s, self.max_in_flight = agent, timeout_s, max_in_flight
        self.clock = clock
        self._ids: dict[str, itertools.count] = {}  # session -> its job counter
        self._lock = threading.Lock()
        self._ended = threading.Condition(self._lock)  # notified when a job's thread ends
        self._jobs: dict[str, Job] = {}  # running jobs
        self._inbox: queue.SimpleQueue[Result] = queue.SimpleQueue()  # from any thread
        self._waiting: dict[str, list[Result]] = {}  # session -> results not yet handed out
        self._hand = threading.RLock()  # guards _waiting (poll, cancel, close)

    def submit(self, session: str, context: ContextPackage) -> Job:
        """Start a job for `context`; returns at once (the work runs in its own thread)."""
        with self._lock:
            n = next(self._ids.setdefault(session, itertools.count()))
        job = Job(f"{session}-{n}", session, context, self._inbox.put, self.clock)
        with self._lock:  # threads still alive count, ended or not: they hold resources
            full = len(self._jobs) >= self.max_in_flight
            if not full:
                self._jobs[job.id] = job
        if full:
            log.error("job %s refused: %d jobs in flight", job.id, self.max_in_flight)
            job.finish("failed", error=f"too many jobs in flight ({self.max_in_flight})")
            return job
        threading.Thread(target=self._run, args=(job,), name=f"agent-{job.id}", daemon=True).start()
        return job

    def _run(self, job: Job) -> None:
        try:
            text = self.agent.run(job)
        except Exception as e:  # any failure of an agent is a failure result, never a crash
            if job.finish("failed", error=f"{type(e).__name__}: {e}"):
                log.error("job %s failed: %s: %s", job.id, type(e).__name__, e)
        else:
            if (text or "").strip() or job.said:
                job.finish("ok", text or "")
            elif job.finish("failed", error="the agent gave no result"):
                log.error("job %s gave no result", job.id)
        finally:
            with self._ended:
                self._jobs.pop(job.id, None)
                self._ended.notify_all()

    def settle(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` of wall time until no job is running (a cancelled thread
        that ignores its flag is not waited for); True when none is. Never needed for
        correctness: a loop on a simulated clock calls it so that results of agents faster
        than `timeout_s` arrive at a tick that does not depend on the machine's load."""
        with self._ended:
            return self._ended.wait_for(
                lambda: not any(j.running for j in self._jobs.values()), timeout_s
            )

    def poll(self, session: str, now: float) -> list[Result]:
        """The session's results to weave in now, in arrival order (never blocks)."""
        self._expire(session)
        with self._hand:
            self._drain()
            mine = self._waiting.get(session, [])
            out = [r for r in mine if r.due is None or r.due <= now]
            if out:
                self._waiting[session] = [r for r in mine if r not in out]
            return out

    def _drain(self) -> None:
        """Results that arrived (from any thread) -> their sessions' waiting lists."""
        with self._hand:
            while True:
                try:
                    r = self._inbox.get_nowait()
                except queue.Empty:
                    return
                self._waiting.setdefault(r.session, []).append(r)

    def _expire(self, session: str) -> None:
        now = self.clock()
        with self._lock:
            late = [j for j in self._jobs.values()
                    if j.session == session and now - j.started > self.timeout_s]  # fmt: skip
        for j in late:
            if j.finish("timeout", error=f"no result within {self.timeout_s:g} s"):
                log.error("job %s timed out after %g s", j.id, self.timeout_s)

    def cancel(self, session: str, reason: str = "cancelled by the user") -> list[str]:
        """End the session's running jobs, each with a failure result, and drop its pending
        timers (a "cancelled" result without words); returns the ids of the jobs ended."""
        ended = [j.id for j in self._running(session) if j.finish("cancelled", error=reason)]
        with self._hand:
            self._drain()  # collect what arrived, then drop the timers
            waiting = self._waiting.get(session, [])
            self._waiting[session] = [r for r in waiting if r.due is None]
            for job in dict.fromkeys(r.job for r in waiting if r.due is not None):
                if job not in ended:
                    ended.append(job)
                    self._waiting[session].append(Result(session, job, "", "cancelled", reason))
        if ended:
            log.warning("session %s: cancelled %s (%s)", session, ended, reason)
        return ended

    def close(self, session: str) -> None:
        """A closed session: its jobs end silently and its pending results are dropped."""
        for j in self._running(session):
            j.finish("cancelled", error="session closed")
        with self._hand:
            self._drain()
            self._waiting.pop(session, None)

    def in_flight(self, session: str | None = None) -> int:
        """Running jobs (of one session, or all)."""
        return len(self._running(session))

    def _running(self, session: str | None) -> list[Job]:
        with self._lock:
            return [j for j in self._jobs.values() if j.running and session in (None, j.session)]

    def shutdown(self) -> None:
        """Cancel every running job (their threads are daemons: they die with the process)."""
        for j in self._running(None):
            j.finish("cancelled", error="dispatcher shut down")
