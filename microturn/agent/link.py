"""One session linked to a dispatcher: its delegations go out, results come back in time.

`AgentLink(dispatcher, session, tok)` takes the session's `on_delegate` hook: at a
`<delegate>` token it builds the context package from the session's events and submits it
(an `AgentCall` event). After every tick, `after_tick()` polls the dispatcher without
blocking: each result that has arrived enters the session's side-text input at once (from
the next tick's first slot, or the delegation's own slot if that is later:
`Session.inject_text`) with an `AgentResult` event; the user saying
"never mind" (in the transcript since the last delegation) cancels the session's jobs.
`close()` ends them when the session closes. When the agent hears (`hearing.py`), the
session keeps its last `HEARD_S` of user audio and each package carries the request's stretch.
`drive()` is `runtime.driver.drive` with an agent: the loop `microturn run --agent` uses.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from microturn.agent import context
from microturn.agent.dispatcher import Dispatcher
from microturn.agent.job import Result
from microturn.agent.router import is_cancel
from microturn.runtime.driver import Driver, Feed, Output
from microturn.runtime.engine import Engine
from microturn.runtime.events import AgentCall, AgentResult, UserText
from microturn.runtime.session import Sampling, Session
from microturn.tokenizer import Tokenizer

HEARD_CHARS = 200  # the user's words kept for the "never mind" check
HEARD_S = 15.0  # user audio kept for an agent that hears (3 s over the longest request)


class AgentLink:
    def __init__(self, dispatcher: Dispatcher, session: Session, tok: Tokenizer):
        self.dispatcher, self.session, self.tok = dispatcher, session, tok
        session.on_delegate = self.delegate
        if getattr(dispatcher.agent, "hears", False):
            session.heard = deque(maxlen=round(HEARD_S / session.grid.chunk_s))
        self._scanned = len(session.events)  # events already read for "never mind"
        self._heard = ""  # the user's words since the last delegation

    def delegate(self, s: Session, t: float) -> None:
        """The `on_delegate` hook (called inside the tick): package, submit, log."""
        ctx = context.build(s.id, s.events, t, heard=self._kept_audio(s))
        job = self.dispatcher.submit(s.id, ctx)
        s.events.append(AgentCall(t, job.id, self.dispatcher.agent.name, ctx.request))
        self._heard = ""

    def _kept_audio(self, s: Session) -> tuple[float, np.ndarray] | None:
        """The user audio the session kept: (its start time, samples), through the chunk of
        the tick running now."""
        if not s.heard:
            return None
        t0 = (s.stream.chunk + 1 - len(s.heard)) * s.grid.chunk_s
        return round(t0, 3), np.concatenate(list(s.heard))

    def after_tick(self) -> list[Result]:
        """Weave in what has arrived (never blocks); returns the results handed in."""
        s = self.session
        new = s.events[self._scanned :]
        self._scanned = len(s.events)
        words = "".join(e.text for e in new if isinstance(e, UserText))
        self._heard = (self._heard + words)[-HEARD_CHARS:]
        if words and is_cancel(self._heard):  # checked only when the user said more
            self._heard = ""
            self.dispatcher.cancel(s.id, "the user said never mind")
        results = self.dispatcher.poll(s.id, s.time)
        for r in results:
            t = round(max(s.time, r.asked), 3)  # not heard before the delegation is said
            if r.text:
                s.inject_text(r.text, self.tok, t=t)
            s.events.append(AgentResult(t, r.job, r.status, r.text, r.error, r.request))
        self._scanned = len(s.events)
        return results

    def close(self) -> None:
        self.dispatcher.close(self.session.id)
        self.session.on_delegate = None
        self.session.heard = None


def drive(
    engine: Engine,
    feed: Feed,
    dispatcher: Dispatcher,
    id: str = "",
    seed: int = 0,
    sampling: Sampling | None = None,
    script: dict | None = None,
) -> Output:
    """One session through its whole feed with an agent answering its delegations."""
    d = Driver(engine)
    s = d.open(feed, id, seed, sampling)
    s.script = script
    link = AgentLink(dispatcher, s, engine.tok)
    while not d.done(s):
        d.tick()
        link.after_tick()
    link.close()
    return d.close(s)
