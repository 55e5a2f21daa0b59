"""The training data: seeded global batches of similar lengths, epoch after epoch, resumable
from a cursor, optionally collated ahead by DataLoader processes."""

from __future__ import annotations

import numpy as np
import torch

from microturn.config import Config
from microturn.data.augment import augment_dmel, noisy_own
from microturn.data.layout import Batch, collate, layout
from microturn.data.shards import ShardReader
from microturn.grid import Grid
from microturn.tokenizer import Tokenizer


class Loader:
    """Global batches of `batch_size` sequences in a seeded order, epoch after epoch.

    Each epoch shuffles the samples (those of a family in `oversample` repeated), then sorts
    each window of 16 batches by length so a batch holds similar lengths (little padding). A
    sample longer than `max_chunks` is cut to a window whose start is drawn from (seed, epoch,
    sample), so long conversations are seen whole over the epochs. The cursor (epoch, batch)
    is the whole state.

    `workers` > 0: batches are collated in that many DataLoader processes (see `next`).
    `augment` > 0: each sample's user dMel is perturbed with that strength, drawn from (seed,
    epoch, sample) (the train loader; dev is scored as recorded). `own_noise` > 0: the model's
    own dMel input (not its mel target) gets noise of that many log10 units, drawn the same way.
    """

    def __init__(
        self,
        reader: ShardReader,
        cfg: Config,
        tok: Tokenizer,
        seed: int,
        *,
        workers: int = 0,
        augment: float = 0.0,  # (keyword lists look alike: Block.__init__ shares nothing)
        own_noise: float = 0.0,
    ):
        self.r, self.cfg, self.tok, self.seed = reader, cfg, tok, seed
        self.workers, self.augment, self.own_noise = workers, augment, own_noise
        self.grid = Grid(cfg.grid)
        infos = [reader.info(i) for i in range(len(reader))]
        self.lengths = np.array([s.frames for s in infos])
        fams = [s.family for s in infos]
        over = cfg.train.oversampling()
        missing = set(over) - set(fams)
        if missing:
            raise ValueError(f"oversample names families the data does not have: {missing}")
        self.repeats = np.array([over.get(f, 1) for f in fams])
        self.epoch, self.cursor = 0, 0
        self._order = self._plan(0)
        self._stream = None  # the workers' iterator, (rank, world, iterator), made on first use

    def _plan(self, epoch: int) -> list[list[int]]:
        bs = self.cfg.train.batch_size
        rng = np.random.default_rng([self.seed, epoch])
        perm = rng.permutation(np.repeat(np.arange(len(self.r)), self.repeats))
        win = bs * 16
        batches = []
        for a in range(0, len(perm) - bs + 1, win):
            w = perm[a : a + win]
            w = w[np.argsort(self.lengths[w], kind="stable")]
            batches += [list(w[i : i + bs]) for i in range(0, len(w) - bs + 1, bs)]
        rng.shuffle(batches)
        if not batches:
            raise ValueError(f"{len(self.r)} samples cannot fill a batch of {bs}")
        return batches

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "cursor": self.cursor, "seed": self.seed}

    def load_state_dict(self, d: dict) -> None:
        self.seed, self.epoch, self.cursor = d["seed"], d["epoch"], d["cursor"]
        self._order = self._plan(self.epoch)
        self._stream = None

    def next(self, rank: int = 0, world: int = 1) -> Batch:
        """This rank's share (every world-th sequence) of the next global batch.

        With `workers` > 0 the batches are collated ahead, in order, by DataLoader processes
        (a GPU eats them faster than one core lays them out); they are the same batches."""
        if self.cursor >= len(self._order):
            self.epoch, self.cursor = self.epoch + 1, 0
            self._order = self._plan(self.epoch)
        key = (self.epoch, self.cursor)
        self.cursor += 1
        if self.workers <= 0:
            return self.collate(self._order[key[1]][rank::world], key[0])
        if self._stream is None or self._stream[:2] != (rank, world):
            self._stream = (rank, world, iter(self._dataloader(key, rank, world)))
        got, b = next(self._stream[2])
        assert tuple(got) == key, f"prefetched batch {got} out of step with the cursor {key}"
        return b

    def _dataloader(self, start: tuple[int, int], rank: int, world: int):
        from torch.utils.data import DataLoader

        return DataLoader(
            _Batches(self, rank, world),
            sampler=_Keys(self, start),
            batch_size=None,
            num_workers=self.workers,
            pin_memory=torch.cuda.is_available(),
            prefetch_factor=4,
        )

    def collate(self, idx: list[int], epoch: int | None = None) -> Batch:
        t = self.cfg.train
        epoch = self.epoch if epoch is None else epoch
        items = []
        for i in idx:
            s = self.r[i]
            arrays = s.arrays
            if self.augment > 0:
                rng = np.random.default_rng([self.seed, epoch, int(i), 1])
                user = augment_dmel(arrays["user_dmel"], rng, self.augment, self.cfg.mel.bins)
                arrays = {**arrays, "user_dmel": user}
            if self.own_noise > 0:
                m = self.cfg.mel
                rng = np.random.default_rng([self.seed, epoch, int(i), 2])
                own = noisy_own(
                    arrays["model_dmel"], rng, self.own_noise, (m.hi - m.lo) / (m.bins - 1), m.bins
                )
                arrays = {**arrays, "model_dmel": own}
            items.append(
                layout(
                    s.timeline,
                    arrays,
                    self.tok,
                    self.grid,
                    t.text_lead,
                    t.transcript_lag,
                    t.max_chunks,
                    self.start_chunk(int(i), epoch),
                    t.decide_s,
                    t.phone_lead,
                )
            )
        return collate(items)

    def start_chunk(self, i: int, epoch: int) -> int:
        extra = int(self.lengths[i]) // self.grid.frames_per_chunk - self.cfg.train.max_chunks
        if extra <= 0 or not self.cfg.train.random_crop:
            return 0
        return int(np.random.default_rng([self.seed, epoch, i]).integers(0, extra + 1))


class _Keys:
    """(epoch, batch) keys from a cursor on, epoch after epoch, for the DataLoader."""

    def __init__(self, loader: Loader, start: tuple[int, int]):
        self.loader, self.start = loader, start

    def __iter__(self):
        epoch, cursor = self.start
        while True:
            n = len(self.loader._plan(epoch))
            yield from ((epoch, c) for c in range(cursor, n))
            epoch, cursor = epoch + 1, 0


class _Batches:
    """Batch `(epoch, cursor)` of a loader (this rank's share), collated in a worker process."""

    def __init__(self, loader: Loader, rank: int, world: int):
        self.loader, self.rank, self.world = loader, rank, world
        self._plans: dict[int, list[list[int]]] = {}

    def __getitem__(self, key: tuple[int, int]) -> tuple[tuple[int, int], Batch]:
        epoch, cursor = key
        if epoch not in self._plans:
            self._plans = {epoch: self.loader._plan(epoch)}  # one epoch's plan at a time
        idx = self._plans[epoch][cursor][self.rank :: self.world]
        return key, self.loader.collate(idx, epoch)


def to_device(b: Batch, device: torch.device) -> Batch:
    if device.type == "cpu":
        return b
    return b.apply(lambda x: x.to(device, non_blocking=True))


def mel_stats(reader: ShardReader, n: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean/std of the model channel's log-mel over the first n samples."""
    xs = [reader[i].arrays["model_mel"].astype(np.float32) for i in range(min(n, len(reader)))]
    x = torch.from_numpy(np.concatenate(xs))
    return x.mean(0), x.std(0).clamp_min(1e-3)
