"""flite through its command line: one `flite` process per utterance, word times by alignment.

The flite CLI prints segment (phone) end times (`-psdur`) but no word boundaries: `-pr` prints
only item names, never the Word->Segment structure. So we ask `t2p` (flite's own
text-to-phones tool, same package and lexicon) for each word's phones in isolation, cache them,
and align the utterance's phones to the concatenated word phones (difflib), which absorbs the
few context-dependent changes (e.g. "the" -> "dh iy" before a vowel). A word spans its first
phone's start to its last phone's end; pauses belong to no word.
"""

from __future__ import annotations

import difflib
import functools
import shutil
import subprocess
import tempfile

import numpy as np

from microturn.synth.base import SAMPLE_RATE, SynthError, Voice, Word

TIMEOUT_S = 30.0
PITCH_SEMITONES = 6.0  # pitch 0..99 maps to -6..+6 semitones around the voice's mean F0
_PUNCT = " ,.?!;:"
_PROBE = "a short test of the speed."
_lex: dict[str, list[str]] = {}  # word -> phones in isolation (flite's lexicon is fixed)


def _exe(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SynthError(f"{name} is not installed (not on PATH): apt-get install flite")
    return path


def _run(args: list[str]) -> str:
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise SynthError(f"{args[0]} timed out after {TIMEOUT_S:.0f} s") from None
    if r.returncode != 0:
        raise SynthError(f"{args[0]} failed (exit {r.returncode}): {r.stderr.strip()[:200]}")
    return r.stdout


@functools.cache
def voices() -> tuple[str, ...]:
    """The voices this flite build has (`flite -lv`)."""
    out = _run([_exe("flite"), "-lv"])
    return tuple(out.split(":", 1)[-1].split())


def _total(out: str) -> float:
    """Total duration from `-psdur` output (the last segment's end, summed over lines)."""
    return sum(float(line.split()[-1].rpartition(":")[2]) for line in out.splitlines() if line)


@functools.cache
def _default_stretch(name: str) -> float:
    """The voice's own duration_stretch (kal: 1.1, clustergen voices: 1.0), measured once,
    so that rate 1.0 is the voice's default speed."""

    def total(*setf: str) -> float:
        args = [_exe("flite"), "-voice", name, *setf, "-psdur", "-t", _PROBE, "-o", "none"]
        return _total(_run(args))

    base = total("--setf", "duration_stretch=1")
    return round(total() / base, 2) if base > 0 else 1.0


def _phones(text: str) -> list[str]:
    """t2p's phones for `text`, stress digits and pauses dropped."""
    return [p.rstrip("012") for p in _run([_exe("t2p"), text]).split() if p != "pau"]


def _lexicon(words: list[str]) -> list[list[str]]:
    new = [w for w in dict.fromkeys(words) if w not in _lex]
    if new:
        # one t2p call for all new words: commas make each a phrase, so pauses separate them
        out = _run([_exe("t2p"), ", ".join(new)]).split()
        groups = " ".join(p.rstrip("012") for p in out).split("pau")
        groups = [g.split() for g in groups if g.strip()]
        if len(groups) != len(new):  # a token with an inner pause (rare): one call per word
            groups = [_phones(w) for w in new]
        _lex.update(zip(new, groups, strict=True))
    return [_lex[w] for w in words]


def _word_times(words: list[str], segs: list[tuple[str, float, float]]) -> list[Word]:
    """Align spoken phones (name, start, end) to the words' dictionary phones."""
    ref = [(p, k) for k, ph in enumerate(_lexicon(words)) for p in ph]
    spoken = [s for s in segs if s[0] != "pau"]
    owner = [-1] * len(spoken)
    sm = difflib.SequenceMatcher(None, [s[0] for s in spoken], [r[0] for r in ref], False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        for i in range(i1, i2):
            if op in ("equal", "replace"):
                owner[i] = ref[min(j2 - 1, j1 + (i - i1) * (j2 - j1) // (i2 - i1))][1]
            elif op == "delete":  # an extra spoken phone: it belongs to the word before
                owner[i] = ref[j1 - 1][1] if j1 > 0 else (ref[0][1] if ref else 0)
    out, t = [], segs[0][1] if segs else 0.0
    for k, w in enumerate(words):
        mine = [s for s, o in zip(spoken, owner, strict=True) if o == k]
        on, off = (mine[0][1], mine[-1][2]) if mine else (t, t)  # unspoken: zero length
        out.append(Word(w, on, off))
        t = off
    return out


def render(text: str, voice: Voice) -> tuple[np.ndarray, list[Word]]:
    """Speak text; return 16 kHz float32 audio (untrimmed) and word times in seconds."""
    import soundfile as sf

    from microturn.audio import resample

    flite = _exe("flite")
    # a bare dash or quote is not a word
    words = [w for w in (w.strip(_PUNCT) for w in text.split()) if any(c.isalnum() for c in w)]
    if not words:
        raise SynthError(f"flite: nothing to say in {text!r}")
    if voice.name not in voices():
        raise SynthError(f"flite has no voice {voice.name!r}; known: {', '.join(voices())}")
    shift = 2 ** ((voice.pitch - 50) / 50 * PITCH_SEMITONES / 12)
    stretch = _default_stretch(voice.name) / voice.rate
    args = [flite, "-voice", voice.name, "-psdur", "--setf", f"duration_stretch={stretch:.4f}"]
    args += ["--setf", f"f0_shift={shift:.4f}"]  # scales the voice's mean F0 (not rms's)
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        out = _run([*args, "-t", text, "-o", f.name])
        audio, sr = sf.read(f.name, dtype="float32")
    # "-psdur" prints "name:end" per segment, a line per utterance (times restart on each)
    segs, t = [], 0.0
    for line in out.splitlines():
        base = t
        for tok in line.split():
            name, _, end = tok.rpartition(":")
            segs.append((name, t, base + float(end)))
            t = base + float(end)
    times = _word_times(words, segs)
    if times:  # the edge pauses are silence by design, but kal's pau units carry noise
        # (a -25 dB burst before "w") that trimming would keep as speech: mute them
        audio[: max(0, int((times[0].t_on - 0.03) * sr))] = 0.0
        audio[int((times[-1].t_off + 0.1) * sr) :] = 0.0
    # kal cuts the final pause short, so its audio ends before the last segment does; the
    # speech itself follows the segment times, so no rescaling
    return resample(audio, sr, SAMPLE_RATE), times
