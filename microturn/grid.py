"""The time grid: the one place that turns seconds into samples, frames, positions and chunks.

Layout (small preset): a 200 ms chunk is 3200 samples = 8 dMel frames (25 ms hop) =
4 positions (2 frames each, 50 ms). Frame k covers samples [k*hop - (win - hop), (k+1)*hop):
it ends where its hop ends, so chunk c's frames 8c..8c+7 need only audio up to the end of
chunk c — the analysis is causal and streams exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from microturn.config import GridConfig


@dataclass(frozen=True)
class Grid:
    cfg: GridConfig

    @property
    def sample_rate(self) -> int:
        return self.cfg.sample_rate

    @property
    def chunk_s(self) -> float:
        return self.cfg.chunk_ms / 1000

    @property
    def slot_s(self) -> float:
        """One sequence position's slot in seconds (50 ms: 2 dMel frames)."""
        return self.chunk_s / self.positions_per_chunk

    @property
    def samples_per_chunk(self) -> int:
        return self.cfg.sample_rate * self.cfg.chunk_ms // 1000

    @property
    def hop(self) -> int:
        """dMel hop in samples."""
        return self.cfg.sample_rate * self.cfg.hop_ms // 1000

    @property
    def win(self) -> int:
        """dMel window in samples."""
        return self.cfg.sample_rate * self.cfg.win_ms // 1000

    @property
    def frames_per_chunk(self) -> int:
        return self.cfg.chunk_ms // self.cfg.hop_ms

    @property
    def positions_per_chunk(self) -> int:
        return self.frames_per_chunk // self.cfg.frames_per_position

    @property
    def frame_rate(self) -> float:
        return 1000 / self.cfg.hop_ms

    @property
    def video_frames_per_chunk(self) -> int:
        return self.cfg.chunk_ms * self.cfg.video_fps // 1000

    @property
    def patches_per_frame(self) -> int:
        return (self.cfg.video_side // self.cfg.patch) ** 2

    # --- conversions -----------------------------------------------------------------------
    def n_chunks(self, duration_s: float) -> int:
        """Chunks needed to cover `duration_s` (the last one may be partly padding)."""
        return max(1, math.ceil(round(duration_s / self.chunk_s, 9)))

    def chunk_of(self, t: float) -> int:
        """Index of the chunk that contains time t (seconds)."""
        return int(math.floor(round(t / self.chunk_s, 9)))

    def frame_of(self, t: float) -> int:
        """Index of the dMel frame whose hop contains time t."""
        return int(math.floor(round(t * self.frame_rate, 9)))

    def samples(self, t: float) -> int:
        """Seconds to a sample index (rounded to the nearest sample)."""
        return int(round(t * self.sample_rate))

    def pad_to_chunks(self, n_samples: int) -> int:
        """Smallest whole-chunk length >= n_samples."""
        c = self.samples_per_chunk
        return max(c, -(-n_samples // c) * c)
