"""Structure (three anchors), candidate clips with zones, scores and beats.

Pure functions: data in, data out. The scripts do the reading and writing.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from . import zones
from .models import Analysis, Candidate, Dialogue, DialogueLine, Narrative, Shot, Structure
from .scenes import SceneDescFile, SceneDescription
from .vibes import Vibe

MIN_CLIP = 0.5
BLACK = 0.06


def _norm_loudness(db: float) -> float:
    """-50 dBFS or quieter -> 0, -10 dBFS or louder -> 1."""
    return float(np.clip((db + 50) / 40, 0, 1))


def _lines_in(lines: list[DialogueLine], start: float, end: float) -> list[DialogueLine]:
    return [ln for ln in lines if ln.end > start and ln.start < end]


def shot_intensity(shot: Shot, scene_intensity: float, lines: list[DialogueLine]) -> float:
    said = _lines_in(lines, shot.start, shot.end)
    talk = max((ln.intensity for ln in said), default=0.0)
    return 0.4 * scene_intensity + 0.35 * _norm_loudness(shot.loudness_db) + 0.25 * talk


def _three_levels(x: np.ndarray, min_len: int) -> tuple[int, int]:
    """Boundaries (e, c) of the best least-squares fit of x by three constant levels."""
    n = len(x)
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])

    def cost(i, j):  # squared error of x[i:j] around its mean; j may be an array
        length = np.maximum(j - i, 1)
        return s2[j] - s2[i] - (s1[j] - s1[i]) ** 2 / length

    best, bounds = np.inf, (n // 3, 2 * n // 3)
    for e in range(min_len, n - 2 * min_len + 1):
        c = np.arange(e + min_len, n - min_len + 1)
        mean1 = s1[e] / e
        mean2 = (s1[c] - s1[e]) / (c - e)
        mean3 = (s1[n] - s1[c]) / (n - c)
        total = cost(0, e) + cost(e, c) + cost(c, n)
        total = np.where((mean2 > mean1) & (mean3 > mean2), total, np.inf)
        k = int(np.argmin(total))
        if total[k] < best:
            best, bounds = float(total[k]), (e, int(c[k]))
    return bounds


def heuristic_structure(analysis: Analysis, scenes: SceneDescFile, dialogue: Dialogue) -> Structure:
    """Anchors decided over the whole film at once (never medians of chunk answers).

    An intensity curve on a 1 s grid (scene intensity, loudness, dialogue intensity).
    Its smoothed peak in the second half is the height of the climax; the resolution
    starts where the curve falls back after it. Between the first dialogue and the
    resolution, the best fit by three rising levels gives the escalation (start of the
    middle level) and the climax (start of the top level).
    """
    duration = analysis.duration
    grid = np.arange(0, max(duration, 1.0), 1.0)
    curve = np.zeros_like(grid)
    by_time = {round(f.time, 4): f.intensity for f in scenes.frames}
    for shot, kf in zip(analysis.shots, analysis.shot_keyframes(), strict=True):
        value = shot_intensity(shot, by_time.get(round(kf.time, 4), 0.0), dialogue.lines)
        curve[(grid >= shot.start) & (grid < shot.end)] = value
    width = max(int(duration * 0.02), 3)
    smooth = np.convolve(np.pad(curve, width, mode="edge"), np.ones(width) / width, mode="same")[width:-width]
    n = len(grid)
    lo, hi = int(n * 0.45), max(int(n * 0.97), int(n * 0.45) + 1)
    peak = lo + int(np.argmax(smooth[lo:hi]))
    begin = dialogue.lines[0].start if dialogue.lines else analysis.shots[0].start
    begin = min(max(begin - 1.0, 0.0), duration * 0.2)
    b = int(begin)
    half = (float(np.median(smooth[b : max(peak, b + 1)])) + float(smooth[peak])) / 2
    after = np.nonzero(smooth[peak:] < half)[0]
    resolution = peak + int(after[0]) if len(after) else n
    # Long plateaus after the peak still belong to the climax; the fit decides the rest.
    e, c = _three_levels(curve[b:resolution], max(int(duration * 0.03), 2))
    escalation, climax = float(b + e), float(b + c)
    return Structure(
        backend="heuristic",
        begin=round(begin, 3),
        escalation=round(escalation, 3),
        climax=round(climax, 3),
        resolution=round(float(min(resolution, duration)), 3),
        duration=duration,
        notes=f"intensity curve: peak {float(smooth[peak]):.2f} at {peak} s; levels fitted over {b}-{resolution} s",
    )


def zone_of(t: float, s: Structure) -> str | None:
    """Zone by position; None after the climax (the ending is not given away)."""
    if t < s.escalation:
        return "BEGINNING"
    if t < s.climax:
        return "ESCALATION"
    if t < s.resolution:
        return "CLIMAX"
    return None


def _free_stretch(shot: Shot, lines: list[DialogueLine]) -> tuple[float, float]:
    """The part of a shot without a whole line: lines there cross an edge of the shot."""
    free_start, free_end = shot.start, shot.end
    for ln in _lines_in(lines, shot.start, shot.end):
        if ln.start <= shot.start:
            free_start = max(free_start, ln.end)
        if ln.end >= shot.end:
            free_end = min(free_end, ln.start)
    return free_start, free_end


def end_range(shot: Shot, start: float, end: float, said: str | None, lines: list[DialogueLine]) -> tuple[float, float]:
    """Where a clip's end may go (to land a cut on a beat): never before its own line ends,
    never into the next line, never out of its shot."""
    later = [ln.start for ln in _lines_in(lines, end, shot.end) if ln.start >= end - 0.2 and ln.text != said]
    if said:
        own = max((ln.end for ln in lines if ln.text == said and start <= ln.start < end), default=end)
        low = min(own + 0.1, end)
    else:
        low = start + MIN_CLIP
    # A clip already crossing a line (picture only) may take the whole shot.
    high = min([shot.end] + [t - 0.1 for t in later if t - 0.1 >= end])
    return round(min(low, end), 4), round(max(high, end), 4)


def _window(
    shot: Shot, centre: float, length: float, lines: list[DialogueLine]
) -> tuple[float, float, str | None, bool]:
    """A clip inside one shot: (start, end, the line it carries, whether its film sound plays).

    It carries a dialogue line whole or not at all. Without a whole line in the shot, the
    clip slides into the stretch of the shot that no line crosses, shortened to fit it if
    need be (the film's sound matters more than the pace); when that stretch is under
    MIN_CLIP, the clip keeps its length and its picture, without its sound.
    """
    inside = [ln for ln in _lines_in(lines, shot.start, shot.end) if ln.start >= shot.start and ln.end <= shot.end]
    if inside:
        line = max(inside, key=lambda ln: ln.intensity)
        start = max(shot.start, line.start - 0.2)
        end = min(shot.end, max(line.end + 0.2, start + length))
        return start, end, line.text, True
    length = min(length, shot.end - shot.start)
    free_start, free_end = _free_stretch(shot, lines)
    if free_end - free_start >= MIN_CLIP:
        span = min(length, free_end - free_start)
        start = min(max(centre - span / 2, free_start), free_end - span)
        return start, start + span, None, True
    start = min(max(centre - length / 2, shot.start), shot.end - length)
    return start, start + length, None, False


def build_narrative(
    analysis: Analysis,
    scenes: SceneDescFile,
    dialogue: Dialogue,
    structure: Structure,
    vibe: Vibe,
    meaning: zones.Meaning | None = None,
) -> Narrative:
    """Score every usable shot as a candidate clip, assign its zone (zones.py) and beat.

    score = 0.35 scene intensity + 0.20 loudness + 0.15 motion + 0.10 colourfulness
            + 0.10 sharpness + dialogue_weight(vibe) x 0.3 x line intensity
    """
    sharp_max = max((s.sharpness for s in analysis.shots), default=1.0) or 1.0
    frames = {round(f.time, 4): f for f in scenes.frames}
    # Every described keyframe of a shot (a long shot has several): a clip is described by
    # the one nearest its middle, which shows what the clip shows.
    described: dict[int, list[tuple[float, SceneDescription]]] = {}
    for k in analysis.keyframes:
        if (d := frames.get(round(k.time, 4))) is not None:
            described.setdefault(k.shot, []).append((k.time, d))
    acts = {"BEGINNING": 0, "ESCALATION": 1, "CLIMAX": 2}
    meaning = meaning or zones.Lexical()
    usable = []
    for whole, kf in zip(analysis.shots, analysis.shot_keyframes(), strict=True):
        shot = whole.clean()  # a clip never shows a dissolve's double exposure
        desc = frames.get(round(kf.time, 4))
        middle = (shot.start + shot.end) / 2
        if shot.end - shot.start < MIN_CLIP or shot.brightness < BLACK or desc is None:
            continue
        if zone_of(middle, structure) is None:  # after the resolution: the ending is not given away
            continue
        said = " ".join(ln.text for ln in _lines_in(dialogue.lines, shot.start, shot.end))
        usable.append((shot, kf, desc, middle, f"{said} {desc.visual_content}; {desc.mood}; {desc.action}".strip()))
    zoned = zones.assign([u[3] for u in usable], [u[4] for u in usable], structure, meaning)
    candidates: list[Candidate] = []
    for (shot, kf, _, _, _), (zone, zone_reason) in zip(usable, zoned, strict=True):
        start, end, said, film_audio = _window(shot, kf.time, vibe.clip_seconds[acts[zone]], dialogue.lines)
        if end - start < MIN_CLIP:
            continue
        desc = min(described[shot.index], key=lambda td: abs(td[0] - (start + end) / 2))[1]
        talk = max((ln.intensity for ln in dialogue.lines if said and ln.text == said), default=0.0)
        parts = {
            "scene intensity": 0.35 * desc.intensity,
            "loudness": 0.20 * _norm_loudness(shot.loudness_db),
            "motion": 0.15 * min(shot.motion / 0.08, 1.0),
            "colour": 0.10 * shot.colourfulness,
            "sharpness": 0.10 * min(shot.sharpness / sharp_max, 1.0),
            "dialogue": vibe.dialogue_weight * 0.3 * talk,
        }
        top = sorted(parts.items(), key=lambda kv: -kv[1])[:2]
        candidates.append(
            Candidate(
                shot=shot.index,
                shot_start=shot.start,
                shot_end=shot.end,
                start=round(start, 4),
                end=round(end, 4),
                zone=zone,
                score=round(sum(parts.values()), 4),
                beat=None,
                dialogue=said,
                description=desc.visual_content,
                film_audio=film_audio,
                **dict(zip(("min_end", "max_end"), end_range(shot, start, end, said, dialogue.lines), strict=True)),
                reasons=[f"{name} {value:.2f}" for name, value in top]
                + [zone_reason]
                + ([] if film_audio else ["film sound off: it would cut a dialogue line"]),
            )
        )
    _assign_beats(candidates, dialogue)
    outcomes = Counter(f"{f.backend} {f.outcome}" for f in scenes.frames)
    backends = {
        "vision": scenes.backend,
        "vision_model": scenes.model,
        "vision_frames": ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        "structure": structure.backend,
        "zones": meaning.name,
    }
    return Narrative(vibe=vibe.name, backends=backends, structure=structure, candidates=candidates)


def _assign_beats(candidates: list[Candidate], dialogue: Dialogue) -> None:
    def best(zone: str, pred=lambda c: True) -> Candidate | None:
        pool = [c for c in candidates if c.zone == zone and c.beat is None and pred(c)]
        return max(pool, key=lambda c: c.score, default=None)

    emotions = {ln.text: ln.emotion for ln in dialogue.lines}
    picks = [
        ("money shot", best("CLIMAX")),
        ("climax peak", best("CLIMAX")),
        ("character introduction", next((c for c in candidates if c.zone == "BEGINNING" and c.dialogue), None)),
        ("inciting incident", best("BEGINNING")),
        ("escalation beat", best("ESCALATION")),
        ("relationship beat", best("ESCALATION", lambda c: emotions.get(c.dialogue or "") in ("joy", "sadness"))),
    ]
    for beat, cand in picks:
        if cand is not None and cand.beat is None:
            cand.beat = beat
