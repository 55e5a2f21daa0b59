"""A live session: its cache slot, input and output queues, clock and random state.

Everything that changes while a conversation runs lives here (and in its KV-cache row), never
on a module. The engine reads one input chunk per tick from `audio_in` (200 ms of 16 kHz
float32), writes one output chunk to `audio_out`, and appends events (model text, user
transcript, delegations, injected results) with their time on the conversation clock.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np
import torch

from microturn.grid import Grid
from microturn.runtime.events import Event, ToolResult
from microturn.tokenizer import PAD, RESULT, Tokenizer
from microturn.voice.mel import MelAnalyzer
from microturn.voice.vocoder import Vocoder, VocoderState

DITHER_DB = -70.0  # the data engine's dither: digital silence in, the training's silence seen


@dataclass
class Sampling:
    """Per-session sampling: text temperature / top-k, flow-head steps / temperature."""

    temperature: float = 0.8
    top_k: int = 50
    flow_steps: int = 8
    flow_temperature: float = 0.7

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.top_k < 0 or self.flow_steps < 1:
            raise ValueError(f"bad sampling settings: {self}")


@dataclass
class Session:
    id: str
    slot: int
    seed: int
    sampling: Sampling
    grid: Grid
    mel_state: torch.Tensor  # (win - hop,) the input's left context (MelAnalyzer.step)
    vocoder_state: VocoderState  # its output stream (Vocoder.step_many)
    own_dmel: torch.Tensor  # (frames_per_position, n_mels) uint8: what it said in its last slot
    own_token: int = PAD  # its last text token
    chunk: int = 0  # the clock: chunks consumed so far
    audio_in: deque = field(default_factory=deque)  # (3200,) float32 chunks
    side_in: deque = field(default_factory=deque)  # token ids waiting for input text slots
    video_in: deque = field(default_factory=deque)  # (80, 80, 3) uint8 frames, one per chunk
    audio_out: list = field(default_factory=list)  # (3200,) float32 chunks, one per tick
    events: list[Event] = field(default_factory=list)  # on the conversation clock
    on_delegate: object = None  # callable(session, t) when the model emits <delegate>
    gen_text: torch.Generator = field(default_factory=torch.Generator)
    gen_flow: torch.Generator = field(default_factory=torch.Generator)
    gen_dither: np.random.Generator | None = None
    # teacher forcing (tests, the scripted examples): {"tokens": (slots,) ids, "logmel": (frames,
    # n_mels)}; the engine then speaks these instead of sampling
    script: dict | None = None
    # record=True keeps every position's inputs and hidden state (the exactness tests)
    record: bool = False
    trace: list = field(default_factory=list)

    @classmethod
    def open(
        cls,
        id: str,
        slot: int,
        seed: int,
        analyzer: MelAnalyzer,
        vocoder: Vocoder,
        sampling: Sampling | None = None,
    ) -> Session:
        s = cls(
            id,
            slot,
            seed,
            sampling or Sampling(),
            analyzer.grid,
            analyzer.init_state(),
            vocoder.init_state(seed),
            own_dmel=torch.zeros(0, dtype=torch.uint8),
        )
        s.gen_text.manual_seed(seed)
        s.gen_flow.manual_seed(seed + 1)
        s.gen_dither = np.random.default_rng(seed)
        # its own channel at rest, as the data engine renders it: faint dither
        g = analyzer.grid
        n = g.hop * g.cfg.frames_per_position * 4
        rest = 10 ** (DITHER_DB / 20) * torch.from_numpy(
            s.gen_dither.standard_normal(n).astype(np.float32)
        )
        s.own_dmel = analyzer.dmel(rest)[-g.cfg.frames_per_position :]
        return s

    def push_audio(self, chunk: np.ndarray) -> None:
        """Queue one 200 ms chunk of 16 kHz float32 mono user audio."""
        n = self.grid.samples_per_chunk
        if chunk.shape != (n,):
            raise ValueError(f"a chunk is {n} samples of mono audio, got shape {chunk.shape}")
        self.audio_in.append(np.asarray(chunk, np.float32))

    def inject_text(self, text: str, tok: Tokenizer, t: float | None = None) -> None:
        """Side text (a tool result, a typed message) enters the model's input text slots,
        one token per slot: from slot round-down(t / 50 ms) when `t` is given and lies in the
        coming tick or later (as in training), else from the next tick's first slot."""
        g = self.grid
        if t is not None and not self.side_in:
            wait = int(t / g.slot_s + 1e-9)
            self.side_in.extend([PAD] * max(0, wait - self.chunk * g.positions_per_chunk))
        self.side_in.extend([RESULT, *tok.encode(text)])
        self.events.append(ToolResult(round(self.time if t is None else t, 3), text))

    def state(self) -> dict:
        """Everything of the session that a tick changes (with the cache row: a snapshot)."""
        return {
            "own_dmel": self.own_dmel.clone(),
            "own_token": self.own_token,
            "chunk": self.chunk,
            "side_in": list(self.side_in),
            "n_out": len(self.audio_out),
            "n_events": len(self.events),
            "gen_text": self.gen_text.get_state(),
            "gen_flow": self.gen_flow.get_state(),
            "gen_dither": self.gen_dither.bit_generator.state,
            "mel_state": self.mel_state.clone(),
            "vocoder_state": self.vocoder_state.clone(),
        }

    def set_state(self, st: dict) -> None:
        self.own_dmel, self.own_token = st["own_dmel"].clone(), st["own_token"]
        self.chunk = st["chunk"]
        self.side_in = deque(st["side_in"])
        del self.audio_out[st["n_out"] :]
        del self.events[st["n_events"] :]
        self.gen_text.set_state(st["gen_text"])
        self.gen_flow.set_state(st["gen_flow"])
        self.gen_dither.bit_generator.state = st["gen_dither"]
        self.mel_state = st["mel_state"].clone()
        self.vocoder_state = st["vocoder_state"].clone()

    @property
    def time(self) -> float:
        return self.chunk * self.grid.chunk_s

    def next_side_tokens(self, n: int) -> list[int]:
        return [self.side_in.popleft() if self.side_in else PAD for _ in range(n)]
