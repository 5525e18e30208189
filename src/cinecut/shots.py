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

Fade: the picture goes black (or white) and comes back; the shot begins with the first
frame out of black (or white). Inside a shot, the frames that fade to or from black or white (`fade_frames`) are
measured afterwards from each frame's tone (`frame_tone`): the picture there is no
picture to cut a clip from.

Thresholds were tuned on test reels (tests/reels.py) at 24, 25 and 30 fps and the
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

# A frame is blank (black or white) the way QC's blackdetect sees a trailer: nearly all of
# its pixels dark (or light), with a margin for a grade that darkens the shadows.
BLANK_DARK = 0.12  # luma under which a pixel counts as black (QC: 0.10 after the grade)
BLANK_LIGHT = 0.90  # luma over which a pixel counts as white
BLANK_SHARE = 0.95  # share of such pixels in a blank frame (QC: 0.98)
FADE_SETTLED = 0.8  # a fade ends where the picture is back to this share of its level in the shot
FADE_MARGIN = 2  # frames added to a fade: the grade and the conform's dips reach a little further

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
    level: float = 0.0  # mean luma, 0-1
    tone: int = 0  # frame_tone: -1 blank black, 1 blank white, 0 a picture

    @property
    def blank(self) -> bool:
        """Black, or blank white: a fade's frame, where no cut or dissolve is looked for."""
        return self.black or self.tone > 0

    @classmethod
    def of(cls, t: float, small_bgr: np.ndarray, hsv: np.ndarray, gray: np.ndarray) -> Features:
        tiny = cv2.resize(gray, TINY, interpolation=cv2.INTER_AREA).astype(np.float32)
        mean, std = cv2.meanStdDev(tiny)
        shape = (tiny - float(mean[0, 0])) / (float(std[0, 0]) + 2.0)
        blocks = cv2.resize(small_bgr, BLOCKS, interpolation=cv2.INTER_AREA).astype(np.float32)
        level, tone = frame_tone(gray)
        return cls(t, histogram(hsv), tiny, shape, blocks, level < BLACK_LUMA, level=level, tone=tone)


def frame_tone(gray: np.ndarray) -> tuple[float, int]:
    """(mean luma 0-1, tone) of an analysis picture: tone -1 blank black, 1 blank white,
    0 a picture. The pixel counts are only made where the mean allows a blank frame."""
    level = cv2.mean(gray)[0] / 255.0
    if level < BLACK_LUMA:
        return level, -1
    if level < BLANK_SHARE * BLANK_DARK + (1 - BLANK_SHARE):
        dark = cv2.countNonZero(cv2.compare(gray, BLANK_DARK * 255, cv2.CMP_LT)) / gray.size
        if dark >= BLANK_SHARE:
            return level, -1
    if level > BLANK_SHARE * BLANK_LIGHT:
        light = cv2.countNonZero(cv2.compare(gray, BLANK_LIGHT * 255, cv2.CMP_GT)) / gray.size
        if light >= BLANK_SHARE:
            return level, 1
    return level, 0


def _edge_fade(levels: np.ndarray, tones: np.ndarray, colour: int, reference: float) -> int:
    """Frames from one edge of a shot inward (`levels`, `tones` in that order) that belong to
    a fade from or to `colour` (-1 black, 1 white): the blank ones, then the ramp until the
    picture is back to FADE_SETTLED of the shot's `reference` distance from that colour."""
    k, n = 0, len(levels)
    while k < n and tones[k] != 0:
        k += 1
    distance = levels if colour < 0 else 1.0 - levels
    while k < n and distance[k] < FADE_SETTLED * reference:
        k += 1
    return min(k + FADE_MARGIN, n) if k else 0


def fade_frames(levels: np.ndarray, tones: np.ndarray, before: int = 0) -> tuple[int, int]:
    """(frames at the start, frames at the end) of one shot that fade from or to black or
    white. `levels` and `tones` are its frames' (`frame_tone`); `before` the tone of the
    blank frame a shot begins out of (its boundary is a fade), else 0. A shot may fade where
    its edge frame is blank, or where it begins out of a blank frame; a shot with no picture
    at all is all fade."""
    levels, tones = np.asarray(levels, dtype=np.float64), np.asarray(tones)
    n = len(levels)
    picture = levels[tones == 0]
    if n == 0 or not len(picture):
        return n, n
    out = []
    for lv, tn, beside in ((levels, tones, before), (levels[::-1], tones[::-1], 0)):
        colour = int(tn[0]) or int(beside)
        if not colour:
            out.append(0)
            continue
        # The level the shot settles at: most of its picture is at least this far from the colour.
        reference = float(np.percentile(picture if colour < 0 else 1.0 - picture, 75))
        out.append(_edge_fade(lv, tn, colour, reference))
    return out[0], out[1]


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
            self.in_black = f.blank
            return [(f.t, "start")]
        if self.in_black and not f.blank:
            found.append(self._boundary(n, "fade"))
        self.in_black = f.blank
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
        if f.cut_score < CUT_SCORE or f.blank or self._at(i - 1).blank:
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
        # A fade is a dissolve to black (or white): leave the half-windows next to blank frames to it.
        near = range(max(a - h, self._oldest), b + h + 1)
        if any(a < c <= b for c in self.cuts) or any(self._at(j).blank for j in near):
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
        if a - before < h or after - b < h or self._at(before).blank or self._at(after).blank:
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
