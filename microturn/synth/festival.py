"""Festival through a generated Scheme script: audio plus each word's segment-based times.

One `festival -b` process synthesizes every utterance of a batch: it selects the voice, sets
the speed and pitch, saves each wave and prints every Word item's start (its first segment's
start) and end (its last segment's end). Startup dominates: one utterance per process costs
~0.15 s (diphone voices) to ~0.22 s (HTS), a batch of ten ~25-75 ms per utterance, so callers
with many utterances should use `render_many`; `render` is a batch of one.

Controls: rate divides the voice's own Duration_Stretch (diphone voices) or sets hts_engine's
speed ("-r"; HTS ignores Duration_Stretch). Pitch scales the F0 target mean and range of the
diphone voices' intonation model; this festival's HTS module reads no F0 option, so the HTS
voice ignores pitch.
"""

from __future__ import annotations

import difflib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from microturn.synth.base import SAMPLE_RATE, SynthError, Voice, Word

TIMEOUT_S = 20.0  # per utterance in a batch, plus startup
PITCH_SEMITONES = 6.0  # pitch 0..99 maps to -6..+6 semitones around the voice's mean F0
_PUNCT = " ,.?!;:"

# (mt_say INDEX TEXT VOICE RATE F0-FACTOR WAV) prints "T idx token" per token, then
# "W idx start end" per word of that token (a token's other daughters are punctuation), then
# "D idx"; an unknown voice prints "X idx ...".
_PRELUDE = """
(define (mt_f0 k p)
  (if (member_string (car p) '(target_f0_mean target_f0_std)) (list (car p) (* k (car (cdr p)))) p))
(define (mt_word i w)
  (format t "W\\t%d\\t%f\\t%f\\n" i
    (item.feat w "R:SylStructure.daughter1.daughter1.segment_start")
    (item.feat w "R:SylStructure.daughtern.daughtern.end")))
(define (mt_tokens i utt)
  (let ((tok (utt.relation.first utt 'Token)))
    (while tok
      (format t "T\\t%d\\t%s\\n" i (item.name tok))
      (mapcar (lambda (w) (if (item.relation w 'Word) (mt_word i w))) (item.daughters tok))
      (set! tok (item.next tok)))))
(define (mt_say i text voice rate k wav)
  (if (not (member_string voice (voice.list)))
    (format t "X\\t%d\\t%l\\n" i (voice.list))
    (unwind-protect
      (let ((utt nil))
        (Parameter.set 'Duration_Stretch 1)  ; voices that set none must not inherit ours
        (voice.select (intern voice))
        (Parameter.set 'Duration_Stretch (/ (Parameter.get 'Duration_Stretch) rate))
        (if (equal? (Parameter.get 'Synth_Method) 'HTS)
          (set! hts_engine_params (cons (list "-r" rate) hts_engine_params)))
        (set! int_lr_params (mapcar (lambda (p) (mt_f0 k p)) int_lr_params))
        (set! utt (eval (list 'Utterance 'Text text)))
        (utt.synth utt)
        (utt.save.wave utt wav 'riff)
        (mt_tokens i utt)
        (format t "D\\t%d\\n" i))
      (format t "F\\t%d\\n" i))))  ; an error: no "D", and the message is on stderr
"""


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _words(text: str, tokens: list[tuple[str, list[tuple[float, float]]]]) -> list[Word]:
    """Give each of the text's words its festival token's span (a token may say several words,
    "42" -> forty two, or none). Tokens are the text's blank-separated pieces, so they pair up
    by position; if festival split differently, pair them by name."""
    spoken = [w.strip(_PUNCT) for w in text.split()]
    if len(tokens) == len(spoken):
        pairs = dict(enumerate(range(len(spoken))))
    else:
        sm = difflib.SequenceMatcher(None, spoken, [tk[0] for tk in tokens], False)
        pairs = {a + n: b + n for a, b, size in sm.get_matching_blocks() for n in range(size)}
    out, t = [], 0.0
    for i, w in enumerate(spoken):
        if not any(c.isalnum() for c in w):  # a bare dash or quote is not a word
            continue
        spans = tokens[pairs[i]][1] if i in pairs else []
        on, off = (spans[0][0], spans[-1][1]) if spans else (t, t)  # unspoken: zero length
        out.append(Word(w, on, max(on, off)))
        t = max(on, off)
    return out


def render_many(items: list[tuple[str, Voice]]) -> list[tuple[np.ndarray, list[Word]]]:
    """Synthesize many (text, voice) pairs in one festival process; same output as `render`
    for each. Use it for bulk generation: it pays festival's startup once."""
    import soundfile as sf

    from microturn.audio import resample

    exe = shutil.which("festival")
    if exe is None:
        raise SynthError("festival is not installed (not on PATH): apt-get install festival")
    for text, _ in items:
        if not any(c.isalnum() for c in text):  # festival crashes on utterances with no words
            raise SynthError(f"festival: nothing to say in {text!r}")
    with tempfile.TemporaryDirectory(prefix="mt_festival_") as tmp:
        lines = [_PRELUDE]
        for i, (text, v) in enumerate(items):
            k = 2 ** ((v.pitch - 50) / 50 * PITCH_SEMITONES / 12)
            wav = _quote(str(Path(tmp) / f"{i}.wav"))
            lines.append(f"(mt_say {i} {_quote(text)} {_quote(v.name)} {v.rate} {k:.4f} {wav})")
        script = Path(tmp) / "run.scm"
        script.write_text("\n".join(lines) + "\n")
        try:
            cmd, timeout = [exe, "-b", str(script)], 5 + TIMEOUT_S * len(items)
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SynthError(f"festival timed out on {len(items)} utterance(s)") from None
        tokens: dict[int, list] = {i: [] for i in range(len(items))}
        done, unknown = set(), {}
        for line in r.stdout.splitlines():
            f = line.split("\t")
            if f[0] == "T" and len(f) == 3:
                tokens[int(f[1])].append((f[2], []))
            elif f[0] == "W" and len(f) == 4 and tokens[int(f[1])]:
                tokens[int(f[1])][-1][1].append((float(f[2]), float(f[3])))
            elif f[0] == "D":
                done.add(int(f[1]))
            elif f[0] == "X":
                unknown[int(f[1])] = f[2]
        out = []
        for i, (text, v) in enumerate(items):
            if i in unknown:
                raise SynthError(f"festival has no voice {v.name!r}; known: {unknown[i]}")
            if i not in done:
                err = r.stderr.strip().splitlines()[-1:] or [f"exit {r.returncode}"]
                raise SynthError(f"festival failed on {text!r} ({v.name}): {err[0][:200]}")
            audio, sr = sf.read(Path(tmp) / f"{i}.wav", dtype="float32")
            audio, words = resample(audio, sr, SAMPLE_RATE), _words(text, tokens[i])
            out.append((_mute_edges(audio, words), words))
    return out


def _mute_edges(audio: np.ndarray, words: list[Word]) -> np.ndarray:
    """The edge pauses are silence by design, but the diphone voices' pau units carry noise
    (-25..-40 dB) that trimming would keep as speech: mute them."""
    if words:
        audio[: max(0, int((words[0].t_on - 0.03) * SAMPLE_RATE))] = 0.0
        audio[int((words[-1].t_off + 0.1) * SAMPLE_RATE) :] = 0.0
    return audio


class _Server:
    """One long-lived `festival --pipe` per Python process: voices load once, and an utterance
    costs milliseconds instead of the ~0.15-0.22 s of a fresh process. Output is line-buffered
    (stdbuf + fflush) and each request ends with an "E" line, so reads never block forever."""

    def __init__(self) -> None:
        exe = shutil.which("festival")
        if exe is None:
            raise SynthError("festival is not installed (not on PATH): apt-get install festival")
        cmd = [exe, "--pipe"]
        if shutil.which("stdbuf"):
            cmd = ["stdbuf", "-oL", *cmd]
        self.tmp = tempfile.TemporaryDirectory(prefix="mt_festival_")
        self.p = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        self.p.stdin.write(_PRELUDE + "\n")
        self.n, self.buf = 0, ""

    def say(self, text: str, v: Voice) -> tuple[list[str], Path]:
        import select

        self.n += 1
        k = 2 ** ((v.pitch - 50) / 50 * PITCH_SEMITONES / 12)
        wav = Path(self.tmp.name) / "u.wav"
        self.p.stdin.write(
            f"(mt_say {self.n} {_quote(text)} {_quote(v.name)} {v.rate} "
            f'{k:.4f} {_quote(str(wav))})(format t "E\\t%d\\n" {self.n})'
            "(fflush nil)\n"
        )
        self.p.stdin.flush()
        lines, fd = [], self.p.stdout.fileno()
        while True:  # our own line buffer: select() can't see data already in a Python buffer
            while "\n" not in self.buf:
                ready, _, _ = select.select([fd], [], [], TIMEOUT_S)
                chunk = os.read(fd, 65536) if ready else b""
                if not chunk:
                    raise SynthError(f"festival stopped answering on {text!r} ({v.name})")
                self.buf += chunk.decode("utf-8", "replace")
            line, self.buf = self.buf.split("\n", 1)
            if line.startswith(f"E\t{self.n}"):
                return lines, wav
            lines.append(line)

    def close(self) -> None:
        self.p.kill()
        self.tmp.cleanup()


_server: _Server | None = None


def render(text: str, voice: Voice) -> tuple[np.ndarray, list[Word]]:
    """Speak text; return 16 kHz float32 audio (untrimmed) and word times in seconds.
    Uses the process's festival server (restarted after a failure)."""
    import soundfile as sf

    from microturn.audio import resample

    global _server
    if not any(c.isalnum() for c in text):  # festival crashes on utterances with no words
        raise SynthError(f"festival: nothing to say in {text!r}")
    if _server is None:
        _server = _Server()
    try:
        lines, wav = _server.say(text, voice)
    except (SynthError, OSError) as e:
        _server.close()
        _server = None
        raise SynthError(str(e)) from None
    tokens: list = []
    for line in lines:
        f = line.split("\t")
        if f[0] == "X":
            raise SynthError(f"festival has no voice {voice.name!r}; known: {f[2]}")
        if f[0] == "F":
            raise SynthError(f"festival failed on {text!r} ({voice.name})")
        if f[0] == "T" and len(f) == 3:
            tokens.append((f[2], []))
        elif f[0] == "W" and len(f) == 4 and tokens:
            tokens[-1][1].append((float(f[2]), float(f[3])))
    audio, sr = sf.read(wav, dtype="float32")
    audio, words = resample(audio, sr, SAMPLE_RATE), _words(text, tokens)
    return _mute_edges(audio, words), words
