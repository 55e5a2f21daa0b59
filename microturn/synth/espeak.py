"""espeak-ng through ctypes on libespeak-ng.so.1: in-process synthesis with word onsets.

The library is process-global (one voice at a time), which suits our one-process-per-worker
data engine. Word onsets come from espeakEVENT_WORD callbacks; a word ends where the next
begins (trim() then tightens ends to the speech energy). Phoneme onsets come from
espeakEVENT_PHONEME callbacks (espeak-ng's own mnemonics, e.g. "aI", "w", "oU"), each tagged
with the text position of its word; pauses ("_", "_:") belong to no word.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

import numpy as np

from microturn.synth.base import SAMPLE_RATE, SynthError, Voice, Word

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_DONT_EXIT = 0x8000
_INIT_PHONEME_EVENTS = 0x0001
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_EVENT_WORD = 1
_EVENT_PHONEME = 7
_RATE, _PITCH = 1, 3
DEFAULT_WPM = 175
# The command line resolves language codes; the library wants voice file names.
_ALIASES = {"en-gb": "en"}


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # 1-based character offset
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),  # ms from the start of this synth call
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", ctypes.c_char * 8),
    ]


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)


class _Engine:
    def __init__(self) -> None:
        path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
        try:
            self.lib = ctypes.CDLL(path)
        except OSError:
            raise SynthError(
                "espeak-ng is not installed (libespeak-ng.so.1 not found): "
                "apt-get install espeak-ng"
            ) from None
        self.sr = self.lib.espeak_Initialize(
            _AUDIO_OUTPUT_SYNCHRONOUS, 0, None, _INIT_DONT_EXIT | _INIT_PHONEME_EVENTS
        )
        if self.sr <= 0:
            raise SynthError("espeak-ng failed to initialise (is espeak-ng-data installed?)")
        self.lib.espeak_Synth.argtypes = [
            ctypes.c_char_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self._pcm: list[np.ndarray] = []
        self._events: list[tuple[int, int, int]] = []  # words: text pos, length, ms
        self._phones: list[tuple[int, str, int]] = []  # text pos, mnemonic, ms
        self._cb = _CALLBACK(self._on_audio)  # keep a reference: ctypes does not
        self.lib.espeak_SetSynthCallback(self._cb)
        self.lock = threading.Lock()

    def _on_audio(self, wav, n, events) -> int:
        if n > 0:
            self._pcm.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != 0:  # espeakEVENT_LIST_TERMINATED
            e = events[i]
            if e.type == _EVENT_WORD:
                self._events.append((e.text_position, e.length, e.audio_position))
            elif e.type == _EVENT_PHONEME:
                name = e.id.decode("ascii", "replace")
                self._phones.append((e.text_position, name, e.audio_position))
            i += 1
        return 0

    def render(self, text: str, voice: Voice) -> tuple[np.ndarray, list[Word], int]:
        with self.lock:
            name = voice.name
            base, plus, variant = name.partition("+")
            name = _ALIASES.get(base, base) + plus + variant
            if self.lib.espeak_SetVoiceByName(name.encode()) != 0:
                raise SynthError(f"espeak-ng has no voice {voice.name!r}")
            self.lib.espeak_SetParameter(_RATE, int(round(DEFAULT_WPM * voice.rate)), 0)
            self.lib.espeak_SetParameter(_PITCH, int(voice.pitch), 0)
            self._pcm, self._events, self._phones = [], [], []
            raw = text.encode("utf-8")
            err = self.lib.espeak_Synth(
                raw, len(raw) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
            )
            if err != 0:
                raise SynthError(f"espeak-ng synthesis failed (error {err}) for {text!r}")
            pcm = np.concatenate(self._pcm) if self._pcm else np.zeros(0, np.int16)
            events, phones = list(self._events), list(self._phones)
        audio = pcm.astype(np.float32) / 32768.0
        dur = len(audio) / self.sr
        words = []
        for k, (pos, length, ms) in enumerate(events):
            nxt = events[k + 1][0] - 1 if k + 1 < len(events) else len(raw)
            w = _whole_word(raw, pos - 1, pos - 1 + length, nxt)
            end = events[k + 1][2] / 1000 if k + 1 < len(events) else dur
            on = ms / 1000
            own = [[p, round(max(t / 1000 - on, 0.0), 4)] for q, p, t in phones if q == pos]
            if w:
                words.append(Word(w, on, max(on, end), [p for p in own if p[0][0] != "_"]))
        return audio, words, self.sr


def _whole_word(raw: bytes, a: int, b: int, limit: int) -> str:
    """The word at raw[a:b], extended to the next space (but not into the next word event at
    `limit`): espeak-ng's event length stops at an apostrophe ("won't" -> "won"). An event
    of no length (some voices add one inside a word: "eight" has a second at its "t") is no
    word."""
    if b <= a:
        return ""
    while b < min(limit, len(raw)) and raw[b : b + 1] not in (b" ", b"\0"):
        b += 1
    return raw[a:b].decode("utf-8", "replace").strip(" ,.?!;:\0")


_engine: _Engine | None = None


def render(text: str, voice: Voice) -> tuple[np.ndarray, list[Word]]:
    """Speak text; return 16 kHz float32 audio (untrimmed) and word times in seconds."""
    global _engine
    if _engine is None:
        _engine = _Engine()
    audio, words, sr = _engine.render(text, voice)
    from microturn.audio import resample

    return resample(audio, sr, SAMPLE_RATE), words
