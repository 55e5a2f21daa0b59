"""A learned vocoder: log10 mel -> waveform by a small convolutional network with an inverse-STFT
head (the Vocos design, trained here without a discriminator), in place of Griffin-Lim.

Why: Griffin-Lim on 80 mel bands at a 25 ms hop is the ceiling of what a listener can hear of
the model's voice (Whisper WER 0.33 on the yardstick's reference sentences, against 0.28 for
the raw espeak-ng voice; docs/RESULTS.md §6); a network trained on the model voice learns the
phase and the fine structure the mel drops.

The network: a convolution over the normalised mel frames, `blocks` ConvNeXt blocks (depthwise
conv k=7, LayerNorm, a 3x pointwise MLP, a layer scale), causal but for `lookahead` frames
ahead seen by the first convolution; a linear head gives, per mel frame, two synthesis frames
(hop 200, n_fft 800): log-magnitude and phase of 401 bins each, overlap-added (a Hann window)
at the grid's sample rate. Trained by `microturn train-vocoder` on the model voice (espeak-ng,
`data.voices.MODEL_VOICE`) saying the data engine's utterances, with a multi-resolution STFT
loss (spectral convergence + log-magnitude L1) and an L1 loss on the log-mel of its output.

Streaming (`init_state`, `step`, `step_many`: `voice.vocoder.Vocoder`'s interface, so that
the runtime takes either): a synthesis frame spans 400 samples either side of its centre and a
mel frame's output waits for its `lookahead` frames, so a chunk's last `latency_samples` (400
at lookahead 0, the default: 25 ms; a frame's analysis window already reaches 400 samples past
its centre) are emitted with the next chunk. Each convolution keeps its last `KERNEL - 1` input
frames in the stream's state, so a step runs every layer over the chunk's new frames alone
(`VocoderNet.step`), and the streams stepping together run as one batch through kernels that
are batch-invariant (`model.invariant`: each product at least `MIN_ROWS` rows, the depthwise
convolution as a sum of shifted products): what a stream emits is a function of its frames
alone (no seed), the same whether it steps alone or beside others.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from microturn.config import Config
from microturn.grid import Grid
from microturn.model.invariant import rows
from microturn.model.model import CheckpointError

SUB_HOP, N_FFT = 200, 800  # the synthesis frames: two per 25 ms mel frame, 4x overlap
N_BINS = N_FFT // 2 + 1
KERNEL = 7
FORMAT = "microturn-vocoder"
# the shipped vocoder, beside the shipped model (`checkpoints/vocoder/README.md`)
DEFAULT_VOCODER = Path(__file__).resolve().parents[2] / "checkpoints" / "vocoder"
GRIFFIN_LIM = "griffin-lim"


@dataclass(frozen=True)
class VocoderConfig:
    n_mels: int = 80
    hop: int = 400  # samples per mel frame (the grid's)
    channels: int = 256
    blocks: int = 6
    lookahead: int = 0  # mel frames the network sees ahead (its first convolution's)


class _Block(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.pad = (KERNEL - 1, 0)  # causal: the network's lookahead is its first conv's alone
        self.dw = nn.Conv1d(c, c, KERNEL, groups=c)
        self.norm = nn.LayerNorm(c)
        self.up, self.down = nn.Linear(c, 3 * c), nn.Linear(3 * c, c)
        self.scale = nn.Parameter(torch.full((c,), 0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        y = self.dw(F.pad(x, self.pad)).transpose(1, 2)
        y = self.down(F.gelu(self.up(self.norm(y))))
        return x + (self.scale * y).transpose(1, 2)

    def step(self, x: torch.Tensor, past: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`forward` on new frames x (B, F, C) after `past` (B, KERNEL - 1, C), the frames before
        them: (B, F, C) and the next `past`. Batch-invariant."""
        win = torch.cat([past, x], 1)
        y = _depthwise(win, self.dw, x.shape[1])
        y = rows(lambda r: self.down(F.gelu(self.up(self.norm(r)))), y, pad=True)
        return x + self.scale * y, win[:, -(KERNEL - 1) :]


def _depthwise(win: torch.Tensor, conv: nn.Conv1d, n: int) -> torch.Tensor:
    """A depthwise convolution over win (B, n + KERNEL - 1, C) -> (B, n, C) as a fixed-order sum
    of shifted products: elementwise, so no row's bits depend on the batch."""
    w = conv.weight[:, 0]  # (C, KERNEL)
    y = win[:, :n] * w[:, 0]
    for k in range(1, KERNEL):
        y = y + win[:, k : k + n] * w[:, k]
    return y + conv.bias


class VocoderNet(nn.Module):
    """log10 mel (B, T, n_mels) -> synthesis frames' spectra (B, 2T, N_BINS) complex, and
    `forward`: the whole pass to samples (B, T * hop) (training, offline)."""

    def __init__(self, cfg: VocoderConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.register_buffer("mel_mean", torch.zeros(cfg.n_mels))
        self.register_buffer("mel_std", torch.ones(cfg.n_mels))
        self.pad = (KERNEL - 1 - cfg.lookahead, cfg.lookahead)
        self.inp = nn.Conv1d(cfg.n_mels, c, KERNEL)
        self.norm_in = nn.LayerNorm(c)
        self.blocks = nn.ModuleList(_Block(c) for _ in range(cfg.blocks))
        self.norm_out = nn.LayerNorm(c)
        self.head = nn.Linear(c, 2 * 2 * N_BINS)
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)

    @property
    def receptive(self) -> int:
        """Mel frames behind a frame that its output depends on."""
        return KERNEL - 1 - self.cfg.lookahead + (KERNEL - 1) * self.cfg.blocks

    def spectra(self, logmel: torch.Tensor) -> torch.Tensor:
        x = ((logmel - self.mel_mean) / self.mel_std).transpose(1, 2)
        x = self.norm_in(self.inp(F.pad(x, self.pad)).transpose(1, 2)).transpose(1, 2)
        for b in self.blocks:
            x = b(x)
        h = self.head(self.norm_out(x.transpose(1, 2)))  # (B, T, 4 * N_BINS)
        B, T, _ = h.shape
        h = h.view(B, 2 * T, 2, N_BINS)
        return torch.polar(torch.exp(h[:, :, 0].clamp(max=6.0)), h[:, :, 1])

    def step(
        self, logmel: torch.Tensor, past: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """`spectra` of a stream's new frames logmel (B, F, n_mels), each convolution given its
        last KERNEL - 1 input frames (`past`, one (B, KERNEL - 1, C) per convolution, first conv
        first): (B, 2F, N_BINS) for the F frames ending `lookahead` before the newest (the
        first convolution waits for its lookahead) and the next `past`. Batch-invariant."""
        x = (logmel - self.mel_mean) / self.mel_std
        win = torch.cat([past[0], x], 1)  # (B, F + KERNEL - 1, n_mels)
        B, n = x.shape[:2]
        taps = win.unfold(1, KERNEL, 1)  # (B, F, n_mels, KERNEL): the conv's windows
        w = self.inp.weight.flatten(1)  # (C, n_mels * KERNEL), the same order

        def first(r: torch.Tensor) -> torch.Tensor:
            return self.norm_in(F.linear(r.flatten(1), w, self.inp.bias))

        x = rows(first, taps, pad=True, lead=2)
        new = [win[:, -(KERNEL - 1) :]]
        for b, p in zip(self.blocks, past[1:], strict=True):
            x, p = b.step(x, p)
            new.append(p)
        h = rows(lambda r: self.head(self.norm_out(r)), x, pad=True)  # (B, F, 4 * N_BINS)
        h = h.view(B, 2 * n, 2, N_BINS)
        return torch.polar(torch.exp(h[:, :, 0].clamp(max=6.0)), h[:, :, 1]), new

    def forward(self, logmel: torch.Tensor) -> torch.Tensor:
        spec = self.spectra(logmel).transpose(1, 2)
        T = logmel.shape[1]
        return torch.istft(spec, N_FFT, SUB_HOP, N_FFT, self.window, center=True,
                           length=T * self.cfg.hop)  # fmt: skip

    def save(self, directory: str | Path, meta: dict | None = None) -> None:
        from safetensors.torch import save_model

        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        info = {"format": FORMAT, "config": asdict(self.cfg), **(meta or {})}
        (d / "config.json").write_text(json.dumps(info, indent=2, sort_keys=True))
        save_model(self, str(d / "model.safetensors"))

    @classmethod
    def load(cls, directory: str | Path) -> VocoderNet:
        from safetensors.torch import load_model

        d = Path(directory)
        net = cls(VocoderConfig(**vocoder_info(d)["config"]))
        load_model(net, str(d / "model.safetensors"))
        return net.eval()


def vocoder_info(directory: str | Path) -> dict:
    """A vocoder directory's config.json, checked without torch (a server checks `--vocoder`
    on its main thread, where a torch call would start a second OpenMP team that fights the
    tick thread's for the cores: docs/LOG.md) -> the dict; FileNotFoundError or
    CheckpointError saying what is wrong."""
    d = Path(directory)
    if not (d / "config.json").exists() or not (d / "model.safetensors").exists():
        raise FileNotFoundError(
            f"{d} holds no vocoder (config.json, model.safetensors); name a vocoder's "
            f"directory or `--vocoder {GRIFFIN_LIM}`"
        )
    info = json.loads((d / "config.json").read_text())
    if info.get("format") != FORMAT:
        raise CheckpointError(f"{d} is not a {FORMAT} checkpoint")
    try:
        VocoderConfig(**info["config"])  # a plain dataclass: no torch
    except (KeyError, TypeError) as e:
        raise CheckpointError(f"{d}/config.json has no valid vocoder config ({e})") from None
    return info


@dataclass
class LearnedState:
    """One stream's place: each convolution's last KERNEL - 1 input frames (`VocoderNet.step`)
    and the overlap-add tail of the synthesis frames already made."""

    past: list[torch.Tensor]  # one (KERNEL - 1, C) per convolution, the first conv's first
    tail: torch.Tensor  # (N_FFT,) samples from the emitted end on, partly summed
    n_out: int

    def clone(self) -> LearnedState:
        return LearnedState([p.clone() for p in self.past], self.tail.clone(), self.n_out)


class LearnedVocoder:
    """The streaming side of `VocoderNet`, with `voice.vocoder.Vocoder`'s interface: output
    sample s of step c is grid sample samples_per_chunk * c + s - latency_samples."""

    def __init__(self, cfg: Config, net: VocoderNet):
        self.grid = Grid(cfg.grid)
        self.hop = self.grid.hop
        if net.cfg.hop != self.hop or net.cfg.n_mels != cfg.mel.n_mels:
            raise CheckpointError(
                f"the vocoder was trained for hop {net.cfg.hop}, {net.cfg.n_mels} mels; "
                f"this grid has hop {self.hop}, {cfg.mel.n_mels} mels (`--vocoder {GRIFFIN_LIM}` "
                "voices any grid)"
            )
        self.net = net.eval()
        self.floor = cfg.mel.lo  # log10 mel of silence (the dMel range's bottom)
        # the first sample not yet final after a chunk ends: the earliest synthesis frame of a
        # mel frame still waiting for its lookahead starts N_FFT / 2 before its centre
        self.latency_samples = net.cfg.lookahead * self.hop + N_FFT // 2
        self.window = torch.hann_window(N_FFT)
        # sum of the squared windows at 4x overlap, the same at every sample in a stream
        self.norm = float((self.window**2).view(-1, SUB_HOP).sum(0).mean())
        # a stream begins after silence: every convolution's past as the network's receptive
        # field of silence leaves it
        c = net.cfg.channels
        zero = [torch.zeros(1, KERNEL - 1, net.cfg.n_mels)]
        zero += [torch.zeros(1, KERNEL - 1, c) for _ in net.blocks]
        silence = torch.full((1, net.receptive + net.cfg.lookahead, net.cfg.n_mels), self.floor)
        with torch.no_grad():
            self.silence = [p[0] for p in net.step(silence, zero)[1]]

    def init_state(self, seed: int | None = None) -> LearnedState:
        """A stream before its first chunk: silence behind it (`seed` is unused: nothing is
        drawn)."""
        return LearnedState([p.clone() for p in self.silence], torch.zeros(N_FFT), 0)

    def step(self, logmel: torch.Tensor, state: LearnedState) -> tuple[torch.Tensor, LearnedState]:
        """One chunk: (frames_per_chunk, n_mels) -> (samples_per_chunk,) and the next state."""
        wavs, states = self.step_many(logmel[None], [state])
        return wavs[0], states[0]

    @torch.no_grad()
    def step_many(
        self, logmel: torch.Tensor, states: list[LearnedState]
    ) -> tuple[torch.Tensor, list[LearnedState]]:
        """(B, frames_per_chunk, n_mels) -> (B, samples_per_chunk), B next states; `states` are
        left as they were."""
        fpc, n = self.grid.frames_per_chunk, self.grid.samples_per_chunk
        if logmel.shape[1] != fpc or len(logmel) != len(states):
            raise ValueError(f"expected ({len(states)}, {fpc}, n_mels), got {tuple(logmel.shape)}")
        past = [torch.stack(p) for p in zip(*(s.past for s in states), strict=True)]
        spec, past = self.net.step(logmel.float(), past)  # (B, 2 fpc, N_BINS): final frames
        fr = torch.fft.irfft(spec, n=N_FFT) * self.window  # (B, 2 fpc, N_FFT)
        # overlap-add: synthesis frame i starts SUB_HOP * i after the tail's start
        acc = torch.zeros(len(states), n + N_FFT)
        acc[:, :N_FFT] += torch.stack([s.tail for s in states])
        for i in range(fr.shape[1]):
            acc[:, SUB_HOP * i : SUB_HOP * i + N_FFT] += fr[:, i]
        y = acc[:, :n] / self.norm
        for b, st in enumerate(states):  # the stream's first latency: silence
            if st.n_out < self.latency_samples:
                y[b, : min(n, self.latency_samples - st.n_out)] = 0
        new = [
            LearnedState([p[b].clone() for p in past], acc[b, n:].clone(), st.n_out + n)
            for b, st in enumerate(states)
        ]
        return y, new


def load_vocoder(cfg: Config, path: str | Path | None = None):
    """The runtime's vocoder: the learned one at `path` (None: the shipped `DEFAULT_VOCODER`,
    the engine's default) or, for `GRIFFIN_LIM`, Griffin-Lim at 8 iterations."""
    from microturn.voice.vocoder import Vocoder

    if str(path) == GRIFFIN_LIM:  # 8 iterations, not the offline 32: streaming dMel LSD 6.98
        # vs 6.81 dB (`microturn bench vocoder --limit 5 --n-iter 8`) at a quarter of the cost
        return Vocoder(cfg, n_iter=8)
    return LearnedVocoder(cfg, VocoderNet.load(path or DEFAULT_VOCODER))
