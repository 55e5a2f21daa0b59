"""One delegation in flight, and the interface every agent implements.

An agent's `run(job)` works on `job.context` (the context package) off the tick, in a worker
thread of the dispatcher. It may stream partial results with `job.say(text)`, schedule
results for later with `job.later(delay_s, text)` (a timer), and returns its final text (or
None when it has said everything). It should return soon after `job.cancelled` is set; an
exception is a failed job. All methods are thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from microturn.agent.context import ContextPackage

FAILURE_TEXT = "i couldn't get that"  # said for a failed, timed-out or cancelled job
STATUSES = ("partial", "ok", "later", "failed", "timeout", "cancelled")


@dataclass(frozen=True)
class Result:
    """Text for a session's side-text input: `status` one of STATUSES; `due` the session
    time it is due at (results of `later`), None for "as soon as it arrives"."""

    session: str
    job: str
    text: str
    status: str
    error: str = ""
    due: float | None = None
    asked: float = 0.0  # the delegation's time (a result is not heard before it)
    request: str = ""  # the words the agent acted on


class Job:
    def __init__(
        self,
        id: str,
        session: str,
        context: ContextPackage,
        put: Callable[[Result], None],
        clock: Callable[[], float] = time.monotonic,
    ):
        self.id, self.session, self.context = id, session, context
        self.cancelled = threading.Event()  # set on cancel, timeout, or a closed session
        self.started = clock()
        self.status = "running"  # -> ok | failed | timeout | cancelled, exactly once
        self.said = 0  # results handed out so far (partial and later)
        self._put = put
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.status == "running"

    def say(self, text: str) -> None:
        """A partial result, said as soon as it arrives (dropped once the job has ended)."""
        with self._lock:
            if self.running and text.strip():
                self.said += 1
                self._put(self._result(text.strip(), "partial"))

    def later(self, delay_s: float, text: str) -> None:
        """A result due `delay_s` seconds after the delegation, on the session's clock."""
        with self._lock:
            if self.running:
                self.said += 1
                self._put(self._result(text, "later", due=self.context.t + delay_s))

    def finish(self, status: str, text: str = "", error: str = "") -> bool:
        """End the job (first call wins) and hand out its last result: `text` when ok, the
        failure result otherwise. False when it had already ended."""
        with self._lock:
            if not self.running:
                return False
            self.status = status
            if status != "ok":
                self.cancelled.set()
            said = text.strip() if status == "ok" else FAILURE_TEXT
            if said:
                self._put(self._result(said, status, error))
            return True

    def _result(self, text: str, status: str, error: str = "", due: float | None = None) -> Result:
        """A result of this job, stamped with its delegation's time and request."""
        c = self.context
        return Result(self.session, self.id, text, status, error, due, c.t, c.request)


class Agent(Protocol):
    name: str

    def run(self, job: Job) -> str | None: ...
