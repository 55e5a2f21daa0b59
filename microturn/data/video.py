"""Procedural video for the visual families: 80x80 RGB frames at 5 fps (one per 200 ms chunk).

A `video` event's attrs describe the scene; frames are drawn from that description alone,
so a timeline re-renders to the same pixels:
    light    {"changes": [[t, colour], ...]}        a lamp that changes colour at times t
    bounce   {"bounces": [t, ...], "x0": px}        a ball that hits the floor at times t
    squares  {"squares": [[x, y, side, colour], ...]} static squares to count
"""

from __future__ import annotations

import numpy as np

from microturn.timeline import Timeline

COLOURS = {
    "red": (220, 40, 40),
    "green": (40, 200, 60),
    "yellow": (230, 210, 40),
    "blue": (50, 80, 220),
    "white": (235, 235, 235),
    "orange": (240, 140, 30),
    "purple": (150, 60, 200),
    "grey": (128, 128, 128),
}
SIDE, FPS = 80, 5


def _disc(img: np.ndarray, cx: float, cy: float, r: float, rgb) -> None:
    yy, xx = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    img[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = rgb


def _light(t: float, a: dict, img: np.ndarray) -> None:
    colour = "grey"
    for tc, c in a["changes"]:
        if t >= tc:
            colour = c
    img[60:80, 35:45] = (90, 90, 90)  # the pole
    _disc(img, 40, 32, 16, COLOURS[colour])


def _bounce(t: float, a: dict, img: np.ndarray) -> None:
    """Height falls as a parabola between bounces: floor contact exactly at each bounce time."""
    bs = [a.get("t0", 0.0)] + list(a["bounces"])
    y = 0.0
    for i in range(len(bs) - 1):
        if bs[i] <= t < bs[i + 1]:
            u = (t - bs[i]) / (bs[i + 1] - bs[i])
            y = 4 * u * (1 - u)  # 0 at both contacts, 1 at the apex
    img[74:80] = (90, 60, 30)  # the floor
    _disc(img, a.get("x0", 40), 68 - 50 * y, 6, COLOURS[a.get("colour", "orange")])


def _squares(t: float, a: dict, img: np.ndarray) -> None:
    for x, y, s, c in a["squares"]:
        img[y : y + s, x : x + s] = COLOURS[c]


DRAW = {"light": _light, "bounce": _bounce, "squares": _squares}


def render_video(tl: Timeline, fps: int = FPS, side: int = SIDE) -> np.ndarray:
    """(N, side, side, 3) uint8, frame i shows time i / fps (N covers the whole timeline)."""
    n = int(round(tl.duration * fps))
    out = np.zeros((n, side, side, 3), np.uint8)
    for e in tl.on("video"):
        for i in range(int(e.t_on * fps), min(n, int(np.ceil(e.t_off * fps)))):
            out[i] = 16  # a dark background while the camera is on
            DRAW[e.kind](i / fps, e.attrs, out[i])
    return out
