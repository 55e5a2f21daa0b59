"""The interaction model: encoder-free early fusion into a decoder-only transformer.

One sequence position carries whatever is present at that 50 ms slot: dMel audio (2 frames),
a text token, the phones of its own speech (one per frame, `voice/phones.py`), an image patch,
and always a position-type ("kind") embedding; their embeddings
are summed (early fusion) and run through causal transformer blocks with RoPE on caller-given,
time-aligned positions. The caller (the sequence layout builder) decides what goes where and
applies the heads with its own masks; `forward` stays one straight pass:

    ModelInput --embed+sum--> (B, T, d) --blocks--> norm --> hidden, text/transcript logits

Training calls `forward(batch)`: causal attention over the whole sequence. The runtime calls the
same `forward` with its KV cache (`runtime/cache.py`): the rows continue each session's sequence
and attend over the cache under its sink + window policy, a chunk's rows at a time; that is the
only difference between the trained model and the served one (`tests/test_forward.py` holds the
two to each other). The module holds weights only. Session state (KV cache, positions, RNG)
belongs to the runtime.
Checkpoints are a directory: `model.safetensors` (no pickle) + `config.json` (the full Config
and a format version checked on load).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from microturn.config import Config
from microturn.model.fusion import DMelEmbed, HMLPStem, TextEmbed
from microturn.model.heads import FlowHead, VocabHead
from microturn.model.invariant import rows
from microturn.model.layers import Block, MoE, RMSNorm, Rotary, swiglu_hidden

if TYPE_CHECKING:
    from microturn.runtime.cache import KVCache

FORMAT = "microturn.InteractionModel"
FORMAT_VERSION = 1  # bump when parameter names/shapes or their meaning change


class CheckpointError(ValueError):
    """A saved model cannot be read by this code (wrong format or format version)."""


@dataclass
class ModelInput:
    """Already laid-out per-position inputs (B rows, T positions).

    dmel        (B, T, frames_per_position, n_mels) uint8 dMel codes
    dmel_mask   (B, T) bool: the position carries audio
    text        (B, T) long token ids, pad id where the slot is empty
    kind        (B, T) long position-type ids in [0, n_kinds)
    pos         (B, T) long RoPE positions (time-aligned; may repeat)
    patches     (B, T, 3, patch, patch) float in [0, 1], or None (no video in this batch)
    patch_mask  (B, T) bool: the position carries a patch (required with patches)
    phones      (B, T, frames_per_position) long phone ids (0 = silence), or None (all silence;
                ignored by a model without a phone stream)
    pending     (B, T) long: the pending result's next piece (data/pending.py), pad id where
                there is none, or None (none anywhere; ignored by a model without it)
    attn_mask   (B, T, T) bool, True = query may attend key; ANDed with causality (it can only
                remove keys, e.g. padding or packed documents), or None for plain causal
    """

    dmel: torch.Tensor
    dmel_mask: torch.Tensor
    text: torch.Tensor
    kind: torch.Tensor
    pos: torch.Tensor
    patches: torch.Tensor | None = None
    patch_mask: torch.Tensor | None = None
    attn_mask: torch.Tensor | None = None
    phones: torch.Tensor | None = None
    pending: torch.Tensor | None = None


@dataclass
class ModelOutput:
    """hidden (B, T, d) after the final norm; text/transcript logits (B, T, vocab), or None
    when `forward(heads=False)`; aux_loss: MoE load-balancing loss averaged over blocks
    (1.0 = balanced; 0 if dense, and with a cache)."""

    hidden: torch.Tensor
    text_logits: torch.Tensor | None
    transcript_logits: torch.Tensor | None
    aux_loss: torch.Tensor


class InteractionModel(nn.Module):
    """Decoder-only transformer over fused dMel/text/patch/kind embeddings, with three heads."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        m, d = cfg.model, cfg.model.d_model
        self.frames, self.n_mels = cfg.grid.frames_per_position, cfg.mel.n_mels
        self.text_embed = TextEmbed(m.vocab_size, d, m.pad_id)
        self.dmel_embed = DMelEmbed(d, cfg.mel.n_mels, cfg.mel.bins, self.frames)
        self.patch_embed = HMLPStem(d, cfg.grid.patch)
        self.kind_embed = nn.Embedding(m.n_kinds, d)
        self.rotary = Rotary(d // m.n_heads, m.rope_theta)
        hidden = swiglu_hidden(d, m.mlp_ratio)
        self.blocks = nn.ModuleList(
            Block(d, m.n_heads, m.n_kv_heads, hidden, m.n_experts, m.top_k, m.dropout)
            for _ in range(m.n_layers)
        )
        self.norm = RMSNorm(d)
        tied = self.text_embed.weight if m.tie_text_head else None
        self.text_head = VocabHead(d, m.vocab_size, tied=tied)
        self.transcript_head = VocabHead(d, m.vocab_size)
        self.flow = FlowHead(d, self.frames * self.n_mels, m.flow_width, m.flow_depth)
        if m.n_phones:
            # The phone stream: read as one embedding per (frame, phone), written by a head
            # that sees the text token chosen at the same position (so a word's first phoneme
            # agrees with the word just chosen). Both start at zero: a model fine-tuned from
            # one without phones begins as that model.
            self.phone_embed = nn.Embedding(self.frames * m.n_phones, d)
            self.phone_token = nn.Embedding(m.vocab_size, d)
            self.phone_head = nn.Linear(d, self.frames * m.n_phones)
            # ... and the phones of the very slot being voiced, straight to the flow head (the
            # trunk sees them only as an input two output positions back), and those of the
            # `phone_ahead` slots after it (what comes next shapes how a sound is said)
            self.phone_now = nn.Embedding(self.frames * m.n_phones, d)
            if m.phone_ahead:
                self.phone_next = nn.Embedding(m.phone_ahead * self.frames * m.n_phones, d)
        if m.pending:
            # the pending piece, read through the text embedding (so that it is the same word
            # as the one the tied text head would say) and its own projection; and a copy gate:
            # a logit the hidden state adds to that piece (`text_logits`). Both start at zero:
            # a model fine-tuned from one without them begins as that model
            self.pending_proj = nn.Linear(d, d, bias=False)
            self.copy_gate = nn.Linear(d, 1)
        # Per-channel log-mel statistics of the training data: the flow head works in
        # standardised units; these map to and from log10 mel (saved with the weights).
        self.register_buffer("mel_mean", torch.zeros(self.n_mels))
        self.register_buffer("mel_std", torch.ones(self.n_mels))
        self._init_weights()

    def standardize(self, logmel: torch.Tensor) -> torch.Tensor:
        """log10 mel (..., n_mels) -> standardised units."""
        return (logmel - self.mel_mean) / self.mel_std

    def destandardize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mel_std + self.mel_mean

    def _init_weights(self) -> None:
        # nanoGPT/GPT-2: N(0, 0.02) for linears and embeddings, residual output projections
        # scaled by 1/sqrt(2 * n_layers) so the residual stream's variance does not grow with
        # depth. The flow head (DiT-style zero init) and the hMLP convs keep their own init.
        for name, mod in self.named_modules():
            if name.startswith(("flow", "patch_embed")):
                continue
            if isinstance(mod, nn.Linear | nn.Embedding):
                nn.init.normal_(mod.weight, std=0.02)
                if getattr(mod, "bias", None) is not None:
                    nn.init.zeros_(mod.bias)
        std = 0.02 / math.sqrt(2 * self.cfg.model.n_layers)
        for blk in self.blocks:
            nn.init.normal_(blk.attn.wo.weight, std=std)
            w2 = blk.mlp.w2 if isinstance(blk.mlp, MoE) else blk.mlp.w2.weight
            nn.init.normal_(w2, std=std)
        with torch.no_grad():
            self.text_embed.weight[self.cfg.model.pad_id].zero_()
            if self.cfg.model.n_phones:
                self.phone_embed.weight.zero_()
                self.phone_token.weight.zero_()
                self.phone_now.weight.zero_()
                if self.cfg.model.phone_ahead:
                    self.phone_next.weight.zero_()
            if self.cfg.model.pending:
                self.pending_proj.weight.zero_()
                self.copy_gate.weight.zero_()

    # --- forward ---------------------------------------------------------------------------
    def forward(
        self,
        batch: ModelInput,
        cache: KVCache | None = None,
        run: torch.Tensor | None = None,
        heads: bool = True,
    ) -> ModelOutput:
        """batch (B rows, T positions) -> ModelOutput.

        cache: None for training (causal attention over the batch's own T positions, with
        `batch.attn_mask` if given). Or the runtime's KV cache with B == cache.slots: the T rows
        continue each running slot's sequence (any number of rows, from any row of a chunk;
        split internally at chunk boundaries) and attend over the cache. run (B,) bool: the
        slots that advance (default all); the others compute garbage and leave the cache as it
        was. heads=False skips the text/transcript heads (the runtime applies them to the rows
        it needs).
        """
        B, T = batch.text.shape
        self._check(batch, B, T)
        x = self.embed(batch, pad=cache is not None and cache.invariant)  # (B, T, d)
        cos, sin = self.rotary(batch.pos)  # (B, 1, T, hd/2) each
        aux = x.new_zeros(())
        if cache is None:
            mask = _attention_mask(batch.attn_mask, T)
            for blk in self.blocks:
                x, a = blk(x, cos, sin, mask)
                aux = aux + a
        else:
            assert batch.attn_mask is None, "the cache's sink + window policy is the mask"
            assert B == cache.slots, f"a cached forward runs all {cache.slots} slots, got {B}"
            run = torch.ones(B, dtype=torch.bool, device=x.device) if run is None else run
            parts, t = [], 0
            while t < T:  # a chunk's rows at a time: each call's queries share one chunk
                r = min(T - t, cache.P - cache.row)
                cache.begin(r, run)
                xs, c, s = x[:, t : t + r], cos[:, :, t : t + r], sin[:, :, t : t + r]
                for i, blk in enumerate(self.blocks):
                    xs, _ = blk(xs, c, s, cache=cache, layer=i)
                parts.append(xs)
                t += r
            x = torch.cat(parts, 1)
        h = self.norm(x)
        return ModelOutput(
            hidden=h,
            text_logits=self.text_logits(h, batch.pending) if heads else None,
            transcript_logits=self.transcript_head(h) if heads else None,
            aux_loss=aux / len(self.blocks),
        )

    def text_logits(self, h: torch.Tensor, pending: torch.Tensor | None) -> torch.Tensor:
        """Hidden rows (..., d) and their pending pieces (...) or None -> text logits
        (..., vocab): the text head's, with the copy gate's logit added to the pending piece
        where there is one (a pointer to the result it has to say; the hidden state decides
        when)."""
        logits = self.text_head(h)
        if not self.cfg.model.pending or pending is None:
            return logits
        gate = self.copy_gate(h) * (pending != self.cfg.model.pad_id).unsqueeze(-1)
        return logits.scatter_add(-1, pending.unsqueeze(-1), gate.to(logits.dtype))

    def embed(self, batch: ModelInput, pad: bool = False) -> torch.Tensor:
        """Fused input embeddings (B, T, d). Every modality is embedded at every position and
        masked (static shapes, no host sync); the hMLP is skipped only when the whole batch has
        no video. `pad`: GEMMs on at least MIN_ROWS rows (batch invariance)."""
        x = self.text_embed(batch.text) + self.kind_embed(batch.kind)
        if self.cfg.model.pending and batch.pending is not None:
            x = x + rows(self.pending_proj, self.text_embed(batch.pending), pad, lead=2)
        if self.cfg.model.n_phones and batch.phones is not None:
            offset = torch.arange(self.frames, device=x.device) * self.cfg.model.n_phones
            x = x + self.phone_embed(batch.phones + offset).sum(-2)
        x = x + rows(self.dmel_embed, batch.dmel, pad, lead=2) * batch.dmel_mask.unsqueeze(-1)
        if batch.patches is not None:
            p = rows(self.patch_embed, batch.patches, pad, lead=2)
            x = x + p * batch.patch_mask.unsqueeze(-1)
        return x

    def _check(self, b: ModelInput, B: int, T: int) -> None:
        """Shape/dtype contract at the public boundary (metadata only: no host sync)."""
        bt = (B, T)
        assert b.text.dtype == torch.long, "text must be long token ids"
        for name in ("kind", "pos", "dmel_mask"):
            t = getattr(b, name)
            assert tuple(t.shape) == bt, f"{name} must be {bt}, got {tuple(t.shape)}"
        assert b.kind.dtype == torch.long and b.pos.dtype == torch.long, "kind/pos must be long"
        assert b.dmel_mask.dtype == torch.bool, "dmel_mask must be bool"
        want = (B, T, self.frames, self.n_mels)
        assert tuple(b.dmel.shape) == want, f"dmel must be {want}, got {tuple(b.dmel.shape)}"
        assert b.dmel.dtype == torch.uint8, f"dmel must be uint8 codes, got {b.dmel.dtype}"
        if b.patches is not None:
            p = self.cfg.grid.patch
            want = (B, T, 3, p, p)
            assert tuple(b.patches.shape) == want, f"patches must be {want}"
            assert b.patches.is_floating_point(), "patches must be float in [0, 1]"
            assert b.patch_mask is not None and tuple(b.patch_mask.shape) == bt, (
                f"patch_mask must be {bt} bool when patches are given"
            )
        if b.phones is not None:
            want = (B, T, self.frames)
            assert tuple(b.phones.shape) == want, f"phones must be {want}"
            assert b.phones.dtype == torch.long, "phones must be long ids"
        if b.attn_mask is not None:
            assert tuple(b.attn_mask.shape) == (B, T, T), f"attn_mask must be {(B, T, T)}"
            assert b.attn_mask.dtype == torch.bool, "attn_mask must be bool"

    # --- phone stream ----------------------------------------------------------------------
    def phone_logits(self, hidden: torch.Tensor, token: torch.Tensor) -> torch.Tensor:
        """hidden (..., d) at output positions, token (...) the text token chosen there ->
        phone logits (..., frames_per_position, n_phones) for the slot `phone_lead` ahead."""
        z = self.phone_head(hidden + self.phone_token(token))
        return z.unflatten(-1, (self.frames, self.cfg.model.n_phones))

    def audio_cond(self, hidden: torch.Tensor, phones: torch.Tensor | None) -> torch.Tensor:
        """What the flow head is conditioned on: hidden (..., d) plus, with a phone stream, the
        phones of the slot being voiced and of the slots after it, (..., 1 + k,
        frames_per_position) ids with k >= `phone_ahead` (the first 1 + phone_ahead are read)."""
        m = self.cfg.model
        if not m.n_phones or phones is None:
            return hidden
        assert phones.shape[-2] > m.phone_ahead, (
            f"phones must cover the voiced slot and {m.phone_ahead} after it, got "
            f"{tuple(phones.shape)}"
        )
        offset = torch.arange(self.frames, device=phones.device) * m.n_phones
        out = hidden + self.phone_now(phones[..., 0, :] + offset).sum(-2)
        if m.phone_ahead:
            ahead = phones[..., 1 : 1 + m.phone_ahead, :].flatten(-2)
            offset = torch.arange(ahead.shape[-1], device=phones.device) * m.n_phones
            out = out + self.phone_next(ahead + offset).sum(-2)
        return out

    # --- audio head helpers ----------------------------------------------------------------
    def flow_loss(
        self,
        hidden: torch.Tensor,
        target: torch.Tensor,
        mask: torch.Tensor,
        n_draws: int = 4,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Rectified-flow loss at the masked positions.

        hidden (B, T, d); target (B, T, frames_per_position, n_mels) standardised log-mel;
        mask (B, T) bool -> scalar. Boolean selection is a host sync (fine in training) and
        runs the head only where audio is predicted.
        """
        want = (*hidden.shape[:-1], self.frames, self.n_mels)
        assert tuple(target.shape) == want, f"target must be {want}, got {tuple(target.shape)}"
        assert tuple(mask.shape) == tuple(hidden.shape[:-1]) and mask.dtype == torch.bool
        h, x1 = hidden[mask], target[mask].flatten(-2)  # (N, d), (N, frames * n_mels)
        if h.shape[0] == 0:
            return hidden.sum() * 0.0  # keeps the graph (and DDP) happy on an audio-free batch
        return self.flow.loss(h, x1, n_draws=n_draws, generator=generator)

    @torch.no_grad()
    def sample_mel(
        self,
        hidden: torch.Tensor,
        steps: int = 8,
        temperature: float = 0.7,
        generator: torch.Generator | None = None,  # FlowHead.sample's arguments, passed on
    ) -> torch.Tensor:
        """hidden (..., d) -> standardised log-mel (..., frames_per_position, n_mels)."""
        x = self.flow.sample(hidden, steps=steps, temperature=temperature, generator=generator)
        return x.unflatten(-1, (self.frames, self.n_mels))

    # --- accounting ------------------------------------------------------------------------
    def num_params(self, active: bool = False) -> int:
        """Parameter count (tied matrices once). active=True counts top_k of n_experts only."""
        n = sum(p.numel() for p in self.parameters())
        m = self.cfg.model
        if active and m.n_experts:
            for blk in self.blocks:
                per_expert = (blk.mlp.w13.numel() + blk.mlp.w2.numel()) // m.n_experts
                n -= (m.n_experts - m.top_k) * per_expert
        return n

    def estimate_flops(self, seq_len: int, flow_calls: float = 0.0) -> float:
        """Training FLOPs per token (forward + backward), nanoGPT/PaLM style:
        6 * N + 12 * n_layers * d_model * seq_len.

        N counts the active parameters that enter a matmul at every position: lookup tables
        (text unless tied, dMel table, kind) are excluded, as are the hMLP (patch positions
        only) and the flow head; pass `flow_calls` = flow-head evaluations per position
        (e.g. 0.5 of positions predict audio x 4 draws = 2.0) to add 6 * N_flow * flow_calls.
        """
        m = self.cfg.model
        n_flow = sum(p.numel() for p in self.flow.parameters())
        n = self.num_params(active=True) - n_flow
        n -= self.kind_embed.weight.numel() + self.dmel_embed.table.numel()
        if m.n_phones:
            n -= self.phone_embed.weight.numel() + self.phone_token.weight.numel()
            n -= self.phone_now.weight.numel()
            if m.phone_ahead:
                n -= self.phone_next.weight.numel()
        n -= sum(p.numel() for p in self.patch_embed.parameters())
        if not m.tie_text_head:
            n -= self.text_embed.weight.numel()
        return 6.0 * n + 12.0 * m.n_layers * m.d_model * seq_len + 6.0 * n_flow * flow_calls

    # --- checkpoints -----------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path) -> None:
        """Write `model.safetensors` + `config.json` into `directory` (created if needed)."""
        from safetensors.torch import save_model  # optional dependency (extra "model")

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "config": self.cfg.to_dict()}
        (directory / "config.json").write_text(json.dumps(meta, indent=2, sort_keys=True))
        # save_model drops the duplicate name of a tied matrix (safetensors forbids aliasing).
        save_model(self, str(directory / "model.safetensors"), metadata={"format": FORMAT})

    @classmethod
    def from_pretrained(cls, directory: str | Path, strict: bool = True) -> InteractionModel:
        """Load a directory written by `save_pretrained`; fails clearly on a format mismatch.
        strict=False: weights this code has and the checkpoint lacks keep their init (a
        fine-tune's starting point; never for serving)."""
        from safetensors.torch import load_model

        directory = Path(directory)
        meta = json.loads((directory / "config.json").read_text())
        if meta.get("format") != FORMAT:
            raise CheckpointError(f"{directory} is not a {FORMAT} checkpoint")
        if meta.get("format_version") != FORMAT_VERSION:
            raise CheckpointError(
                f"{directory} has checkpoint format_version {meta.get('format_version')}, "
                f"this code reads {FORMAT_VERSION}; convert it or use a matching microturn"
            )
        cfg = meta["config"]
        old = {"n_phones": 0, "phone_ahead": 0, "pending": False}  # saved before these: off
        cfg = {**cfg, "model": {**old, **cfg.get("model", {})}}
        model = cls(Config.from_dict(cfg))
        missing, unexpected = load_model(model, str(directory / "model.safetensors"), strict=False)
        if unexpected or (missing and strict):
            raise CheckpointError(
                f"{directory} does not match its config: missing {sorted(missing)}, "
                f"unexpected {sorted(unexpected)}"
            )
        return model


def _attention_mask(extra: torch.Tensor | None, T: int) -> torch.Tensor | None:
    """(B, T, T) bool or None -> (B, 1, T, T) bool = extra AND causal, diagonal always on."""
    if extra is None:
        return None  # SDPA's is_causal path
    eye = torch.eye(T, dtype=torch.bool, device=extra.device)
    causal = torch.ones(T, T, dtype=torch.bool, device=extra.device).tril()
    return ((extra & causal) | eye).unsqueeze(1)
