"""Word streams on the grid: which word each sequence position carries, per speech channel.

A position (50 ms) carries at most one text slot, so a word goes to the first free position at
or after its onset (a lead > 0 moves text earlier than the audio: the model's inner monologue
leads its voice by a fixed delay, as in moshi). Fast speech that packs more words than
positions pushes later words back; `lag` in each entry says by how many positions, so a
consumer can see how far text drifted from audio.
"""

from __future__ import annotations

from dataclasses import dataclass

from microturn.grid import Grid
from microturn.timeline import Timeline


@dataclass(frozen=True)
class Slot:
    pos: int  # sequence position (0-based, grid.positions_per_chunk per chunk)
    word: str
    lag: int  # positions later than the word's own onset position


def word_stream(
    tl: Timeline, channel: str, grid: Grid, n_positions: int, lead_s: float = 0.0
) -> list[Slot]:
    """Every word said on `channel` placed on its own position, in time order."""
    pos_s = grid.chunk_s / grid.positions_per_chunk
    words = sorted((w for e in tl.on(channel) for w in e.words), key=lambda w: w.t_on)
    out, next_free = [], 0
    for w in words:
        want = max(0, int((w.t_on - lead_s) / pos_s + 1e-9))
        p = max(want, next_free)
        if p >= n_positions:
            break
        out.append(Slot(p, w.text, p - want))
        next_free = p + 1
    return out
