"""Shot boundaries from small per-frame features: hard cuts, dissolves and fades.

The decode loop pushes one `Features` per frame and gets back the boundaries that
became certain with it. Each names the time of the frame where its shot begins, which
may lie behind the newest frame: a cut is judged against the four frames either side of
it, a dissolve against a second of picture either side, so the caller moves the frames
it has already counted into the new shot.

Hard cut (frame i): the colour histogram changes a lot from frame i-1 while the picture's
structure (normalised correlation of a tiny grey image) breaks; the change stands out
from its neighbours (a strobe or flicker changes every few frames alike) and frame i is
not halfway between the frames around it (the jump inside a dissolve is a blend).

Dissolve (centred on frame m): frames a = m-H and b = m+H differ, the frames between are
their blends (linear in time, checked at a quarter, half and three quarters), and the
change is local: a second before a and a second after b the picture changes far less
than across the dissolve (a drifting or zooming shot changes alike everywhere).

Fade: the picture goes black and comes back; the shot begins with the first frame out of
black.

Thresholds were tuned on `cinecut.demo.build_reel` films at 24, 25 and 30 fps and the
demo (186 hard cuts, 54 dissolves, 34 fades): hard cuts 185/186 within a frame and one
false, dissolves 46/54, fades 34/34, one false dissolve. `tests/test_shots.py` asserts
the acceptance figures on two of them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

BLACK_LUMA = 0.06  # mean luma under which a frame is black (fades)
MIN_SHOT_SECONDS = 0.4

CUT_SCORE = 0.3  # histogram change x structure break, 0-1
CUT_CONTEXT = 4  # frames either side that a cut must stand out from
CUT_STANDOUT = 1.7  # times the largest score among them
CUT_NOT_BLEND = 0.3  # residual of frame i against the mean of i-4 and i+3, relative

DISSOLVE_HALF = 0.5  # s: half the window in which a dissolve is looked for
DISSOLVE_CHANGE = 0.3  # histogram distance across the window
DISSOLVE_BLEND = 0.4  # residual of the in-between frames against blends, relative
DISSOLVE_LOCAL = 2.5  # change across the window / change over a second either side
DISSOLVE_CONTRAST = 10.0  # mean colour-layout difference (0-255) across the window

TINY = (40, 22)  # structure picture
BLOCKS = (16, 9)  # colour layout picture


def histogram(hsv: np.ndarray) -> np.ndarray:
    """Hue x saturation of the coloured pixels and brightness of the grey ones.

    The hue of a nearly grey pixel is noise, so grey pixels count by brightness only: a
    moving pattern of greys then keeps its histogram, and a cut still moves it."""
    coloured = (hsv[..., 1] >= 48).astype(np.uint8)
    hue_sat = cv2.calcHist([hsv], [0, 1], coloured, [16, 2], [0, 180, 48, 256]).ravel()
    greys = cv2.calcHist([hsv], [2], 1 - coloured, [4], [0, 256]).ravel()
    hist = np.concatenate([hue_sat, greys])
    return hist / max(float(hist.sum()), 1.0)


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return 0.5 * float(np.abs(a - b).sum())


@dataclass
class Features:
    """What the detector keeps of one frame (about 10 KB)."""

    t: float
    hist: np.ndarray
    tiny: np.ndarray  # grey, float32
    shape: np.ndarray  # `tiny` at zero mean and unit spread: its structure
    blocks: np.ndarray  # BGR, float32
    black: bool
    cut_score: float = 0.0  # against the previous frame

    @classmethod
    def of(cls, t: float, small_bgr: np.ndarray, hsv: np.ndarray, gray: np.ndarray) -> Features:
        tiny = cv2.resize(gray, TINY, interpolation=cv2.INTER_AREA).astype(np.float32)
        mean, std = cv2.meanStdDev(tiny)
        shape = (tiny - float(mean[0, 0])) / (float(std[0, 0]) + 2.0)
        blocks = cv2.resize(small_bgr, BLOCKS, interpolation=cv2.INTER_AREA).astype(np.float32)
        return cls(t, histogram(hsv), tiny, shape, blocks, cv2.mean(gray)[0] / 255.0 < BLACK_LUMA)


def _blend_residual(frames: list[np.ndarray], first: np.ndarray, last: np.ndarray, alphas: list[float]) -> float:
    """How far `frames` are from the blends of `first` and `last` at `alphas`, relative
    to how far `first` is from `last`."""
    spread = float(np.abs(first - last).mean())
    residual = np.mean([np.abs(f - ((1 - w) * first + w * last)).mean() for f, w in zip(frames, alphas, strict=True)])
    return float(residual) / (spread + 1e-3)


class BoundaryDetector:
    """Feed frames in order with `push`; call `finish` after the last one."""

    def __init__(self, fps: float) -> None:
        self.half = max(round(DISSOLVE_HALF * fps), 3)
        # A dissolve candidate ends at b; it needs two windows after b and the cut
        # decisions up to there.
        self.lag = 4 * self.half + CUT_CONTEXT
        # The furthest behind the newest frame that a boundary can be placed: a dissolve
        # is kept until no stronger one follows within two half-windows.
        self.delay = self.lag + self.half + 2
        self.frames: deque[Features] = deque(maxlen=self.lag + 2 * self.half + 2)
        self.count = 0  # frames pushed
        self.cuts: deque[int] = deque()  # frame numbers where a hard cut or fade begins a shot
        self.last_boundary = -1e9  # time
        self.in_black = False
        self.best: tuple[float, int] | None = None  # strongest dissolve candidate: score, m

    @property
    def _oldest(self) -> int:
        """Number of the oldest frame still held."""
        return self.count - len(self.frames)

    def _at(self, n: int) -> Features:
        return self.frames[n - self._oldest]

    def _have(self, n: int) -> bool:
        return self._oldest <= n < self.count

    def push(self, f: Features) -> list[tuple[float, str]]:
        found: list[tuple[float, str]] = []
        if self.frames:
            prev = self.frames[-1]
            # Normalised correlation of the two tiny pictures: 1 = the same structure.
            structure = float((f.shape * prev.shape).mean())
            f.cut_score = _distance(f.hist, prev.hist) * (1 - min(max(structure, 0.0), 1.0))
        self.frames.append(f)
        self.count += 1
        n = self.count - 1
        while self.cuts and not self._have(self.cuts[0]):
            self.cuts.popleft()
        if n == 0:
            self.last_boundary = f.t
            self.in_black = f.black
            return [(f.t, "start")]
        if self.in_black and not f.black:
            found.append(self._boundary(n, "fade"))
        self.in_black = f.black
        if n - CUT_CONTEXT >= 1:
            found += self._judge_cut(n - CUT_CONTEXT)
        if n - self.lag >= 0:
            found += self._judge_dissolve(n - self.lag + 2 * self.half)
        return found

    def finish(self) -> list[tuple[float, str]]:
        found: list[tuple[float, str]] = []
        for i in range(max(self.count - CUT_CONTEXT, 1), self.count):
            found += self._judge_cut(i)
        if self.best is not None:
            found += self._emit_dissolve()
        return found

    def _boundary(self, n: int, kind: str) -> tuple[float, str]:
        t = self._at(n).t
        self.last_boundary = max(self.last_boundary, t)
        if kind != "dissolve":
            self.cuts.append(n)
        return t, kind

    def _judge_cut(self, i: int) -> list[tuple[float, str]]:
        f = self._at(i)
        if f.cut_score < CUT_SCORE or f.black or self._at(i - 1).black:
            return []
        if f.t - self.last_boundary < MIN_SHOT_SECONDS:
            return []
        context = range(i - CUT_CONTEXT, i + CUT_CONTEXT + 1)
        around = [self._at(j).cut_score for j in context if j != i and self._have(j)]
        if around and f.cut_score < CUT_STANDOUT * max(around):
            return []
        first, last = max(i - 4, self._oldest), min(i + 3, self.count - 1)
        if _blend_residual([f.tiny], self._at(first).tiny, self._at(last).tiny, [0.5]) < CUT_NOT_BLEND:
            return []
        return [self._boundary(i, "cut")]

    def _judge_dissolve(self, b: int) -> list[tuple[float, str]]:
        h = self.half
        a, m = b - 2 * h, b - h
        found: list[tuple[float, str]] = []
        if self.best is not None and m - self.best[1] > 2 * h:
            found += self._emit_dissolve()
        if not self._have(a):
            return found
        fa, fb = self._at(a), self._at(b)
        change = _distance(fa.hist, fb.hist)
        if change < DISSOLVE_CHANGE or float(np.abs(fa.blocks - fb.blocks).mean()) < DISSOLVE_CONTRAST:
            return found
        # A fade is a dissolve to black: leave the half-windows next to black frames to it.
        near = range(max(a - h, self._oldest), b + h + 1)
        if any(a < c <= b for c in self.cuts) or any(self._at(j).black for j in near):
            return found
        quarter = [a + h // 2, m, b - h // 2]
        residual = _blend_residual(
            [self._at(j).blocks for j in quarter], fa.blocks, fb.blocks, [(j - a) / (2 * h) for j in quarter]
        )
        if residual > DISSOLVE_BLEND:
            return found
        # The change a second either side, measured inside the neighbouring shots only.
        before = max([a - 2 * h, self._oldest] + [c for c in self.cuts if c <= a])
        after = min([b + 2 * h] + [c - 1 for c in self.cuts if c > b])
        # Both shots must be seen for at least a half-window on their own.
        if a - before < h or after - b < h or self._at(before).black or self._at(after).black:
            return found
        sides = (_distance(self._at(before).hist, fa.hist), _distance(fb.hist, self._at(after).hist))
        local = change / (max(sides) + 0.02)
        if local < DISSOLVE_LOCAL:
            return found
        score = local * (1 - residual)
        if self.best is None or score > self.best[0]:
            self.best = (score, m)
        return found

    def _emit_dissolve(self) -> list[tuple[float, str]]:
        _, m = self.best
        self.best = None
        if not self._have(m):
            return []
        t = self._at(m).t
        near = [self._at(c).t for c in self.cuts]  # `push` keeps only held ones
        if any(abs(t - c) < DISSOLVE_HALF for c in near):
            return []
        return [self._boundary(m, "dissolve")]
