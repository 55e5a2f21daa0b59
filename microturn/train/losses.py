"""The training losses, as global means over every rank's share of the batch, and the bf16
autocast they run under (see the package docstring for the terms)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F

from microturn.config import Config
from microturn.data.layout import IGNORE, Batch
from microturn.model import InteractionModel, ModelInput
from microturn.tokenizer import DELEGATE, PAD
from microturn.train.self_feed import self_feed


@functools.cache
def bf16_fast(device_type: str) -> bool:
    """Whether bf16 autocast pays here: a GPU with bf16, or a CPU with native bf16 arithmetic
    (AVX512-BF16 / AMX: ~2.6x faster than fp32). On an AVX2-only CPU bf16 is emulated and ~30x
    *slower* than fp32 (measured on a 2-core AMD EPYC), so `bf16=True` falls back to fp32."""
    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device_type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def autocast(device_type: str, t) -> torch.autocast:
    """bf16 autocast when `t.bf16` asks for it and it is native here (`bf16_fast`)."""
    return torch.autocast(device_type, torch.bfloat16, enabled=t.bf16 and bf16_fast(device_type))


def model_input(b: Batch) -> ModelInput:
    patches = None if b.patches is None else b.patches.float() / 255.0
    return ModelInput(
        dmel=b.dmel,
        dmel_mask=b.valid,
        text=b.text,
        kind=b.kind,
        pos=b.pos,
        patches=patches,
        patch_mask=b.patch_mask if patches is not None else None,
        phones=b.phone,
        pending=b.pending,
    )


def rank_and_world() -> tuple[int, int]:
    """(this process's rank, the number of ranks): (0, 1) outside `torchrun`."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def phone_terms(model: InteractionModel, hidden: torch.Tensor, b: Batch, pad_weight: float):
    """The phone stream's per-target weights and cross-entropies, (B, T, frames) each: the head
    sees the true text token of its position (teacher forcing); silence weighs `pad_weight`
    as text pads do. Zeros for a model without a phone stream."""
    if not model.cfg.model.n_phones:
        z = hidden.new_zeros(b.phone_target.shape)
        return z, z
    token = b.text_target.clamp_min(0)
    logits = model.phone_logits(hidden.float(), token)  # (B, T, frames, n_phones)
    w = torch.where(b.phone_target == 0, pad_weight, 1.0) * (b.phone_target != IGNORE)
    ce = F.cross_entropy(
        logits.flatten(0, -2), b.phone_target.clamp_min(0).flatten(), reduction="none"
    )
    return w, ce.view_as(w)


def keep_term(student: torch.Tensor, teacher: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) of the two-way choice "say nothing (<pad>) or say a piece" at
    each text position, weighted (B, T) and summed: text logits (B, T, vocab) -> (). It holds
    *when* the model speaks where its teacher (the `--init` model) decided, and leaves *which*
    piece free, as the runtime samples it in two steps (runtime/session.py: Sampling)."""

    def two_way(logits: torch.Tensor) -> torch.Tensor:  # (B, T, 2) log [pad, a piece]
        lse = logits.logsumexp(-1)
        speak = torch.cat([logits[..., :PAD], logits[..., PAD + 1 :]], -1).logsumexp(-1)
        return torch.stack([logits[..., PAD] - lse, speak - lse], -1)

    log_s, log_t = two_way(student.float()), two_way(teacher.float())
    kl = (log_t.exp() * (log_t - log_s)).sum(-1)
    return (kl * weight).sum()


@dataclass
class Losses:
    total: torch.Tensor
    parts: dict[str, float]


def losses(
    model: InteractionModel,
    b: Batch,
    cfg: Config,
    gen: torch.Generator,
    distributed: bool = True,
    teacher: InteractionModel | None = None,
) -> Losses:
    """Global-mean losses (see the package docstring); `parts` are the per-term global means.
    `teacher` (with `keep` > 0): the frozen `--init` model, for `keep_term`."""
    t = cfg.train
    world = rank_and_world()[1] if distributed else 1
    device = b.text.device.type
    core = model.module if hasattr(model, "module") else model
    with autocast(device, t):
        inp = self_feed(core, b, model_input(b), t.self_feed, gen, t.self_feed_passes)
        out = model(inp)
        if teacher is not None:
            with torch.no_grad():
                held = teacher(inp).text_logits
    text_w = torch.where(b.text_target == PAD, t.pad_weight, 1.0) * (b.text_target != IGNORE)
    text_w = torch.where(b.decide, t.decision_weight, text_w)  # turn-taking decisions
    text_w = torch.where(b.text_target == DELEGATE, text_w * t.delegate_weight, text_w)
    quiet = b.listen & (b.text_target == PAD)  # not talking over the user's words
    text_w = torch.where(quiet, t.listen_weight, text_w)
    tr_w = torch.where(b.transcript_target == PAD, t.pad_weight, 1.0) * (
        b.transcript_target != IGNORE
    )
    ce_text = F.cross_entropy(
        out.text_logits.float().transpose(1, 2), b.text_target.clamp_min(0), reduction="none"
    )
    ce_tr = F.cross_entropy(
        out.transcript_logits.float().transpose(1, 2),
        b.transcript_target.clamp_min(0),
        reduction="none",
    )
    mel = core.standardize(b.mel_target.unflatten(-1, (-1, core.n_mels)))
    cond = core.audio_cond(out.hidden.float(), b.phone_now)
    flow_mean = core.flow_loss(cond, mel, b.mel_mask, n_draws=t.flow_draws, generator=gen)
    ph_w, ce_ph = phone_terms(core, out.hidden, b, t.pad_weight)
    # the turn-taking decisions weigh as much as in the text loss
    keep_w = torch.where(b.decide, t.decision_weight, 1.0) * (b.text_target != IGNORE)
    keep = keep_term(out.text_logits, held, keep_w) if teacher is not None else keep_w.new_zeros(())
    counts = torch.stack(
        [text_w.sum(), tr_w.sum(), b.mel_mask.sum().float(), ph_w.sum(), keep_w.sum()]
    ).detach()
    local = counts.clone()
    if world > 1:
        dist.all_reduce(counts)
    n_text, n_tr, n_mel, n_ph, n_keep = counts.clamp_min(1.0)
    text = (ce_text * text_w).sum() / n_text
    trans = (ce_tr * tr_w).sum() / n_tr
    flow = flow_mean * local[2] / n_mel
    phone = (ce_ph * ph_w).sum() / n_ph
    keep = keep / n_keep
    total = t.text_weight * text + t.transcript_weight * trans + t.flow_weight * flow
    total = total + t.keep * keep
    total = total + t.phone_weight * phone + t.aux_weight * out.aux_loss / world
    # DDP averages gradients over ranks; scale so the sum of rank shares is the global mean
    parts = torch.stack([text, trans, flow, phone, keep]).detach()
    if world > 1:
        dist.all_reduce(parts)
    return Losses(
        total * world,
        {
            "text": parts[0].item(),
            "transcript": parts[1].item(),
            "flow": parts[2].item(),
            **({"phone": parts[3].item()} if core.cfg.model.n_phones else {}),
            **({"keep": parts[4].item()} if teacher is not None else {}),
            "aux": out.aux_loss.item(),
        },
    )
