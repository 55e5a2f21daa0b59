"""Sample -> model sequence: the interleaved, time-aligned micro-turn layout.

Each 200 ms chunk k becomes 8 positions: an input block (the user's side of slots 4k..4k+3)
then an output block (the model's side of the *next* chunk's slots 4k+4..4k+7) — the model
reads 200 ms, then writes the 200 ms that will play next. A slot is 50 ms = 2 dMel frames.

    input  (k, j), slot s = 4k+j      output (k, j), slot t = 4k+4+j
    dmel   user frames of s           model's own frames of t-1 (it hears itself)
    text   side-text token at s       model's text token at t-1 (teacher forcing)
    pending  -                        the newest result's next unsaid piece (data/pending.py)
    phone  -                          model's phones of slot t-1+L (one per dMel frame)
    now    -                          model's phones of slots t..t+L (to the flow head only)
    patch  video frame k, patch j     -
    kind   0                          1
    pos    s                          t            (RoPE positions = time, in slots)
    target transcript token at s      text token at t; mel frames of t (flow head);
                                      phones of slot t+L

The model's text stream leads its audio by `text_lead` slots (it decides the words before it
voices them); the user transcript lags the user's audio by `transcript_lag` slots (it names
a word after hearing it). A word's tokens take consecutive free slots from its anchor. The
phone stream (`voice/phones.py`: the phoneme sounding in each of the model's dMel frames,
held for as long as it lasts) leads the model's audio by L = `phone_lead` slots.

`decide` marks the output positions where the model holds a turn-taking decision: it is
silent, the user has stopped speaking (a pause or an end of turn, up to `decide_s` ago), and
the next slot is either its first word or more silence. Training weights these (see
`TrainConfig.decision_weight`); they are a few per scenario among hundreds of easy slots.
`listen` marks the output positions decided while a user word is under way and the model is
silent: a start there would talk over the user (`TrainConfig.listen_weight` weighs their
`<pad>` targets, which are otherwise down-weighted like all silence).

A long sequence can be cut to a window of `max_chunks` chunks starting at `start_chunk`;
positions keep their absolute times (RoPE is relative, the clock is not reset).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from microturn.data.pending import Pending
from microturn.grid import Grid
from microturn.timeline import Timeline
from microturn.tokenizer import DELEGATE, PAD, RESULT, Tokenizer
from microturn.voice.phones import frame_phones

IGNORE = -100
INPUT, OUTPUT = 0, 1


def chunk_rows(P: int) -> tuple[np.ndarray, np.ndarray]:
    """One chunk's 2P positions, as training lays them out and the runtime steps them:
    kind (2P,) (INPUT x P, then OUTPUT x P) and pos (2P,), the RoPE position of each row
    counted from the chunk's first input slot (input slots 0..P-1, output slots P..2P-1)."""
    return np.repeat(np.array([INPUT, OUTPUT]), P), np.arange(2 * P)


@dataclass
class Layout:
    """One sequence (T = 8 * chunks), numpy arrays ready to batch."""

    dmel: np.ndarray  # (T, 2, 80) uint8
    text: np.ndarray  # (T,) int64 input tokens
    pending: np.ndarray  # (T,) int64 the pending result's next piece (output positions), PAD
    kind: np.ndarray  # (T,) int64
    pos: np.ndarray  # (T,) int64
    text_target: np.ndarray  # (T,) int64, IGNORE at input positions
    phone: np.ndarray  # (T, 2) int64 input phone ids (0 = silence, and at input positions)
    phone_now: np.ndarray  # (T, L+1, 2) int64 phones of the slot an output position voices
    #                        and of the L after it, all chosen by then (flow head)
    phone_target: np.ndarray  # (T, 2) int64, IGNORE at input positions
    transcript_target: np.ndarray  # (T,) int64, IGNORE at output positions
    mel_target: np.ndarray  # (T, 160) float32 log10 mel, rows valid where mel_mask
    mel_mask: np.ndarray  # (T,) bool
    patches: np.ndarray | None  # (T, 3, 40, 40) uint8 (input positions of video chunks)
    patch_mask: np.ndarray  # (T,) bool
    decide: np.ndarray  # (T,) bool, turn-taking decision positions (output positions only)
    listen: np.ndarray  # (T,) bool, output positions decided mid user word, model silent

    def __len__(self) -> int:
        return len(self.kind)


def place(
    events: list[tuple[float, tuple[int, ...]]], n_slots: int, slot_s: float, shift: int
) -> np.ndarray:
    """Token runs at anchor times -> (n_slots,) ids: each run starts at the first free slot
    at or after round-down(anchor / slot_s) + shift; PAD elsewhere."""
    out = np.full(n_slots, PAD, np.int64)
    free = 0
    for t, ids in sorted(events):
        p = max(free, int(t / slot_s + 1e-9) + shift, 0)
        for i in ids:
            if p >= n_slots:
                return out
            out[p] = i
            p += 1
        free = p
    return out


def streams(
    tl: Timeline, tok: Tokenizer, n_slots: int, slot_s: float, text_lead: int, transcript_lag: int
) -> dict[str, np.ndarray]:
    """The three token streams of a timeline, one id per slot."""
    model = [(w.t_on, tok.word(w.text)) for e in tl.on("model") for w in e.words]
    model += [(e.t_on, (DELEGATE,)) for e in tl.on("tool", "delegate")]
    user = [(w.t_on, tok.word(w.text)) for e in tl.on("user") for w in e.words]
    side = [(e.t_on, (RESULT, *tok.encode(e.text))) for e in tl.on("side_text")]
    return {
        "model": place(model, n_slots, slot_s, -text_lead),
        "user": place(user, n_slots, slot_s, transcript_lag),
        "side": place(side, n_slots, slot_s, 0),
    }


def pending_slots(side: np.ndarray, model: np.ndarray, P: int) -> np.ndarray:
    """side (S,) and model (S + P,) token streams -> (C, P): what the output position of each
    chunk's slot reads as the pending result's next piece. As the runtime steps them: a chunk's
    input slots read their side text, then each output slot reads the pending piece and says
    its token."""
    C = len(side) // P
    out = np.full((C, P), PAD, np.int64)
    st = Pending()
    for k in range(C):
        for s in side[k * P : (k + 1) * P]:
            st = st.read(int(s))
        for j in range(P):
            out[k, j] = st.next
            st = st.said(int(model[(k + 1) * P + j]))
    return out


def phone_slots(tl: Timeline, n_slots: int, grid: Grid, lead: int) -> np.ndarray:
    """The model's phone stream, (n_slots, frames_per_position) ids: row t holds the phones
    of slot t + lead (what the output position of slot t predicts)."""
    fpp = grid.cfg.frames_per_position
    words = [w for e in tl.on("model") for w in e.words]
    ph = frame_phones(words, (n_slots + lead) * fpp, grid.cfg.hop_ms / 1000)
    return ph[lead * fpp :].reshape(n_slots, fpp)


def speaking_chunks(tl: Timeline, taus: np.ndarray) -> np.ndarray:
    """Per chunk boundary tau: a user word is under way."""
    user = [(w.t_on, w.t_off) for e in tl.on("user") for w in e.words]
    return np.array([any(on <= x < off for on, off in user) for x in taus], bool)


def decision_chunks(
    tl: Timeline, taus: np.ndarray, decide_s: float, lead_s: float, speaking: np.ndarray
) -> np.ndarray:
    """Per chunk boundary tau: the user's last word ended at most `decide_s` before tau, no
    user word is under way (`speaking`, from `speaking_chunks`), and the model has not spoken
    since (its text stream, which runs `lead_s` ahead of its audio, has not begun a word)."""
    ends = sorted(w.t_off for e in tl.on("user") for w in e.words)
    model = [(w.t_on, w.t_off) for e in tl.on("model") for w in e.words]
    out = np.zeros(len(taus), bool)
    for i, x in enumerate(taus):
        ended = [off for off in ends if off <= x]
        if not ended or speaking[i]:
            continue
        end = max(ended)
        if x - end > decide_s:
            continue
        out[i] = not any(off > end and on < x + lead_s for on, off in model)
    return out


def n_chunks(arrays: dict[str, np.ndarray], grid: Grid) -> int:
    return arrays["user_dmel"].shape[0] // grid.frames_per_chunk


def layout(
    tl: Timeline,
    arrays: dict[str, np.ndarray],
    tok: Tokenizer,
    grid: Grid,
    text_lead: int = 2,
    transcript_lag: int = 6,
    max_chunks: int | None = None,
    start_chunk: int = 0,
    decide_s: float = 2.0,
    phone_lead: int = 2,
) -> Layout:
    full = _layout(tl, arrays, tok, grid, text_lead, transcript_lag, decide_s, phone_lead)
    C = n_chunks(arrays, grid)
    if not 0 <= start_chunk < max(C, 1):
        raise ValueError(f"start_chunk {start_chunk} outside 0..{C - 1}")
    stop = C if max_chunks is None else min(C, start_chunk + max_chunks)
    if start_chunk == 0 and stop == C:
        return full
    P2 = 2 * grid.positions_per_chunk
    cut = slice(start_chunk * P2, stop * P2)
    kw = {k: (v[cut] if isinstance(v, np.ndarray) else v) for k, v in vars(full).items()}
    return Layout(**kw)


def _layout(
    tl: Timeline,
    arrays: dict[str, np.ndarray],
    tok: Tokenizer,
    grid: Grid,
    text_lead: int,
    transcript_lag: int,
    decide_s: float,
    phone_lead: int,
) -> Layout:
    fpp = grid.cfg.frames_per_position
    P = grid.positions_per_chunk
    C = n_chunks(arrays, grid)
    S = C * P  # slots
    slot_s = grid.chunk_s / P
    st = streams(tl, tok, S + P, slot_s, text_lead, transcript_lag)
    ud = arrays["user_dmel"][: S * fpp].reshape(S, fpp, -1)
    md = arrays["model_dmel"][: (S + P) * fpp]
    md = np.concatenate([md, np.zeros(((S + P) * fpp - len(md), md.shape[1]), md.dtype)])
    md = md.reshape(S + P, fpp, -1)
    mm = arrays["model_mel"][: (S + P) * fpp].astype(np.float32)
    n_mel_slots = len(mm) // fpp
    mm = np.concatenate([mm, np.zeros(((S + P) * fpp - len(mm), mm.shape[1]), np.float32)])
    mm = mm.reshape(S + P, -1)

    s = np.arange(S).reshape(C, P)  # input slots per chunk
    t = s + P  # output slots per chunk
    inter = lambda a, b: np.stack([a, b], 1).reshape(-1, *a.shape[2:])  # noqa: E731
    prev = np.maximum(t - 1, 0)
    dmel = inter(ud[s], md[prev])
    text = inter(st["side"][s], st["model"][prev])
    pending = inter(np.full((C, P), PAD), pending_slots(st["side"][:S], st["model"], P))
    kind_row, pos_row = chunk_rows(P)
    kind = np.tile(kind_row, C)
    pos = (P * np.arange(C)[:, None] + pos_row).reshape(-1)
    text_target = inter(np.full((C, P), IGNORE), st["model"][t])
    ph = phone_slots(tl, S + P, grid, phone_lead)
    phone = inter(np.zeros((C, P, fpp), np.int64), ph[prev])
    window = t[..., None] - phone_lead + np.arange(phone_lead + 1)  # slots t..t+L, as rows of ph
    phone_now = inter(np.zeros((C, P, phone_lead + 1, fpp), np.int64), ph[np.maximum(window, 0)])
    phone_target = inter(np.full((C, P, fpp), IGNORE), ph[t])
    transcript_target = inter(st["user"][s], np.full((C, P), IGNORE))
    mel_target = inter(np.zeros((C, P, mm.shape[1]), np.float32), mm[t])
    mel_mask = inter(np.zeros((C, P), bool), t < n_mel_slots)
    text_target = np.where(inter(np.ones((C, P), bool), t < S + P), text_target, IGNORE)
    # decided at the chunk boundary (the model has read input slots up to 4k+3)
    taus = (np.arange(C) + 1) * P * slot_s
    speaking = speaking_chunks(tl, taus)
    undecided = decision_chunks(tl, taus, decide_s, text_lead * slot_s, speaking)
    silent = st["model"][prev] == PAD
    decide = inter(np.zeros((C, P), bool), silent & undecided[:, None])
    listen = inter(np.zeros((C, P), bool), silent & speaking[:, None])
    patches, patch_mask = None, np.zeros(len(kind), bool)
    video = arrays.get("video")
    if video is not None and len(video):
        side, ps = video.shape[1], grid.cfg.patch
        n = side // ps
        fr = np.zeros((C, side, side, 3), np.uint8)
        k = min(C, len(video))
        fr[:k] = video[:k]
        # (C, n, ps, n, ps, 3) -> (C, n*n, 3, ps, ps): row-major patches, one per input slot
        pt = fr.reshape(C, n, ps, n, ps, 3).transpose(0, 1, 3, 5, 2, 4).reshape(C, n * n, 3, ps, ps)
        if n * n != P:
            raise ValueError(f"{n * n} patches per frame but {P} input positions per chunk")
        patches = inter(pt, np.zeros_like(pt))
        lit = fr.reshape(C, -1).max(1) > 0  # frames where the camera is on
        patch_mask = inter(np.repeat(lit[:, None], P, 1), np.zeros((C, P), bool))
    return Layout(
        dmel,
        text.astype(np.int64),
        pending.astype(np.int64),
        kind.astype(np.int64),
        pos.astype(np.int64),
        text_target.astype(np.int64),
        phone,
        phone_now,
        phone_target.astype(np.int64),
        transcript_target.astype(np.int64),
        mel_target,
        mel_mask,
        patches,
        patch_mask,
        decide,
        listen,
    )


@dataclass
class Batch:
    """Padded to the longest sequence; `valid` marks real positions. Tensors, (B, T, ...)."""

    dmel: torch.Tensor
    text: torch.Tensor
    pending: torch.Tensor
    kind: torch.Tensor
    pos: torch.Tensor
    text_target: torch.Tensor
    phone: torch.Tensor
    phone_now: torch.Tensor
    phone_target: torch.Tensor
    transcript_target: torch.Tensor
    mel_target: torch.Tensor
    mel_mask: torch.Tensor
    patches: torch.Tensor | None
    patch_mask: torch.Tensor
    decide: torch.Tensor
    listen: torch.Tensor
    valid: torch.Tensor

    @property
    def n_tokens(self) -> int:
        return int(self.valid.sum())

    def apply(self, fn) -> Batch:
        """A Batch of fn(tensor) for every tensor field (None stays None)."""
        vals = {f.name: getattr(self, f.name) for f in fields(self)}
        return Batch(**{k: None if v is None else fn(v) for k, v in vals.items()})

    def pin_memory(self) -> Batch:
        """Page-locked copies (DataLoader's pin_memory calls this) for async copies to a GPU."""
        return self.apply(torch.Tensor.pin_memory)


def collate(items: list[Layout]) -> Batch:
    T = max(len(x) for x in items)

    def pad(name: str, fill) -> torch.Tensor:
        rows = []
        for x in items:
            a = getattr(x, name)
            w = [(0, T - len(a))] + [(0, 0)] * (a.ndim - 1)
            rows.append(np.pad(a, w, constant_values=fill))
        return torch.from_numpy(np.stack(rows))

    has_video = any(x.patches is not None for x in items)
    patches = None
    if has_video:
        for x in items:
            if x.patches is None:
                x.patches = np.zeros((len(x), 3, 40, 40), np.uint8)
        patches = pad("patches", 0)
    valid = torch.from_numpy(np.stack([np.arange(T) < len(x) for x in items]))
    return Batch(
        pad("dmel", 0),
        pad("text", PAD),
        pad("pending", PAD),
        pad("kind", INPUT),
        pad("pos", 0),
        pad("text_target", IGNORE),
        pad("phone", 0),
        pad("phone_now", 0),
        pad("phone_target", IGNORE),
        pad("transcript_target", IGNORE),
        pad("mel_target", 0.0),
        pad("mel_mask", False),
        patches,
        pad("patch_mask", False),
        pad("decide", False),
        pad("listen", False),
        valid,
    )
