"""`microturn serve`: an OpenAI-Realtime-compatible WebSocket server over one engine.

    microturn serve [--model checkpoints/small] [--host 127.0.0.1] [--port 8765]
                    [--max-sessions 16] [--token T] [--allow-origin URL ...]

One asyncio loop (the `websockets` library, the one the `openai` SDK's realtime client uses)
owns one `Engine` behind the session driver and one tick loop: every 200 ms it gives each
connected session its next chunk (silence, counted as late, when its audio has not arrived),
steps all of them in one batched engine step (in a worker thread, so the loop keeps reading
sockets meanwhile) and queues each session's events for its client. Sessions join and leave
between ticks. `/v1/realtime` speaks the subset of the Realtime GA protocol in
docs/realtime.md; `/` serves the browser page; `/healthz` the server's counters as JSON.

Safety: loopback by default; on any other address `--token` is required (as `Authorization:
Bearer T`, or the browsers' subprotocol `openai-insecure-api-key.T`); browsers' `Origin` must
be the server's own or one allowed; frames and input rate are bounded (`Limits`).
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

from microturn.serve import wire
from microturn.serve.conversation import Conversation, Limits, dumps
from microturn.serve.turns import TurnConfig
from microturn.serve.wire import ServeError

STATIC = Path(__file__).parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8765  # 0: any free port (`Server.port` after start)
    max_sessions: int = 16
    token: str | None = None
    origins: list[str] = field(default_factory=list)  # besides the server's own
    grace_s: float = 30.0  # a dropped session waits this long for its client
    limits: Limits = field(default_factory=Limits)
    turns: TurnConfig = field(default_factory=TurnConfig)
    model_name: str = "microturn"
    threads: int = 0  # torch threads on the tick thread (0: torch's default)
    seed: int = 0  # every session's seed: the same input gives the same output
    # every session's text through the lexicon (runtime/words.py) and its phones laid out from
    # its words (runtime/pronunciation.py); None: the runtime's default (`Sampling`, both on)
    lexicon: bool | None = None
    pronounce: bool | None = None
    # whether to speak (runtime/session.py: Sampling; 0: drawn); None: the runtime's default
    speak_threshold: float | None = None
    reply_threshold: float | None = None
    delegate_threshold: float | None = None
    result_threshold: float | None = None
    vocoder: str | None = None  # `voice.learned.load_vocoder`'s: None, the shipped one

    def __post_init__(self) -> None:
        if not is_loopback(self.host) and not self.token:
            raise ServeError(f"--host {self.host} is not loopback: give --token")
        if self.max_sessions < 1:
            raise ServeError("--max-sessions must be at least 1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def dropped(ws) -> bool:
    """Did the connection end as a network loss would (no close frame from the client, and
    none from us but the slow-client one)? Only such a session waits for a resume; a client
    that closed, or that the server closed on for a protocol error, has left."""
    sent = ws.protocol.close_sent
    return ws.protocol.close_rcvd is None and (sent is None or sent.code == 1008)


class Server:
    def __init__(self, model, cfg: ServerConfig, agent=None):
        """model: an `InteractionModel`, or a checkpoint directory (None: the default one),
        loaded on the tick thread. agent: an `agent.dispatcher.Dispatcher` answering every
        session's delegations (its calls and results reach the client as `microturn.card`
        events), or None."""
        self.cfg = cfg
        self.agent = agent
        self.links: dict[str, object] = {}  # conversation id -> its AgentLink
        # Every torch call of the server runs on this one thread (the model's load, the engine,
        # sessions opening and closing, the ticks): torch's OpenMP keeps a team of threads per
        # calling thread, and two teams on 2 cores fight. Measured here: a 16-slot tick 177 ms
        # when the main thread had loaded the model, 83 ms when one thread does everything.
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="tick")
        from microturn.runtime.session import Sampling

        self.sampling = Sampling.flagged(cfg)
        self.driver = self.pool.submit(_driver, model, cfg, self.sampling).result()
        self.engine = self.driver.engine
        self.grid, self.mel_cfg = self.engine.grid, self.engine.cfg.mel
        self.convs: dict[str, Conversation] = {}
        self.tick_ms: list[float] = []  # every tick's step time (bounded below)
        self.counts = {"ticks": 0, "misses": 0, "connections": 0, "rejected": 0}
        self.port = cfg.port
        self._stop = asyncio.Event()

    # --- lifecycle --------------------------------------------------------------------------
    async def serve(self, ready: asyncio.Event | None = None) -> None:
        """Run until `stop()`; `ready` is set once the socket listens (`self.port` known)."""
        from websockets.asyncio.server import serve

        lim = self.cfg.limits
        async with serve(
            self._connection,
            self.cfg.host,
            self.cfg.port,
            process_request=self._http,
            select_subprotocol=lambda _c, offered: "realtime" if "realtime" in offered else None,
            max_size=lim.message_bytes,
            max_queue=64,
            write_limit=256 << 10,
            compression=None,
        ) as ws_server:
            self.port = ws_server.sockets[0].getsockname()[1]
            if ready is not None:
                ready.set()
            ticker = asyncio.create_task(self._tick_loop())
            await self._stop.wait()
            ticker.cancel()
        self.pool.shutdown(wait=True)

    def stop(self) -> None:
        self._stop.set()

    # --- HTTP: the page, auth, origin ---------------------------------------------------------
    def _http(self, conn, request):
        url = urlsplit(request.path)
        if url.path in ("/", "/index.html") or url.path.startswith("/static/"):
            return self._static(
                conn, "index.html" if url.path in ("/", "/index.html") else url.path[8:]
            )
        if url.path == "/healthz":  # ?reset=1 starts a new measuring window after this one
            body = json.dumps(self.health()).encode()
            if "reset=1" in url.query:
                self.tick_ms.clear()
                self.counts.update(ticks=0, misses=0)
            return self._respond(conn, 200, body, "application/json")
        if url.path != "/v1/realtime":
            return conn.respond(404, "not found\n")
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self._origins(request):
            self.counts["rejected"] += 1
            return conn.respond(403, "origin not allowed\n")
        if self.cfg.token and not self._authorized(request):
            self.counts["rejected"] += 1
            return conn.respond(401, "missing or wrong token\n")
        return None

    def _origins(self, request) -> set[str]:
        host = request.headers.get("Host", "")
        return {f"http://{host}", f"https://{host}", *self.cfg.origins}

    def _authorized(self, request) -> bool:
        want = self.cfg.token.encode()
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and hmac.compare_digest(auth[7:].strip().encode(), want):
            return True
        protos = request.headers.get("Sec-WebSocket-Protocol", "")
        for p in (p.strip() for p in protos.split(",")):
            if p.startswith("openai-insecure-api-key."):
                if hmac.compare_digest(p[len("openai-insecure-api-key.") :].encode(), want):
                    return True
        return False

    def _static(self, conn, name: str):
        path = (STATIC / name).resolve()
        if STATIC.resolve() not in path.parents or not path.is_file():
            return conn.respond(404, "not found\n")
        return self._respond(conn, 200, path.read_bytes(), TYPES.get(path.suffix, "text/plain"))

    @staticmethod
    def _respond(conn, status: int, body: bytes, ctype: str):
        from websockets.datastructures import Headers
        from websockets.http11 import Response

        h = Headers([("Content-Type", ctype), ("Content-Length", str(len(body)))])
        h["Cache-Control"] = "no-store"
        h["Content-Security-Policy"] = "default-src 'self'; connect-src 'self' ws: wss:"
        return Response(status, "OK" if status == 200 else "Error", h, body)

    # --- one WebSocket ------------------------------------------------------------------------
    async def _connection(self, ws) -> None:
        self.counts["connections"] += 1
        query = parse_qs(urlsplit(ws.request.path).query)
        resume = (query.get("session_id") or [""])[0]
        conv, hello = self._admit(resume)
        if conv is None:
            await ws.send(dumps(hello, 0))
            await ws.close(1013, "server full")
            return
        old = conv.ws
        conv.attach(ws)
        if old is not None:  # a resume while the old connection still seems up: it yields
            asyncio.create_task(old.close(4000, "resumed on another connection"))
        for e in hello:
            conv.queue.put_nowait(e)
        writer = asyncio.create_task(self._writer(ws, conv))
        try:
            async for frame in ws:
                conv.send(conv.handle(frame))
        except Exception:  # closed without a close handshake: a drop
            pass
        finally:
            writer.cancel()
            if conv.ws is ws:
                conv.detach(clean=not dropped(ws))

    def _admit(self, resume: str):
        """(conversation, events to greet it with), or (None, an error) when none is free."""
        if resume:
            conv = self.convs.get(resume)
            if conv is not None and not conv.closing:
                gap = time.monotonic() - (conv.detached_at or time.monotonic())
                return conv, conv.resumed(gap)
            msg = f"no session {resume[:40]!r} waiting to resume; a new session starts"
            greet = [wire.error("session_not_found", msg)]
        else:
            greet = []
        if self.held() >= self.cfg.max_sessions:
            self.counts["rejected"] += 1
            full = f"all {self.cfg.max_sessions} sessions are in use; try again later"
            return None, wire.error("session_limit", full)
        sid = "sess_" + secrets.token_urlsafe(12)
        conv = Conversation(
            sid, self.cfg.model_name, self.grid, self.mel_cfg, self.cfg.limits, self.cfg.turns
        )
        self.convs[sid] = conv
        return conv, [conv.created(), *greet]

    async def _writer(self, ws, conv: Conversation) -> None:
        n = 0
        q = conv.queue
        while True:
            e = await q.get()
            if e is None:  # the conversation cut off a client too slow to read
                await ws.close(1008, "too slow: send queue overflow")
                return
            n += 1
            await ws.send(dumps(e, n))
            if conv.queue is not q:  # replaced after an overflow: drain the new one
                q = conv.queue

    # --- the tick loop ------------------------------------------------------------------------
    async def _tick_loop(self) -> None:
        """A tick every `chunk_s`: each is due to finish one period after its scheduled start
        (a miss if not); a late one makes the next start at once, never a burst to catch up."""
        loop = asyncio.get_running_loop()
        period = self.grid.chunk_s
        start = time.monotonic()
        while True:
            fed = self._between_ticks()
            t0 = time.perf_counter()
            ticks = await loop.run_in_executor(self.pool, self.driver.tick) if fed else []
            ms = (time.perf_counter() - t0) * 1e3
            for link in self.links.values():  # results in flight enter the side text
                link.after_tick()
            for t in ticks:
                conv, late = fed[t.session.slot]
                stats = {"tick_ms": round(ms, 1), "sessions": len(fed), **conv.stats()}
                conv.send(conv.turns.feed(t, late, stats))
            end, deadline = time.monotonic(), start + period
            if fed:
                self.tick_ms.append(ms)
                del self.tick_ms[:-20000]
                self.counts["ticks"] += 1
                self.counts["misses"] += int(end > deadline)
            start = max(deadline, end)
            await asyncio.sleep(max(0.0, start - time.monotonic()))

    def _between_ticks(self) -> dict:
        """Joins, leaves and this tick's chunks: {slot: (conversation, late)} of those fed."""
        now = time.monotonic()
        for sid, conv in list(self.convs.items()):
            expired = conv.detached_at is not None and now - conv.detached_at > self.cfg.grace_s
            if conv.closing or expired:
                if conv.session is not None:
                    self.pool.submit(self.driver.close, conv.session).result()
                link = self.links.pop(conv.id, None)
                if link is not None:
                    link.close()
                del self.convs[sid]
        fed = {}
        for conv in self.convs.values():
            if conv.session is None:
                conv.session = self.pool.submit(
                    self.driver.open, id=conv.id, seed=self.cfg.seed, sampling=self.sampling
                ).result()
                if self.agent is not None:
                    from microturn.agent.link import AgentLink

                    self.links[conv.id] = AgentLink(self.agent, conv.session, self.engine.tok)
            got = conv.next_chunk(self.engine.tok)
            if got is None:
                continue
            x, late = got
            frame, conv.frame = conv.frame, None
            self.driver.push(conv.session, x, frame)
            fed[conv.session.slot] = (conv, late)
        return fed

    def held(self) -> int:
        """Sessions holding a slot: connected, or dropped and waiting; one whose client is
        closing no longer counts (its slot is freed at the next tick)."""
        from websockets.protocol import State

        def leaving(c: Conversation) -> bool:
            return c.closing or (c.ws is not None and c.ws.state is not State.OPEN)

        return sum(not leaving(c) for c in self.convs.values())

    def health(self) -> dict:
        t = np.array(self.tick_ms[-3000:] or [0.0])
        return {
            "sessions": self.held(),
            "attached": sum(c.ws is not None for c in self.convs.values()),
            "engine_sessions": len(self.engine.sessions),
            "tick_p50_ms": round(float(np.median(t)), 2),
            "tick_p99_ms": round(float(np.quantile(t, 0.99)), 2),
            "late_total": sum(c.counts["late"] for c in self.convs.values()),
            **self.counts,
        }


def _driver(model, cfg: ServerConfig, sampling):
    """The server's driver, built on the tick thread (see `Server.__init__`)."""
    import torch

    from microturn.runtime.driver import Driver
    from microturn.runtime.engine import Engine
    from microturn.runtime.runner import load_model

    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if not isinstance(model, torch.nn.Module):
        model = load_model(model)
    from microturn.voice.learned import load_vocoder

    engine = Engine(model, slots=cfg.max_sessions, vocoder=load_vocoder(model.cfg, cfg.vocoder))
    engine.prepare(sampling)  # the sessions' tables now, not at a first session in the loop
    return Driver(engine)


class Background:
    """A server on its own thread and event loop (tests, benchmarks, `talk` against a local
    model): `with Background(model, cfg) as server:` ... `server.port`."""

    def __init__(self, model, cfg: ServerConfig, agent=None):
        self.server = Server(model, cfg, agent)
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> Server:
        import threading

        ready = threading.Event()

        def run() -> None:
            async def go() -> None:
                self._loop = asyncio.get_running_loop()
                up = asyncio.Event()
                task = asyncio.create_task(self.server.serve(up))
                await up.wait()
                ready.set()
                await task

            asyncio.run(go())

        self._thread = threading.Thread(target=run, name="microturn-serve", daemon=True)
        self._thread.start()
        if not ready.wait(60):
            raise RuntimeError("the server did not start within 60 s")
        return self.server

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self.server.stop)
        self._thread.join(30)


def main(args) -> None:
    """`microturn serve`: load the model (on the tick thread), serve until interrupted."""
    from microturn.voice.learned import DEFAULT_VOCODER, GRIFFIN_LIM, vocoder_info

    if args.vocoder != GRIFFIN_LIM:  # a bad path is a one-line error now, not a failed tick;
        vocoder_info(args.vocoder or DEFAULT_VOCODER)  # checked without torch (see there)
    cfg = ServerConfig(
        host=args.host,
        port=args.port,
        max_sessions=args.max_sessions,
        token=args.token,
        origins=list(args.allow_origin or []),
        grace_s=args.grace_s,
        limits=Limits(send_queue=args.send_queue, prebuffer_s=args.prebuffer_ms / 1000),
        model_name=Path(args.model).name if args.model else "microturn-small",
        threads=args.threads,
        lexicon=args.lexicon,
        pronounce=args.pronounce,
        speak_threshold=args.speak_threshold,
        reply_threshold=args.reply_threshold,
        delegate_threshold=args.delegate_threshold,
        result_threshold=args.result_threshold,
        vocoder=args.vocoder,
    )
    agent = None
    if args.agent:
        from microturn.agent.registry import dispatcher

        agent = dispatcher(
            args.agent, args.agent_url, args.agent_model, args.agent_timeout,
            getattr(args, "agent_hearing", "transcript"),
        )  # fmt: skip
    server = Server(args.model, cfg, agent)
    ready = asyncio.Event()

    async def run() -> None:
        task = asyncio.create_task(server.serve(ready))
        await ready.wait()
        print(
            f"microturn serve: http://{cfg.host}:{server.port}/ (page), "
            f"ws://{cfg.host}:{server.port}/v1/realtime, {cfg.max_sessions} sessions",
            flush=True,
        )
        await task

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
