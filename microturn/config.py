"""Typed configuration: dataclasses, named presets, validation, JSON.

Every number that shapes data or a model lives here, in a named preset (`tiny` for tests,
`small` shipped). A config validates itself on construction and is saved with every dataset
and checkpoint, so nothing downstream guesses a sample rate or a bin range.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_VERSION = 1


class ConfigError(ValueError):
    """A config value is out of range or inconsistent with another."""


@dataclass(frozen=True)
class GridConfig:
    """The time grid shared by every modality. 200 ms must divide evenly into everything."""

    sample_rate: int = 16_000  # Hz, mono, inside the system; resample at the edges
    chunk_ms: int = 200  # one micro-turn
    hop_ms: int = 25  # dMel frame hop
    win_ms: int = 50  # dMel analysis window
    frames_per_position: int = 2  # dMel frames per sequence position (50 ms)
    video_fps: int = 5  # one video frame per chunk
    video_side: int = 80  # frame side in px, a multiple of patch
    patch: int = 40  # hMLP patch side in px

    def __post_init__(self) -> None:
        _positive(self, "sample_rate", "chunk_ms", "hop_ms", "win_ms", "frames_per_position")
        _positive(self, "video_fps", "video_side", "patch")
        if (self.sample_rate * self.chunk_ms) % 1000:
            raise ConfigError(f"chunk_ms={self.chunk_ms} is not a whole number of samples")
        if (self.sample_rate * self.hop_ms) % 1000 or (self.sample_rate * self.win_ms) % 1000:
            raise ConfigError("hop_ms and win_ms must be whole numbers of samples")
        if self.chunk_ms % self.hop_ms:
            raise ConfigError(f"hop_ms={self.hop_ms} does not divide chunk_ms={self.chunk_ms}")
        if (self.chunk_ms // self.hop_ms) % self.frames_per_position:
            raise ConfigError("frames per chunk must be a multiple of frames_per_position")
        if self.win_ms < self.hop_ms:
            raise ConfigError("win_ms must be at least hop_ms (frames would skip samples)")
        if (self.chunk_ms * self.video_fps) % 1000:
            raise ConfigError(f"video_fps={self.video_fps} must give a whole number per chunk")
        if self.video_side % self.patch:
            raise ConfigError(f"video_side={self.video_side} is not a multiple of {self.patch}")


@dataclass(frozen=True)
class MelConfig:
    """Log-mel analysis and its dMel discretisation (pinned range: streaming == offline)."""

    n_fft: int = 1024
    n_mels: int = 80
    fmin: float = 80.0
    fmax: float = 7600.0
    floor: float = 1e-10  # magnitude floor before log10
    bins: int = 16  # dMel codebook size per channel
    lo: float = -4.5  # log10 magnitude at the centre of bin 0 (below the dither floor)
    hi: float = 0.75  # log10 magnitude at the centre of the last bin (above speech peaks)

    def __post_init__(self) -> None:
        _positive(self, "n_fft", "n_mels", "bins")
        if not 0 <= self.fmin < self.fmax:
            raise ConfigError(f"need 0 <= fmin < fmax, got {self.fmin}, {self.fmax}")
        if not self.lo < self.hi:
            raise ConfigError(f"need lo < hi for the dMel range, got {self.lo}, {self.hi}")
        if self.bins < 2:
            raise ConfigError("dMel needs at least 2 bins")


@dataclass(frozen=True)
class ModelConfig:
    """The interaction model: a decoder-only transformer over fused per-position inputs.

    Defaults are the `small` preset (~6.7 M parameters; research measured d=256/6L at ~9k tok/s
    bf16 on the 2-core dev CPU). Audio/video shapes come from `GridConfig` and `MelConfig`.
    """

    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 8
    n_kv_heads: int = 2  # grouped-query attention: n_heads / n_kv_heads query heads share K/V
    mlp_ratio: float = 8 / 3  # SwiGLU hidden = ratio * d_model, rounded up to a multiple of 32
    vocab_size: int = 1024  # byte-level BPE + specials (research/components.md §7)
    pad_id: int = 0  # the text slot holds no token; embeds to zero
    n_kinds: int = 4  # position-type ids (0 = input slot, 1 = output slot, spare for layouts)
    rope_theta: float = 10_000.0
    n_experts: int = 0  # MoE experts per block; 0 = dense SwiGLU
    top_k: int = 2  # experts per token (MoE only); each expert is a SwiGLU of mlp_ratio
    tie_text_head: bool = True  # text head shares the text embedding matrix
    # The phone stream's vocabulary (voice/phones.py: silence, other, espeak-ng's phonemes and
    # spares): the model reads and writes one phoneme id per dMel frame. 0 = no phone stream
    # (checkpoints made before it existed load with 0 and run as they were trained).
    n_phones: int = 80
    phone_ahead: int = 2  # slots after the voiced one whose phones the flow head hears too
    # The output positions also read the pending result's next unsaid piece (data/pending.py)
    pending: bool = True
    flow_width: int = 256  # flow-matching mel head (MAR-style MLP with AdaLN)
    flow_depth: int = 3
    dropout: float = 0.0
    # Attention at inference, the one place this policy is set: over the runtime's KV cache
    # (runtime/cache.py) a query sees the first `sink_chunks` chunks of its session (attention
    # sinks, kept forever) and the last `window_chunks` chunks (a ring), so a session runs for
    # hours in bounded memory and per-tick cost. 1 + 80 chunks = 16.2 s at 200 ms. Training
    # attends causally over its whole crop (TrainConfig.max_chunks, 30 s in `small`), so past
    # 16.2 s a served session sees fewer keys than any training position did (docs/LOG.md
    # measures what that changes).
    sink_chunks: int = 1
    window_chunks: int = 80

    def __post_init__(self) -> None:
        _positive(self, "d_model", "n_layers", "n_heads", "n_kv_heads", "mlp_ratio")
        _positive(self, "window_chunks")
        if self.sink_chunks < 0:
            raise ConfigError(f"sink_chunks must be >= 0, got {self.sink_chunks}")
        _positive(self, "vocab_size", "n_kinds", "rope_theta", "flow_width", "flow_depth")
        if self.n_phones < 0 or self.n_phones == 1:
            raise ConfigError(f"n_phones must be 0 (no phone stream) or >= 2, got {self.n_phones}")
        if self.phone_ahead < 0:
            raise ConfigError(f"phone_ahead must be >= 0, got {self.phone_ahead}")
        if self.d_model % self.n_heads:
            raise ConfigError(f"d_model={self.d_model} is not a multiple of n_heads={self.n_heads}")
        if (self.d_model // self.n_heads) % 2:
            raise ConfigError("head dim d_model / n_heads must be even (RoPE rotates pairs)")
        if self.n_heads % self.n_kv_heads:
            raise ConfigError(f"n_heads={self.n_heads} is not a multiple of n_kv_heads")
        if not 0 <= self.pad_id < self.vocab_size:
            raise ConfigError(f"pad_id={self.pad_id} is outside the vocab ({self.vocab_size})")
        if self.n_experts < 0 or self.n_experts == 1:
            raise ConfigError(f"n_experts must be 0 (dense) or >= 2, got {self.n_experts}")
        if self.n_experts and not 1 <= self.top_k <= self.n_experts:
            raise ConfigError(f"need 1 <= top_k <= n_experts, got {self.top_k}, {self.n_experts}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class TrainConfig:
    """The training loop: optimiser, schedule, batch, loss weights, layout, bookkeeping."""

    steps: int = 20_000
    batch_size: int = 16  # sequences per global batch (split across ranks)
    max_chunks: int = 150  # crop sequences at 30 s (8 positions per chunk)
    lr: float = 1e-3
    min_lr: float = 1e-4
    warmup: int = 200
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    bf16: bool = True  # bf16 autocast where it is native (GPU, AVX512-BF16/AMX CPU); loss fp32
    text_weight: float = 1.0
    pad_weight: float = 0.2  # weight of <pad> targets (silence slots dominate the text stream)
    decision_weight: float = 4.0  # text targets where the model decides to take the turn or wait
    delegate_weight: float = 1.0  # <delegate> targets, on top of the decision weight
    decide_s: float = 2.0  # ... i.e. up to this long after the user's last word, while silent
    listen_weight: float = 0.2  # <pad> targets decided mid user word (layout.listen): staying quiet
    random_crop: bool = True  # long samples: a random max_chunks window, else the start
    oversample: str = ""  # e.g. "turn=3": each turn-family sample comes 3x per epoch
    augment: float = 0.0  # strength of the user-dMel augmentation (data/augment.py); 0 = off
    own_noise: float = 0.0  # noise on the model's own dMel input, log10 units (0.3 ~ its head's)
    self_feed: float = 0.0  # share of own-dMel inputs that are its own voice (train/self_feed.py)
    self_feed_passes: int = 1  # ... said again from that history, this many times (rollout depth)
    train_only: str = ""  # e.g. "flow,phone_now": train only parameters with these name prefixes
    keep: float = 0.0  # hold the --init model's speak-or-pad decision (losses.py: keep_term)
    transcript_weight: float = 0.5
    flow_weight: float = 1.0
    flow_draws: int = 4  # noise draws per hidden state (rectified flow)
    aux_weight: float = 0.01  # MoE load balance
    text_lead: int = 2  # slots the model's text leads its audio
    phone_weight: float = 1.0  # the phone stream's cross-entropy (silence frames at pad_weight)
    phone_lead: int = 2  # slots the model's phone stream leads its audio
    transcript_lag: int = 6  # slots the user transcript lags the user's audio
    eval_every: int = 250
    eval_samples: int = 96
    ckpt_every: int = 100
    seed: int = 0

    def __post_init__(self) -> None:  # each config checks its own fields, as ModelConfig does
        _positive(self, "steps", "batch_size", "max_chunks", "lr", "flow_draws")
        _positive(self, "eval_every", "eval_samples", "ckpt_every", "self_feed_passes")
        if self.phone_lead < 1 or self.text_lead < 0:
            raise ConfigError("need phone_lead >= 1 and text_lead >= 0")
        if not 0 <= self.own_noise <= 2:
            raise ConfigError(f"own_noise={self.own_noise} must be in [0, 2] (log10 units)")
        if not 0 <= self.self_feed <= 1:
            raise ConfigError(f"self_feed={self.self_feed} must be a share in [0, 1]")
        if self.keep < 0:
            raise ConfigError(f"keep={self.keep} must be >= 0")
        if not 0 <= self.augment <= 2:
            raise ConfigError(f"augment={self.augment} must be in [0, 2]")
        if not 0 <= self.min_lr <= self.lr:
            raise ConfigError(f"need 0 <= min_lr <= lr, got {self.min_lr}, {self.lr}")
        if self.warmup < 0 or self.warmup >= self.steps:
            raise ConfigError(f"warmup={self.warmup} must be in [0, steps={self.steps})")
        self.oversampling()

    def oversampling(self) -> dict[str, int]:
        """`oversample` as {family: repeats per epoch}; a clear error when malformed."""
        out = {}
        for part in filter(None, self.oversample.split(",")):
            fam, _, k = part.partition("=")
            if not fam or not k.isdigit() or int(k) < 1:
                raise ConfigError(f"oversample wants FAMILY=N[,FAMILY=N] with N >= 1, got "
                                  f"{self.oversample!r}")  # fmt: skip
            out[fam] = int(k)
        return out


@dataclass(frozen=True)
class Config:
    """A named preset: the grid, the audio front end and the model (training joins later)."""

    name: str = "small"
    grid: GridConfig = field(default_factory=GridConfig)
    mel: MelConfig = field(default_factory=MelConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    version: int = CONFIG_VERSION

    def __post_init__(self) -> None:
        win = self.grid.sample_rate * self.grid.win_ms // 1000
        if self.mel.n_fft < win:
            raise ConfigError(f"n_fft={self.mel.n_fft} is shorter than the window ({win} samples)")
        if self.mel.fmax > self.grid.sample_rate / 2:
            raise ConfigError(f"fmax={self.mel.fmax} is above Nyquist")
        if self.version != CONFIG_VERSION:
            raise ConfigError(f"config version {self.version}, this code reads {CONFIG_VERSION}")
        if self.model.n_phones and self.model.phone_ahead > self.train.phone_lead:
            raise ConfigError(
                f"phone_ahead={self.model.phone_ahead} is more than phone_lead="
                f"{self.train.phone_lead}: the flow head cannot hear phones not chosen yet"
            )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict) -> Config:
        d = dict(d)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown config keys: {sorted(unknown)}")
        return cls(
            name=d.get("name", "custom"),
            grid=_build(GridConfig, d.get("grid", {})),
            mel=_build(MelConfig, d.get("mel", {})),
            model=_build(ModelConfig, d.get("model", {})),
            train=_build(TrainConfig, d.get("train", {})),
            version=d.get("version", CONFIG_VERSION),
        )

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> Config:
        return cls.from_dict(json.loads(Path(path).read_text()))


def _build(cls, d: dict):
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - known
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    return cls(**d)


def _positive(obj, *names: str) -> None:
    for n in names:
        v = getattr(obj, n)
        if not v > 0:
            raise ConfigError(f"{type(obj).__name__}.{n} must be positive, got {v}")


PRESETS: dict[str, Config] = {
    "tiny": Config(
        name="tiny",
        model=ModelConfig(
            d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, flow_width=64, flow_depth=2
        ),
        train=TrainConfig(
            steps=200,
            batch_size=4,
            max_chunks=40,
            warmup=20,
            eval_every=50,
            eval_samples=8,
            ckpt_every=20,
            lr=3e-3,
            min_lr=3e-4,
        ),
    ),
    "small": Config(name="small"),
    # 8 experts, top-2, each half the dense SwiGLU width: the same active FFN compute per token
    # as `small`, 4x the FFN parameters.
    "small-moe": Config(name="small-moe", model=ModelConfig(n_experts=8, top_k=2, mlp_ratio=4 / 3)),
}


# `tiny`'s MoE twin (tests), made like `small-moe`.
PRESETS["tiny-moe"] = dataclasses.replace(
    PRESETS["tiny"],
    name="tiny-moe",
    model=dataclasses.replace(PRESETS["tiny"].model, n_experts=4, top_k=2, mlp_ratio=4 / 3),
)


def preset(name: str) -> Config:
    """Look up a named preset; a clear error lists the known ones."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; known: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]
