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
its centre) are emitted with the next chunk. Each step runs the network over the
stream's last `context` frames and the new chunk: what it emits is a function of the frames
alone (no seed), the same whether one stream steps or several together (each row is run on its
own: no batched kernel changes its rounding).
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
from microturn.model.model import CheckpointError

SUB_HOP, N_FFT = 200, 800  # the synthesis frames: two per 25 ms mel frame, 4x overlap
N_BINS = N_FFT // 2 + 1
KERNEL = 7
FORMAT = "microturn-vocoder"


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
        if not (d / "config.json").exists() or not (d / "model.safetensors").exists():
            raise FileNotFoundError(f"{d} holds no vocoder (config.json, model.safetensors)")
        info = json.loads((d / "config.json").read_text())
        if info.get("format") != FORMAT:
            raise CheckpointError(f"{d} is not a {FORMAT} checkpoint")
        net = cls(VocoderConfig(**info["config"]))
        load_model(net, str(d / "model.safetensors"))
        return net.eval()


@dataclass
class LearnedState:
    """One stream's place: its last mel frames (the network's left context) and the overlap-add
    tail of the synthesis frames already made."""

    mel: torch.Tensor  # (context, n_mels)
    tail: torch.Tensor  # (N_FFT,) samples from the emitted end on, partly summed
    n_out: int

    def clone(self) -> LearnedState:
        return LearnedState(self.mel.clone(), self.tail.clone(), self.n_out)


class LearnedVocoder:
    """The streaming side of `VocoderNet`, with `voice.vocoder.Vocoder`'s interface: output
    sample s of step c is grid sample samples_per_chunk * c + s - latency_samples."""

    def __init__(self, cfg: Config, net: VocoderNet):
        self.grid = Grid(cfg.grid)
        self.hop = self.grid.hop
        if net.cfg.hop != self.hop or net.cfg.n_mels != cfg.mel.n_mels:
            raise CheckpointError(
                f"the vocoder was trained for hop {net.cfg.hop}, {net.cfg.n_mels} mels; "
                f"this grid has hop {self.hop}, {cfg.mel.n_mels} mels"
            )
        self.net = net.eval()
        self.floor = cfg.mel.lo  # log10 mel of silence (the dMel range's bottom)
        la = net.cfg.lookahead
        self.context = net.receptive + la  # frames kept: the receptive field and the frames
        # waiting for their lookahead
        # the first sample not yet final after a chunk ends: the earliest synthesis frame of a
        # mel frame still waiting for its lookahead starts N_FFT / 2 before its centre
        self.latency_samples = la * self.hop + N_FFT // 2
        self.window = torch.hann_window(N_FFT)
        # sum of the squared windows at 4x overlap, the same at every sample in a stream
        self.norm = float((self.window**2).view(-1, SUB_HOP).sum(0).mean())

    def init_state(self, seed: int | None = None) -> LearnedState:
        """A stream before its first chunk: silence behind it (`seed` is unused: nothing is
        drawn)."""
        silence = torch.full((self.context, self.net.cfg.n_mels), self.floor)
        return LearnedState(silence, torch.zeros(N_FFT), 0)

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
        la = self.net.cfg.lookahead
        out, new = [], []
        for lm, st in zip(logmel.float(), states, strict=True):
            frames = torch.cat([st.mel, lm])  # (context + fpc, n_mels)
            spec = self.net.spectra(frames[None])[0]  # (2 (context + fpc), N_BINS)
            # the chunk's final mel frames: those whose lookahead has arrived
            k0 = 2 * (self.context - la)
            sub = spec[k0 : k0 + 2 * fpc]  # (2 fpc, N_BINS)
            fr = torch.fft.irfft(sub, n=N_FFT) * self.window  # (2 fpc, N_FFT)
            # overlap-add: synthesis frame i starts SUB_HOP * i after the tail's start
            acc = torch.zeros(n + N_FFT)
            acc[:N_FFT] += st.tail
            for i in range(fr.shape[0]):
                acc[SUB_HOP * i : SUB_HOP * i + N_FFT] += fr[i]
            y = acc[:n] / self.norm
            if st.n_out < self.latency_samples:  # the stream's first latency: silence
                y[: min(n, self.latency_samples - st.n_out)] = 0
            out.append(y)
            new.append(LearnedState(frames[-self.context :].clone(), acc[n:].clone(), st.n_out + n))
        return torch.stack(out), new


def load_vocoder(cfg: Config, path: str | Path | None):
    """The runtime's vocoder: Griffin-Lim at 8 iterations (None; the engine's default) or a
    learned one from `path`."""
    from microturn.voice.vocoder import Vocoder

    if path is None:  # 8 iterations, not the offline 32: streaming dMel LSD 6.98 vs 6.81 dB
        # (`microturn bench vocoder --limit 5 --n-iter 8`) at a quarter of the cost (docs/LOG.md)
        return Vocoder(cfg, n_iter=8)
    return LearnedVocoder(cfg, VocoderNet.load(path))
