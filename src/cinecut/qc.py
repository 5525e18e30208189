"""QC: measure the rendered trailer itself and fail on a defect."""

from __future__ import annotations

import json
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from . import media
from .conform import PEAK_LIMIT, Placement, fit_transitions, place_segments
from .manifest import Manifest
from .models import Artefact, Stamp

THUMB = (64, 36)  # frames are compared as small grey images: grading and scaling barely matter
SEARCH = 3  # frames either side of where a clip should be
DISTINCT = 0.5  # a timing counts when its best shift matches at least twice as well as the median shift
MIN_BLACK = 0.4  # seconds of black (blackdetect) that count as a segment
MIN_FREEZE = 1.5  # seconds without change (freezedetect) that count as frozen


class Check(BaseModel):
    name: str
    value: float | str | bool
    expected: str
    ok: bool


class ClipTiming(Artefact):
    segment: int  # index in the manifest
    act: int
    expected_frame: int  # where the manifest puts the probed frame
    offset: int | None  # frames between that and where the film's frame really is; None: a still shot
    distance: float  # how unlike the film's frame the best output frame is (0 = same)


class QCReport(Artefact):
    trailer: str
    passed: bool
    duration: float
    clips: int
    checks: list[Check]
    black: list[tuple[float, float]] = []  # black stretches found (seconds)
    frozen: list[tuple[float, float]] = []  # frozen stretches found
    timings: list[ClipTiming] = []


def _streams(path: Path) -> dict:
    out = media.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
        path,
        "probing the trailer",
    )
    return json.loads(out)


def _thumbs(path: str | Path, crop: str = "", start: float = 0.0, frames: int | None = None) -> np.ndarray:
    """Frames as THUMB-sized grey images, shape (n, h, w): every frame of a file, or `frames`
    frames from `start`."""
    w, h = THUMB
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error"]
    if start > 0:
        cmd += ["-ss", f"{start:.6f}"]
    cmd += ["-i", str(path), "-map", "0:v:0"]
    if frames is not None:
        cmd += ["-frames:v", str(frames)]
    # passthrough: the frames as decoded; the default would duplicate the first one when a
    # seek lands between two frames
    cmd += ["-vf", f"{crop}scale={w}:{h}:flags=area,format=gray", "-fps_mode", "passthrough", "-f", "rawvideo", "-"]
    out = subprocess.run(cmd, capture_output=True, check=False).stdout
    return np.frombuffer(out, np.uint8).reshape(-1, h, w).astype(np.float32)


def _normal(img: np.ndarray) -> np.ndarray:
    return (img - img.mean()) / (img.std() + 8.0)  # +8 grey levels: flat frames stay comparable


def clip_timings(
    trailer: Path, manifest: Manifest, stamp: Stamp, fps: Fraction, width: int, height: int
) -> list[ClipTiming]:
    """Where each clip really starts in the trailer. The film's frames from the clip's
    in-point (after its transition) are matched, as a sequence, against the trailer's
    frames shifted by up to SEARCH frames either way; the best shift is the clip's offset.
    A shot that holds still, or has no detail to match, cannot be timed (offset None)."""
    placements = place_segments(manifest, fps)
    transitions = fit_transitions(placements, stamp, fps)
    # The film's picture inside the letterbox/pillarbox, as conform scaled it.
    film_width = stamp.display_width
    scale = min(width / film_width, height / stamp.display_height) if film_width and stamp.display_height else 1.0
    aw, ah = int(film_width * scale) // 2 * 2 or width, int(stamp.display_height * scale) // 2 * 2 or height
    out = _thumbs(trailer, crop=f"crop={aw}:{ah}:{(width - aw) // 2}:{(height - ah) // 2},")
    timings = []
    after = [*transitions[1:], ("cut", 0)]
    for i, (p, (into, half), (out_of, half_out)) in enumerate(zip(placements, transitions, after, strict=True)):
        seg = p.segment
        if seg.kind != "clip":
            continue
        probe = half + 1 if into != "cut" else 0  # the first frame clear of the transition
        clear = p.frames - probe - (half_out + 1 if out_of != "cut" else 0)  # before the next one
        length = max(min(2 * SEARCH + 1, clear), 1)
        start = float(seg.source_in) + probe / float(fps)  # type: ignore[arg-type]
        film = [_normal(f) for f in _thumbs(manifest.film, start=start, frames=length)]
        frame = p.first_frame + probe
        scores = {}
        for offset in range(-SEARCH, SEARCH + 1):
            pairs = [(frame + offset + j, f) for j, f in enumerate(film) if 0 <= frame + offset + j < len(out)]
            if pairs:
                scores[offset] = float(np.mean([np.abs(_normal(out[k]) - f).mean() for k, f in pairs]))
        if not film or not scores:
            timings.append(ClipTiming(segment=i, act=seg.act or 0, expected_frame=frame, offset=None, distance=9.0))
            continue
        best = min(scores.values())
        # Shifts that match about as well: one side of the true one (a cut's other side
        # does not match at all), or, for a shot too still to tell, all of them.
        close = [o for o in scores if scores[o] <= best + 0.02]
        offset = min(close, key=abs) if max(close) - min(close) <= 2 else None
        # A shot without detail (a smooth gradient drifting) matches every shift about
        # equally badly: its best shift is noise, not a timing.
        if best > DISTINCT * float(np.median(list(scores.values()))):
            offset = None
        timings.append(
            ClipTiming(segment=i, act=seg.act or 0, expected_frame=frame, offset=offset, distance=round(best, 3))
        )
    return timings


def _intervals(text: str, start_key: str, end_key: str) -> list[tuple[float, float]]:
    starts = [float(x) for x in re.findall(start_key + r"[:=]\s*(-?[\d.]+)", text)]
    ends = [float(x) for x in re.findall(end_key + r"[:=]\s*(-?[\d.]+)", text)]
    return [(a, ends[i] if i < len(ends) else float("inf")) for i, a in enumerate(starts)]


def black_and_frozen(trailer: Path) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Black stretches (blackdetect) and frozen ones (freezedetect), in one decoding pass."""
    err = media.run_stderr(
        ["ffmpeg", "-hide_banner", "-nostats", "-nostdin", "-i", str(trailer), "-map", "0:v:0", "-vf",
         f"scale=320:-2,blackdetect=d={MIN_BLACK}:pix_th=0.10,freezedetect=n=-50dB:d={MIN_FREEZE}",
         "-f", "null", "-"],
        trailer,
        "looking for black and frozen frames",
    )  # fmt: skip
    black = _intervals(err, "black_start", "black_end")
    frozen = _intervals(err, "lavfi.freezedetect.freeze_start", "lavfi.freezedetect.freeze_end")
    return black, frozen


def intended_dark(manifest: Manifest, stamp: Stamp, fps: Fraction) -> list[tuple[float, float]]:
    """Where the plan itself goes dark or holds still: cards, the black beat, and dips
    through black (the fade out and in around the cut)."""
    placements = place_segments(manifest, fps)
    spans = []
    for p, (into, half) in zip(placements, fit_transitions(placements, stamp, fps), strict=True):
        start, end = p.first_frame / fps, (p.first_frame + p.frames) / fps
        if p.segment.kind != "clip":
            spans.append((float(start), float(end)))
        if into.startswith("fade_"):
            spans.append((float(start - Fraction(half + 1) / fps), float(start + Fraction(half + 1) / fps)))
    return spans


def _outside(found: list[tuple[float, float]], allowed: list[tuple[float, float]], slack: float) -> list:
    """Stretches not covered by the allowed ones (each may grow by `slack` seconds)."""
    bad = []
    for a, b in found:
        t = a
        for lo, hi in sorted(allowed):
            if lo - slack <= t <= hi + slack:
                t = max(t, hi + slack)
        if t < b - slack:
            bad.append((round(a, 3), round(b, 3)))
    return bad


def _clip_at(placements: list[Placement], fps: Fraction, t: float) -> Placement | None:
    return next((p for p in placements if p.first_frame / fps <= t < (p.first_frame + p.frames) / fps), None)


def film_is_still(manifest: Manifest, placements: list[Placement], fps: Fraction, span: tuple[float, float]) -> bool:
    """Whether the film itself holds still where the trailer does (a still shot is not a
    defect of the conform; a repeated frame would be)."""
    p = _clip_at(placements, fps, (span[0] + span[1]) / 2)
    if p is None or p.segment.kind != "clip":
        return True
    start = float(p.segment.source_in) + max(span[0] - float(p.first_frame / fps), 0.0)  # type: ignore[arg-type]
    frames = _thumbs(manifest.film, start=start, frames=max(int((span[1] - span[0]) * float(fps)), 2))
    # Mean change per frame under a grey level: what freezedetect's -50 dB calls frozen,
    # with room for the film's compression noise.
    return len(frames) < 2 or float(np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2)).max()) < 1.0


def measure(
    trailer: str | Path, manifest: Manifest, stamp: Stamp, width: int, height: int, loudness_target: float
) -> QCReport:
    """Measure the trailer against the manifest it was rendered from."""
    trailer = Path(trailer)
    info = _streams(trailer)
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), {})
    audio = next((s for s in streams if s.get("codec_type") == "audio"), {})
    fps = Fraction(video.get("r_frame_rate", "0/1") or "0/1")
    frame = float(1 / fps) if fps else 0.0
    vdur = float(video.get("duration", 0) or 0)
    adur = float(audio.get("duration", 0) or 0)
    plan = place_segments(manifest, fps) if fps else []
    expected = (plan[-1].first_frame + plan[-1].frames) / float(fps) if plan else 0.0
    lufs, peak = media.loudness(trailer) if audio else (float("nan"), float("nan"))
    black, frozen = black_and_frozen(trailer) if video else ([], [])
    # A stretch still running at the end has no end time: it ends with the trailer.
    black, frozen = ([(a, min(b, vdur)) for a, b in spans] for spans in (black, frozen))
    allowed = intended_dark(manifest, stamp, fps) if fps else []
    stray_black = _outside(black, allowed, slack=frame)
    stray_frozen = [
        span for span in _outside(frozen, allowed, slack=frame) if not film_is_still(manifest, plan, fps, span)
    ]
    timings = clip_timings(trailer, manifest, stamp, fps, width, height) if fps else []
    late = [t for t in timings if t.offset is not None and abs(t.offset) > 1]
    per_act = {act: sum(1 for s in manifest.segments if s.kind == "clip" and s.act == act) for act in (1, 2, 3)}
    # A clip is found when its film frame is recognisable in the trailer (distance well
    # below that of unrelated pictures, about 1.1).
    found = {act: sum(1 for t in timings if t.act == act and t.distance < 0.6) for act in (1, 2, 3)}
    checks = [
        Check(name="video stream", value=bool(video), expected="present", ok=bool(video)),
        Check(name="audio stream", value=bool(audio), expected="present", ok=bool(audio)),
        Check(
            name="resolution",
            value=f"{video.get('width')}x{video.get('height')}",
            expected=f"{width}x{height}",
            ok=(video.get("width"), video.get("height")) == (width, height),
        ),
        Check(
            name="A/V duration difference (s)",
            value=round(abs(vdur - adur), 4),
            expected=f"<= 1 frame ({frame:.4f})",
            ok=abs(vdur - adur) <= frame + 1e-3,
        ),
        Check(
            name="duration vs manifest (s)",
            value=round(vdur, 4),
            expected=f"{expected:.4f} +- 1 frame",
            ok=abs(vdur - expected) <= frame + 1e-3,
        ),
        Check(
            name="integrated loudness (LUFS)",
            value=lufs,
            expected=f"{loudness_target} +- 1",
            ok=abs(lufs - loudness_target) <= 1.0,
        ),
        Check(name="true peak (dBTP)", value=peak, expected=f"<= {PEAK_LIMIT:g}", ok=peak <= PEAK_LIMIT),
        Check(
            name="black stretches outside cards and dips",
            value=str(stray_black),
            expected="none",
            ok=not stray_black,
        ),
        Check(
            name="frozen stretches the film does not have",
            value=str(stray_frozen),
            expected="none",
            ok=not stray_frozen,
        ),
        Check(
            name="clips found per act",
            value=" ".join(f"{found[a]}/{per_act[a]}" for a in (1, 2, 3)),
            expected="all of the manifest's",
            ok=found == per_act,
        ),
        Check(
            name="clips starting more than 1 frame off",
            value=", ".join(f"segment {t.segment}: {t.offset:+d}" for t in late) or "none",
            expected=f"none ({sum(t.offset is None for t in timings)} shots too still or plain to time)",
            ok=not late,
        ),
    ]
    return QCReport(
        trailer=str(trailer),
        passed=all(c.ok for c in checks),
        duration=round(vdur, 4),
        clips=sum(1 for s in manifest.segments if s.kind == "clip"),
        checks=checks,
        black=[(round(a, 3), round(b, 3)) for a, b in black],
        frozen=[(round(a, 3), round(b, 3)) for a, b in frozen],
        timings=timings,
    )
