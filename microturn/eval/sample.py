"""A sample for the docs: the model answers a recorded conversation from a data split, through
the streaming runtime, and we measure how intelligible its voice is.

The user's side comes from a shard sample (its stored waveform); the model's side is what a
live session says (`microturn.runtime`). Writes stereo.wav (left user, right model), model.wav,
timeline.png (`microturn run`'s files) and model_text.json: what it said, the offline ASR's
transcript of its audio and the WER against its own words — next to the same recogniser on
the data's reference model voice saying the reference reply.

    microturn sample --model runs/small/model --data "data/dev#12" --out docs/samples/x
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from microturn.audio import from_int16, save
from microturn.data.shards import read_sample
from microturn.model import InteractionModel
from microturn.runtime.runner import run_file


def own_wer(said: str, heard: str) -> float | None:
    """WER of the recogniser's transcript against the words the model meant to say; None
    when it said none (there is nothing to be intelligible, and 0/0 is not a perfect score)."""
    from microturn.eval.asr import wer

    return round(wer(said, heard), 3) if said.split() else None


def main(args) -> None:
    """`microturn sample`: writes OUT/ (see above) and prints model_text.json as one line."""
    model = InteractionModel.from_pretrained(args.model).eval()
    s = read_sample(args.data)
    out = Path(args.out)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "user.wav"
        save(wav, from_int16(s.arrays["user_audio"]))
        summary = run_file(model, wav, out, seed=args.seed)
    events = [json.loads(x) for x in (out / "events.jsonl").read_text().splitlines()]
    report = {"sample": s.timeline.id, "text": summary["said"], "events": len(events)}
    try:  # intelligibility, next to the same recogniser on the data's own model voice
        import soundfile as sf

        from microturn.eval.asr import normalize, transcribe, wer

        said, _ = sf.read(str(out / "model.wav"), dtype="float32")
        ref_text = " ".join(e.text for e in s.timeline.on("model"))
        report["asr"] = {
            "generated": transcribe(said),
            "reference": transcribe(from_int16(s.arrays["model_audio"])),
        }
        report["wer_generated"] = own_wer(normalize(summary["said"]), report["asr"]["generated"])
        report["wer_reference_voice"] = round(
            wer(normalize(ref_text), report["asr"]["reference"]), 3
        )
        report["reference_text"] = ref_text
    except ImportError:
        report["asr"] = "no offline ASR installed (pip install -e .[eval])"
    (out / "model_text.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report))
