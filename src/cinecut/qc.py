"""QC: measure the rendered trailer itself and fail on a defect."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import media
from .models import Check, ClipTiming, Manifest, QCReport, SoundSync, Stamp
from .placement import PEAK_LIMIT, Placement, fit_transitions, place_segments

THUMB = (64, 36)  # frames are compared as small grey images: grading and scaling barely matter
SEARCH = 3  # frames either side of where a clip should be
DISTINCT = 0.5  # a timing counts when its best shift matches at least twice as well as the median shift
MIN_BLACK = 0.4  # seconds of black (blackdetect) that count as a segment
MIN_FREEZE = 1.5  # seconds without change (freezedetect) that count as frozen
# Sound against picture: the trailer's sound is matched against the dialogue stem (the
# film's own sound on the trailer timeline) over a window at each clip's first frame.
SYNC_RATE = 16000  # Hz the two are compared at (1/16 ms resolution; a frame is 40 ms)
SYNC_WINDOW = 1.0  # seconds of the stem compared per clip...
SYNC_LEAD = 0.25  # ...of which before the clip's first frame: the cut itself is in it
SYNC_SEARCH = 0.5  # seconds either way that the trailer's sound may be off
SYNC_SILENT_DB = -50.0  # the stem's level (dBFS RMS) in the window below which nothing is heard to match
SYNC_AMBIGUOUS = 0.01  # another offset, over a frame away, matching within this of the best: periodic sound


def _streams(path: Path) -> dict:
    out = media.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
        path,
        "probing the trailer",
    )
    return json.loads(out)


def _thumbs(
    path: str | Path, crop: str = "", start: float = 0.0, frames: int | None = None, keyframes: Sequence[float] = ()
) -> np.ndarray:
    """Frames as THUMB-sized grey images, shape (n, h, w): every frame of a file, or `frames`
    frames from `start` (`keyframes`: a film's seek points, media.seek_point)."""
    w, h = THUMB
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", *media.input_seek(start, keyframes)]
    cmd += ["-i", str(path), "-map", "0:v:0", *media.output_seek(start, keyframes)]
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
        film = [_normal(f) for f in _thumbs(manifest.film, start=start, frames=length, keyframes=stamp.seek_points)]
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


def _take(x: np.ndarray, start: int, n: int) -> np.ndarray:
    """x[start:start + n] as float64, zero where that runs past either end of x."""
    out = np.zeros(n)
    lo, hi = max(start, 0), min(start + n, len(x))
    if hi > lo:
        out[lo - start : hi - start] = x[lo:hi]
    return out


def _rms_db(x: np.ndarray) -> float:
    return 20 * float(np.log10(np.sqrt(np.mean(x**2)) + 1e-12))


def _slide(heard: np.ndarray, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every placement of the refs (k, width) along `heard`: their dot products with
    that stretch (k, shifts), and the stretch's energy (shifts)."""
    from scipy import signal

    width = refs.shape[1]
    dots = np.stack([signal.correlate(heard, ref, mode="valid", method="fft") for ref in refs])
    energy = np.concatenate([[0.0], np.cumsum(heard**2)])
    return dots, np.maximum(energy[width:] - energy[:-width], 0.0)


def match_offset(reference: np.ndarray, heard: np.ndarray, search: int, guard: int) -> tuple[int, float, float]:
    """Where `reference` lies in `heard` (which is `search` samples longer at either end):
    the shift in samples (+ = later in `heard`), the normalised correlation there, and the
    best correlation more than `guard` samples away from it (a second candidate)."""
    dots, energy = _slide(heard, reference[None, :])
    norms = np.sqrt(energy) * float(np.linalg.norm(reference))
    corr = np.where(norms > 1e-9, dots[0] / np.maximum(norms, 1e-9), 0.0)
    best = int(np.argmax(corr))
    away = np.concatenate([corr[: max(best - guard, 0)], corr[best + guard + 1 :]])
    return best - search, float(corr[best]), float(away.max()) if away.size else -1.0


def without_other_stems(heard: np.ndarray, stems: list[np.ndarray], start: int, width: int) -> np.ndarray:
    """`heard` (the trailer's sound around the window of `width` samples from `start`) less
    the other stems (`stems[1:]`: voice-over, music, effects): they are fitted together with
    the dialogue stem (`stems[0]`; least squares over the window) at the one shift where
    they explain most of the trailer's sound, and subtracted there. What remains is the
    film's own sound, which the voice-over (the film's sound from elsewhere) and tonal
    music would otherwise match at a wrong offset."""
    window = [_take(stem, start, width) for stem in stems]
    audible = [i for i, w in enumerate(window) if i == 0 or _rms_db(w) >= SYNC_SILENT_DB]
    if len(audible) == 1:
        return heard
    refs = np.stack([window[i] for i in audible])
    dots, energy = _slide(heard, refs)
    inverse = np.linalg.pinv(refs @ refs.T, rcond=1e-9)
    explained = np.einsum("ks,kj,js->s", dots, inverse, dots) / np.maximum(energy, 1e-12)
    best = int(np.argmax(explained))
    gains = inverse @ dots[:, best]
    residual = heard.copy()
    for gain, i in zip(gains[1:], audible[1:], strict=True):
        residual -= gain * _take(stems[i], start - best, len(heard))
    return residual


def sound_sync(trailer: Path, stems: dict[str, Path], manifest: Manifest, fps: Fraction) -> list[SoundSync]:
    """The offset between the trailer's sound and the dialogue stem (the film's own sound
    on the trailer timeline) at each clip that plays the film's sound: cross-correlation
    over SYNC_WINDOW seconds at the clip's first frame, after the other stems are taken
    out of the trailer's sound (`without_other_stems`; they are placed by the sound design,
    not by the picture, and must not decide the offset). `stems` maps "dialogue" and any
    of "voiceover", "music", "sfx" to their files. A clip whose dialogue stem is
    near-silent there, or whose sound repeats so that offsets over a frame apart match
    alike, is unmeasurable (offset None, with a note)."""
    rate = SYNC_RATE
    heard = media.decode_audio(trailer, rate, 1)[:, 0]
    names = ["dialogue", *(n for n in stems if n != "dialogue")]
    tracks = [media.decode_audio(stems[n], rate, 1)[:, 0] for n in names]
    width, search, frame = round(SYNC_WINDOW * rate), round(SYNC_SEARCH * rate), round(rate / fps)
    out = []
    for i, p in enumerate(place_segments(manifest, fps)):
        seg = p.segment
        if seg.kind != "clip" or not seg.film_audio:
            continue
        start = float(p.first_frame / fps)
        a = round((start - SYNC_LEAD) * rate)
        reference = _take(tracks[0], a, width)
        level = _rms_db(reference)
        sync = SoundSync(
            segment=i, act=seg.act or 0, start=round(start, 3), level_db=round(level, 1),
            offset_ms=None, frames=None, correlation=0.0,
        )  # fmt: skip
        if level < SYNC_SILENT_DB:
            sync.note = "the dialogue stem is silent here"
        else:
            near = without_other_stems(_take(heard, a - search, width + 2 * search), tracks, a, width)
            shift, corr, other = match_offset(reference, near, search, frame)
            sync.correlation = round(corr, 3)
            if other > corr - SYNC_AMBIGUOUS:
                sync.note = f"ambiguous: an offset over a frame away matches alike ({other:.3f} vs {corr:.3f})"
            else:
                sync.offset_ms = round(shift * 1000 / rate, 1)
                sync.frames = round(shift / rate * float(fps), 2)
        out.append(sync)
    return out


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


def film_is_still(
    manifest: Manifest, stamp: Stamp, placements: list[Placement], fps: Fraction, span: tuple[float, float]
) -> bool:
    """Whether the film itself holds still where the trailer does (a still shot is not a
    defect of the conform; a repeated frame would be)."""
    p = _clip_at(placements, fps, (span[0] + span[1]) / 2)
    if p is None or p.segment.kind != "clip":
        return True
    start = float(p.segment.source_in) + max(span[0] - float(p.first_frame / fps), 0.0)  # type: ignore[arg-type]
    length = max(int((span[1] - span[0]) * float(fps)), 2)
    frames = _thumbs(manifest.film, start=start, frames=length, keyframes=stamp.seek_points)
    # Mean change per frame under a grey level: what freezedetect's -50 dB calls frozen,
    # with room for the film's compression noise.
    return len(frames) < 2 or float(np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2)).max()) < 1.0


def _sync_check(sync: list[SoundSync] | str, fps: Fraction) -> Check:
    """Fails when a clip's film sound is more than a frame off; `sync` is the measurement, or
    why there is none."""
    name = "sound more than 1 frame off the picture"
    if isinstance(sync, str):
        return Check(name=name, value=f"not measured: {sync}", expected="none", ok=True)
    off = [s for s in sync if s.frames is not None and abs(s.frames) > 1]
    measured = sum(s.frames is not None for s in sync)
    counts = f"{measured} clips measured, {len(sync) - measured} silent or ambiguous"
    return Check(
        name=name,
        value=", ".join(f"segment {s.segment}: {s.offset_ms:+.0f} ms ({s.frames:+.1f} frames)" for s in off) or "none",
        expected=f"none ({counts}; 1 frame = {1000 / float(fps):.1f} ms)",
        ok=not off,
    )


def measure(
    trailer: str | Path,
    manifest: Manifest,
    stamp: Stamp,
    width: int,
    height: int,
    loudness_target: float,
    stems: Mapping[str, str | Path] | None = None,
) -> QCReport:
    """Measure the trailer against the manifest it was rendered from. `stems`, the stems
    it was mixed from ("dialogue" at least; "voiceover", "music", "sfx"), let QC measure
    the sound against the picture; without them that check is reported as not measured."""
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
        span for span in _outside(frozen, allowed, slack=frame) if not film_is_still(manifest, stamp, plan, fps, span)
    ]
    timings = clip_timings(trailer, manifest, stamp, fps, width, height) if fps else []
    late = [t for t in timings if t.offset is not None and abs(t.offset) > 1]
    if not stems or "dialogue" not in stems:
        sync: list[SoundSync] | str = "no dialogue stem given"
    elif not audio or not fps:
        sync = "no audio or no video stream"
    else:
        sync = sound_sync(trailer, {name: Path(path) for name, path in stems.items()}, manifest, fps)
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
        _sync_check(sync, fps),
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
        sync=[] if isinstance(sync, str) else sync,
    )
