"""Offline reference sampler: the model answers a recorded conversation, micro-turn by micro-turn.

The user's side comes from a data sample; the model's side is generated: at each output
position it samples its next text token and its next 50 ms of mel (flow head), and both are
fed back as its own stream (the generated mel re-enters as dMel: it hears itself). Every step
re-runs the whole prefix, O(T^2): a reference, not the runtime (the streaming KV-cache runtime
is its own issue). Writes stereo.wav (left user, right model), model.wav, timeline.png and
model_text.json (what it said, and pocketsphinx's WER next to the data's own model voice).

    python -m microturn.sample --model runs/small/model --data data/dev#12 --out docs/samples
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from microturn.data.layout import OUTPUT, collate, layout
from microturn.data.shards import ShardReader
from microturn.grid import Grid
from microturn.mel import MelAnalyzer
from microturn.model import InteractionModel
from microturn.tokenizer import PAD, Tokenizer


@torch.no_grad()
def respond(
    model: InteractionModel,
    sample,
    seed: int = 0,
    temperature: float = 0.8,
    flow_temperature: float = 0.7,
) -> tuple[torch.Tensor, list[tuple[float, int]]]:
    """-> (model log10 mel (S*2, n_mels) for every slot, [(time_s, token) ...] it chose)."""
    from microturn.train import model_input

    cfg = model.cfg
    grid, mel = Grid(cfg.grid), MelAnalyzer(cfg)
    t = cfg.train
    tok = Tokenizer()
    lay = layout(sample.timeline, sample.arrays, tok, grid, t.text_lead, t.transcript_lag)
    T = len(lay)
    out = np.nonzero(lay.kind == OUTPUT)[0]
    fpp, n_mels = cfg.grid.frames_per_position, cfg.mel.n_mels
    silent = lay.dmel[out[0]].copy()  # the model's first slot: silence
    lay.text[out] = PAD
    lay.dmel[out] = silent
    gen = torch.Generator().manual_seed(seed)
    slot_s = grid.chunk_s / grid.positions_per_chunk
    n_slots = int(lay.pos.max()) + 1
    logmel = mel.dequantize(torch.from_numpy(np.repeat(silent[None], n_slots, 0))).reshape(
        n_slots * fpp, n_mels
    )
    said: list[tuple[float, int]] = []
    for i in out:
        b = collate([lay])
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=t.bf16):
            o = model(model_input(b))
        h = o.hidden[0, i].float()
        logits = o.text_logits[0, i].float() / max(temperature, 1e-4)
        token = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=gen))
        x = model.sample_mel(h[None], temperature=flow_temperature, generator=gen)[0]
        m = model.destandardize(x)  # (fpp, n_mels) log10 mel of this slot
        slot = int(lay.pos[i])
        logmel[slot * fpp : (slot + 1) * fpp] = m
        if token != PAD:
            said.append((round(slot * slot_s, 3), token))
        nxt = i + 1  # feed back: the next output position reads this slot's text and audio
        while nxt < T and lay.kind[nxt] != OUTPUT:
            nxt += 1
        if nxt < T:
            lay.text[nxt] = token
            lay.dmel[nxt] = mel.quantize(m).numpy()
    return logmel, said


def main(argv: list[str] | None = None) -> None:
    from microturn.audio import from_int16, save
    from microturn.vocoder import Vocoder

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="DATA_DIR#INDEX (a sample with user audio)")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    model = InteractionModel.from_pretrained(args.model).eval()
    d, i = args.data.rsplit("#", 1)
    s = ShardReader(d)[int(i)]
    logmel, said = respond(model, s, args.seed)
    wave = Vocoder(model.cfg)(logmel).numpy()
    user = from_int16(s.arrays["user_audio"])
    n = min(len(user), len(wave))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save(out / "model.wav", wave[:n])
    save(out / "stereo.wav", np.stack([user[:n], wave[:n]], 1))
    tok = Tokenizer()
    text = tok.decode([t for _, t in said])
    report = {"sample": s.timeline.id, "text": text, "tokens": said}
    try:  # intelligibility, next to the same recogniser on the data's own model voice
        from microturn.asr import transcribe, wer

        ref_text = " ".join(e.text for e in s.timeline.on("model"))
        ref_wave = from_int16(s.arrays["model_audio"])
        report["asr"] = {"generated": transcribe(wave[:n]), "reference": transcribe(ref_wave)}
        report["wer_generated"] = round(wer(text, report["asr"]["generated"]), 3)
        report["wer_reference_voice"] = round(wer(ref_text, report["asr"]["reference"]), 3)
        report["reference_text"] = ref_text
    except ImportError:
        report["asr"] = "pocketsphinx not installed (pip install -e .[eval])"
    (out / "model_text.json").write_text(json.dumps(report, indent=1))
    # the conversation as it went: the user's side from the data, the model's as generated
    from copy import deepcopy

    from microturn.plot import plot_timeline
    from microturn.synth import Word
    from microturn.timeline import Event

    tl = deepcopy(s.timeline)
    tl.events = [e for e in tl.events if e.channel != "model"]
    ws = [Word(tok.decode([k]) or "<special>", ts, ts + 0.05) for ts, k in said]
    if ws:
        tl.events.append(Event("model", "generated", ws[0].t_on, ws[-1].t_off, text, ws))
    plot_timeline(tl, out / "timeline.png", user[:n], wave[:n])
    print(json.dumps({k: v for k, v in report.items() if k != "tokens"}))


if __name__ == "__main__":
    main()
