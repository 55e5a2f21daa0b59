"""Timeline -> audio: the user's microphone channel and the model's channel, sample-exact.

Every speech event is re-synthesized (a per-process cache makes this free right after the
scene builder made it), peak-normalised to its `gain_db`, and added at round(t_on * sr).
Clips were trimmed, so the silences between them are exactly the timeline's. Background
noise is scaled to its SNR against the user's speech; a faint dither goes on both channels
so that silence is never digital zero (else the lowest dMel bin becomes a perfect VAD).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from microturn.config import GridConfig
from microturn.synth import synthesize
from microturn.timeline import Event, Timeline

SR = GridConfig().sample_rate


@dataclass
class Rendered:
    user: np.ndarray  # (T,) float32: user speech + other people + cues + noise + dither
    model: np.ndarray  # (T,) float32: the model's speech + dither
    video: np.ndarray | None  # (N, side, side, 3) uint8 at the grid's video rate, or None


def speech(e: Event) -> np.ndarray:
    """The event's audio, peak-normalised to its gain."""
    src = e.attrs.get("source")
    if src is None:
        x = synthesize(e.text, e.voice, e.attrs.get("prosody", "final")).audio
    else:
        clip = synthesize(src["text"], e.voice, "final")
        a = int(round(clip.words[src["start"]].t_on * SR))
        b = int(round(clip.words[src["end"] - 1].t_off * SR))
        x = clip.audio[a:b]
    peak = float(np.abs(x).max()) or 1.0
    x = x * (10 ** (e.attrs.get("gain_db", 0.0) / 20) / peak)
    if "stop_at" in e.attrs:  # cut off mid-word (a barge-in), with a 10 ms fade
        n = max(0, int(round((e.attrs["stop_at"] - e.t_on) * SR)))
        x = x[:n].copy()
        f = min(len(x), SR // 100)
        if f:
            x[-f:] *= np.linspace(1.0, 0.0, f, dtype=np.float32)
    return x


def tone(e: Event, n: int) -> np.ndarray:
    t = np.arange(n) / SR
    ramp = np.minimum(1.0, np.minimum(t, t[::-1]) / 0.005)  # 5 ms fades: no clicks
    amp = 10 ** (e.attrs.get("gain_db", -6.0) / 20)
    return (amp * ramp * np.sin(2 * np.pi * e.attrs["freq"] * t)).astype(np.float32)


def noise(color: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white, pink (1/f) or brown (1/f^2) noise."""
    w = rng.standard_normal(n)
    if color != "white":
        f = np.fft.rfftfreq(n, 1 / SR)
        f[0] = f[1] if n > 1 else 1.0
        w = np.fft.irfft(np.fft.rfft(w) / (f if color == "brown" else np.sqrt(f)), n)
    return (w / (np.sqrt(np.mean(w * w)) + 1e-12)).astype(np.float32)


def place(buf: np.ndarray, x: np.ndarray, t: float) -> None:
    a = int(round(t * SR))
    x = x[: max(0, len(buf) - a)]
    buf[a : a + len(x)] += x


def render(tl: Timeline, video: bool = True) -> Rendered:
    n = int(round(tl.duration * SR))
    user = np.zeros(n, np.float32)
    model = np.zeros(n, np.float32)
    for e in tl.events:
        if e.voice is not None and e.channel in ("user", "other"):
            place(user, speech(e), e.t_on)
        elif e.voice is not None and e.channel == "model":
            place(model, speech(e), e.t_on)
        elif e.channel == "cue":
            place(user, tone(e, int(round((e.t_off - e.t_on) * SR))), e.t_on)
    rng = np.random.default_rng(tl.meta.get("seed", 0))
    voiced = np.abs(user) > 1e-4
    level = float(np.sqrt(np.mean(user[voiced] ** 2))) if voiced.any() else 0.05
    for e in tl.on("noise"):
        g = level * 10 ** (-e.attrs["snr_db"] / 20)
        a, b = int(round(e.t_on * SR)), int(round(e.t_off * SR))
        user[a:b] += g * noise(e.attrs["color"], b - a, np.random.default_rng(e.attrs["seed"]))
    d = 10 ** (tl.meta.get("dither_db", -70.0) / 20)
    user += d * rng.standard_normal(n).astype(np.float32)
    model += d * rng.standard_normal(n).astype(np.float32)
    frames = None
    if video and tl.on("video"):
        from microturn.data.video import render_video

        frames = render_video(tl)
    return Rendered(np.clip(user, -1, 1), np.clip(model, -1, 1), frames)
