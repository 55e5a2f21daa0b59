"""The model as a benchmark system: every scenario a session of one streaming engine, many
batched, each seeded from its id; with `agent`, each session linked to a real background
agent (`model+agent`)."""

from __future__ import annotations

import zlib


def run_model(
    checkpoint: str | None,
    scen: list,
    slots: int = 32,
    agent: str | None = None,
    hearing: str = "transcript",
    speak: dict | None = None,
    sampling=None,
    vocoder: str | None = None,
) -> list[tuple]:
    """All scenarios through one engine, `slots` at a time: each a session of its own, seeded
    from its id (so a scenario's output does not depend on what it was batched with). 32 slots
    measured fastest here: 28.8x real time against 27.1x at 16 and 23.9x at 48 (2 cores).
    `agent` ("tools"): every session linked to that background agent (`model+agent`), which
    gets the request as `hearing` says (`agent.registry`). `speak` (a dict): each scenario's
    P(speak) per output slot is put there under its id (`Session.speak`). `sampling`: every
    session's (None: the runtime's defaults, as the benchmark runs it). `vocoder`: what voices
    them (`voice.learned.load_vocoder`'s path; None: the runtime's default)."""
    from microturn.runtime.engine import Engine
    from microturn.runtime.runner import load_model
    from microturn.voice.learned import load_vocoder

    dispatcher = None
    if agent is not None:
        from microturn.agent.registry import dispatcher as make
        from microturn.agent.tool_agent import warm

        dispatcher = make(agent, hearing=hearing)
        if agent == "tools":
            warm()
        if hearing == "whisper":
            from microturn.agent.hearing import warm as warm_ears

            warm_ears()
    model = load_model(checkpoint)
    engine = Engine(model, slots=slots, vocoder=load_vocoder(model.cfg, vocoder))
    return run_sessions(engine, scen, dispatcher, speak=speak, sampling=sampling)


def run_sessions(
    engine, scen: list, dispatcher=None, scripts=None, speak=None, sampling=None
) -> list[tuple]:
    """`run_model`'s loop over an engine. With a `dispatcher`, each session is linked to it
    through `agent.link.AgentLink` (the link `microturn run --agent` and the server use) and
    hears no scripted tool result: its delegations' real results enter its side text at the
    tick the agent returns them. After each tick the loop waits up to one chunk of wall time
    for jobs in flight (`Dispatcher.settle`), so a tool that answers within that lands at the
    end of the tick it was asked in on every run (a live server, polling before the job
    ends, would weave it in one tick later). `scripts`: scenario id -> `Session.script`
    (teacher-forced output, for tests). `speak`, `sampling`: as in `run_model`."""
    from microturn.agent.link import AgentLink
    from microturn.runtime.driver import Driver, Feed, SideText

    driver, slots = Driver(engine), engine.cache.slots
    todo = list(enumerate(scen))
    live: dict[int, tuple] = {}  # slot -> (index, session, its agent link or None)
    out: list[tuple | None] = [None] * len(scen)
    while todo or live:
        while todo and len(live) < slots:
            i, sc = todo.pop(0)
            text = [SideText(e["t"], e["text"]) for e in sc.feed_text(dispatcher is None)]
            feed, seed = Feed(sc.user, text, sc.video), zlib.crc32(sc.id.encode())
            s = driver.open(feed, sc.id, seed=seed, sampling=sampling)
            s.script = (scripts or {}).get(sc.id)
            if speak is not None:
                s.speak = speak[sc.id] = []
            link = None if dispatcher is None else AgentLink(dispatcher, s, engine.tok)
            live[s.slot] = (i, s, link)
        driver.tick()
        if dispatcher is not None:
            dispatcher.settle(engine.grid.chunk_s)
            for _, _, link in live.values():
                link.after_tick()
        for slot in [k for k, (_, s, _) in live.items() if driver.done(s)]:
            i, s, link = live.pop(slot)
            if link is not None:
                link.close()
            said = driver.close(s)
            out[i] = (said.audio, [e.to_json() for e in said.events])
    return out
