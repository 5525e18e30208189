"""Structure (three anchors), candidate clips with zones, scores and beats.

Pure functions: data in, data out. The scripts do the reading and writing.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from . import zones
from .models import (
    MIN_CLIP,
    Analysis,
    Candidate,
    Dialogue,
    DialogueLine,
    Narrative,
    SceneDescFile,
    SceneDescription,
    Shot,
    Speech,
    Structure,
)
from .speech import story_lines
from .vibes import Vibe

BLACK = 0.06


def _norm_loudness(db: float) -> float:
    """-50 dBFS or quieter -> 0, -10 dBFS or louder -> 1."""
    return float(np.clip((db + 50) / 40, 0, 1))


def _lines_in(lines: list[DialogueLine], start: float, end: float) -> list[DialogueLine]:
    return [ln for ln in lines if ln.end > start and ln.start < end]


def speech(lines: list[DialogueLine]) -> list[DialogueLine]:
    """The lines someone says: sound cues ("[explosion]", lyrics) only count for intensity."""
    return [ln for ln in lines if ln.kind == "speech"]


def shot_intensity(shot: Shot, scene_intensity: float, lines: list[DialogueLine]) -> float:
    said = _lines_in(lines, shot.start, shot.end)
    talk = max((ln.intensity for ln in said), default=0.0)
    return 0.4 * scene_intensity + 0.35 * _norm_loudness(shot.loudness_db) + 0.25 * talk


# Anchors: how much of the used range (begin to resolution) each act keeps at least, so
# that every act has room for clips whatever the curve's fit says.
SETUP_SHARE = 0.2
ESCALATION_SHARE = 0.15
CLIMAX_SHARE = 0.1
FLAT = 0.05  # intensity (0-1) a rise must have to count: below it the curve is flat
SETTLED = 0.5  # the story settles where the curve falls below its base + this share of the rise
RETURNS = 0.75  # ... and never rises above base + this share of it again


def intensity_curve(analysis: Analysis, scenes: SceneDescFile, dialogue: Dialogue) -> np.ndarray:
    """Intensity on a 1 s grid over the film: each second takes its shot's signals and the
    scene intensity of that shot's described keyframe nearest to it (a long shot that
    has several keyframes changes along them)."""
    duration = analysis.duration
    grid = np.arange(0, max(duration, 1.0), 1.0)
    curve = np.zeros_like(grid)
    by_time = {round(f.time, 4): f.intensity for f in scenes.frames}
    described: dict[int, list[tuple[float, float]]] = {}
    for k in analysis.keyframes:
        if (level := by_time.get(round(k.time, 4))) is not None:
            described.setdefault(k.shot, []).append((k.time, level))
    for shot in analysis.shots:
        inside = np.nonzero((grid >= shot.start) & (grid < shot.end))[0]
        frames = described.get(shot.index) or [(shot.start, 0.0)]
        for i in inside:
            level = min(frames, key=lambda tl: abs(tl[0] - grid[i]))[1]
            curve[i] = shot_intensity(shot, level, dialogue.lines)
    return curve


def _three_levels(x: np.ndarray, mins: tuple[int, int, int]) -> tuple[int, int, float] | None:
    """Boundaries (e, c) and the rise (top level less the first) of the best least-squares
    fit of x by three rising constant levels, each at least `mins` long; None when no
    such fit exists (too short, or never rising)."""
    n = len(x)
    s1 = np.concatenate([[0.0], np.cumsum(x)])
    s2 = np.concatenate([[0.0], np.cumsum(x * x)])

    def cost(i, j):  # squared error of x[i:j] around its mean; j may be an array
        length = np.maximum(j - i, 1)
        return s2[j] - s2[i] - (s1[j] - s1[i]) ** 2 / length

    m1, m2, m3 = mins
    best, found = np.inf, None
    for e in range(m1, n - m2 - m3 + 1):
        c = np.arange(e + m2, n - m3 + 1)
        mean1 = s1[e] / e
        mean2 = (s1[c] - s1[e]) / (c - e)
        mean3 = (s1[n] - s1[c]) / (n - c)
        total = cost(0, e) + cost(e, c) + cost(c, n)
        total = np.where((mean2 > mean1) & (mean3 > mean2), total, np.inf)
        k = int(np.argmin(total))
        if total[k] < best:
            best, found = float(total[k]), (e, int(c[k]), float(mean3[k] - mean1))
    return found


def _resolution(smooth: np.ndarray, b: int, peak: int, duration: float) -> tuple[float, str]:
    """Where the story settles after its climax, and why: the first second after the
    curve's peak from which it stays down (below base + SETTLED of the rise, never back
    above base + RETURNS of it). A flat curve, or one that never settles, leaves the
    whole film to the trailer."""
    base = float(np.median(smooth[b : max(peak, b + 1)]))
    rise = float(smooth[peak]) - base
    if rise < FLAT:
        return duration, (
            f"the intensity curve is flat (its peak {smooth[peak]:.2f} at {peak} s is {rise:.2f} above its median"
            f" {base:.2f}, under {FLAT}): nothing marks an ending, the whole film may be used"
        )
    low, back = base + SETTLED * rise, base + RETURNS * rise
    # The highest the curve rises again from each second on.
    ahead = np.maximum.accumulate(smooth[::-1])[::-1]
    for r in range(peak + 1, len(smooth)):
        if smooth[r] < low and ahead[r] < back:
            return float(min(r, duration)), (
                f"the intensity curve falls from its peak {smooth[peak]:.2f} at {peak} s below {low:.2f} at {r} s"
                f" and stays under {back:.2f} to the end (median before the peak {base:.2f})"
            )
    return duration, (
        f"the intensity curve does not settle after its peak {smooth[peak]:.2f} at {peak} s (it never stays under"
        f" {low:.2f}): the whole film may be used"
    )


def heuristic_structure(analysis: Analysis, scenes: SceneDescFile, dialogue: Dialogue) -> Structure:
    """Anchors decided over the whole film at once (never medians of chunk answers).

    An intensity curve on a 1 s grid (scene intensity, loudness, dialogue intensity).
    Its smoothed peak in the second half is the height of the climax; the resolution
    starts where the curve falls back after it and stays down (`_resolution`); a flat
    curve leaves it at the end. Between the first dialogue and the resolution (the used
    range), the best fit by three rising levels gives the escalation (start of the middle
    level) and the climax (start of the top level), each act keeping a minimum share of
    the range (SETUP_SHARE, ESCALATION_SHARE, CLIMAX_SHARE); a curve without such levels
    splits the range in thirds. `notes` says, one line per anchor, why it is there.
    """
    duration = analysis.duration
    curve = intensity_curve(analysis, scenes, dialogue)
    width = max(int(duration * 0.02), 3)
    smooth = np.convolve(np.pad(curve, width, mode="edge"), np.ones(width) / width, mode="same")[width:-width]
    n = len(curve)
    lo, hi = int(n * 0.45), max(int(n * 0.97), int(n * 0.45) + 1)
    peak = min(lo + int(np.argmax(smooth[lo:hi])), n - 1)
    said = speech(dialogue.lines)
    # The first picture a clip may show: shots before it are blank (titles on black) or fades.
    shown = [s.clean() for s in analysis.shots if s.brightness >= BLACK]
    first_picture = next((s.start for s in shown if s.end - s.start >= MIN_CLIP), analysis.shots[0].start)
    blank = " (before it the film is blank or fades)" if first_picture > 0 else ""
    if said and said[0].start - 1.0 >= first_picture:
        begin = said[0].start - 1.0
        why_begin = f"the first spoken line starts at {said[0].start:.1f} s, less 1 s"
    elif said:
        begin = first_picture
        why_begin = f"the first picture a clip may show, {first_picture:.1f} s{blank}, not before the first line"
    else:
        begin = first_picture
        why_begin = f"no spoken line: the first picture a clip may show, {first_picture:.1f} s{blank}"
    if begin > duration * 0.2:
        begin = duration * 0.2
        why_begin += "; held at 20% of the film"
    begin = max(begin, 0.0)
    b = int(begin)
    resolution, why_resolution = _resolution(smooth, b, peak, duration)
    end = max(min(int(np.ceil(resolution)), n), b + 1)
    used = end - b
    mins = tuple(max(int(np.ceil(share * used)), 1) for share in (SETUP_SHARE, ESCALATION_SHARE, CLIMAX_SHARE))
    fit = _three_levels(curve[b:end], mins)  # type: ignore[arg-type]
    span = f"{b}-{end} s"
    if fit is not None and fit[2] >= FLAT:
        e, c, _ = fit
        levels = [float(np.mean(part)) for part in (curve[b : b + e], curve[b + e : b + c], curve[b + c : end])]
        heights = " / ".join(f"{v:.2f}" for v in levels)
        why_escalation = f"start of the middle of three rising intensity levels ({heights}) fitted over {span}"
        why_climax = f"start of the top intensity level ({levels[2]:.2f}) of the fit over {span}"
        if e == mins[0]:
            why_escalation += f"; held so that the set-up keeps {SETUP_SHARE:.0%} of the used range"
        if c - e == mins[1]:
            why_climax += f"; held so that the escalation keeps {ESCALATION_SHARE:.0%} of the used range"
        if end - b - c == mins[2]:
            why_climax += f"; held so that the climax keeps {CLIMAX_SHARE:.0%} of the used range"
        escalation, climax = float(b + e), float(b + c)
    else:
        third = (resolution - begin) / 3
        escalation, climax = round(begin + third, 3), round(begin + 2 * third, 3)
        flat = "rise less than " + str(FLAT) if fit is not None else "do not rise"
        why_escalation = f"no three rising intensity levels over {span} (they {flat}): a third of the used range"
        why_climax = f"no three rising intensity levels over {span}: two thirds of the used range"
    notes = "\n".join(
        [
            f"intensity curve: peak {float(smooth[peak]):.2f} at {peak} s; levels fitted over {span}",
            f"begin {begin:.1f} s: {why_begin}",
            f"escalation {escalation:.1f} s: {why_escalation}",
            f"climax {climax:.1f} s: {why_climax}",
            f"resolution {min(resolution, duration):.1f} s: {why_resolution}",
        ]
    )
    return Structure(
        backend="heuristic",
        begin=round(begin, 3),
        escalation=round(escalation, 3),
        climax=round(climax, 3),
        resolution=round(float(min(resolution, duration)), 3),
        duration=duration,
        notes=notes,
    )


def hold_shares(begin: float, escalation: float, climax: float, resolution: float) -> tuple[float, float, list[str]]:
    """Escalation and climax moved (if need be) so that each act keeps its minimum share
    of the used range [begin, resolution]; and what was moved, in words."""
    used = resolution - begin
    moved = []
    low = begin + SETUP_SHARE * used
    if escalation < low:
        moved.append(f"escalation moved from {escalation:.1f} s to {low:.1f} s: the set-up keeps {SETUP_SHARE:.0%}")
        escalation = low
    low, high = escalation + ESCALATION_SHARE * used, resolution - CLIMAX_SHARE * used
    if climax < low:
        moved.append(f"climax moved from {climax:.1f} s to {low:.1f} s: the escalation keeps {ESCALATION_SHARE:.0%}")
        climax = low
    if climax > high and high > escalation:
        moved.append(f"climax moved from {climax:.1f} s to {high:.1f} s: the climax keeps {CLIMAX_SHARE:.0%}")
        climax = high
    return round(escalation, 3), round(climax, 3), moved


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
    # A clip already crossing a line (picture only) may take the whole shot; one that ends
    # where the next line starts stays there.
    high = min([shot.end] + [max(t - 0.1, end) for t in later if t >= end])
    return round(min(low, end), 4), round(max(high, end), 4)


def _picture_window(shot: Shot, centre: float, length: float, lines: list[DialogueLine]) -> tuple[float, float]:
    """A clip inside one shot that carries no line: in the stretch between lines (0.1 s
    clear of them) nearest `centre`, shortened to fit it if need be; (start, end), or the
    clip at `centre` when no such stretch holds MIN_CLIP."""
    length = min(length, shot.end - shot.start)
    gaps, t = [], shot.start
    for ln in sorted(_lines_in(lines, shot.start, shot.end), key=lambda ln: ln.start):
        if ln.start - 0.1 > t:
            gaps.append((t, ln.start - 0.1))
        t = max(t, ln.end + 0.1)
    if t < shot.end:
        gaps.append((t, shot.end))
    gaps = [g for g in gaps if g[1] - g[0] >= MIN_CLIP]
    if not gaps:
        start = min(max(centre - length / 2, shot.start), shot.end - length)
        return start, start + length
    a, b = min(gaps, key=lambda g: max(g[0] - centre, centre - g[1], 0.0))
    span = min(length, b - a)
    start = min(max(centre - span / 2, a), b - span)
    return start, start + span


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
        # Its 0.2 s of air either side, and its length, never reach into the next line or
        # the one before.
        before = max((ln.end for ln in lines if ln is not line and ln.end <= line.start), default=shot.start)
        after = min((ln.start for ln in lines if ln is not line and ln.start >= line.end), default=shot.end)
        start = max(shot.start, line.start - 0.2, before)
        end = min(shot.end, max(line.end + 0.2, start + length), after)
        return start, end, line.text, True
    length = min(length, shot.end - shot.start)
    free_start, free_end = _free_stretch(shot, lines)
    if free_end - free_start >= MIN_CLIP:
        span = min(length, free_end - free_start)
        start = min(max(centre - span / 2, free_start), free_end - span)
        return start, start + span, None, True
    start = min(max(centre - length / 2, shot.start), shot.end - length)
    return start, start + length, None, False


ACTS = {"BEGINNING": 0, "ESCALATION": 1, "CLIMAX": 2}
PACE = 2.5  # climax clip lengths: a climax clip longer than this breaks the vibe's climax pace
PIECE = 2.5  # clip lengths of its act: a longer stretch of one shot gives more than one candidate
ANCHOR_ROOM = 1.5  # s: a shot is cut at an anchor only if both sides keep this much (or a clip of their act)


def pieces(shot: Shot, structure: Structure, vibe: Vibe, lines: list[DialogueLine]) -> list[Shot]:
    """The stretches of a (clean) shot that each give one candidate clip. The shot is cut
    at the anchors inside it, so that each act it spans has its own part of it (a film of
    one shot still has three acts), and each part into pieces of about PIECE clip lengths
    of its act: a long take gives clips from different parts of it. A cut between pieces
    moves out of a spoken line (to its nearer end); a cut at an anchor stays."""

    def room(t: float) -> float:  # what a part at `t` needs to hold a clip of its act
        zone = zone_of(t, structure)
        return max(2 * MIN_CLIP, min(ANCHOR_ROOM, vibe.clip_seconds[ACTS[zone]]) if zone else 0.0)

    anchors = [structure.escalation, structure.climax, structure.resolution]
    bounds = [shot.start]
    for t in anchors:
        if bounds[-1] + room(t - 1e-3) <= t <= shot.end - room(t):
            bounds.append(t)
    bounds.append(shot.end)
    out: list[Shot] = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        zone = zone_of((a + b) / 2, structure)
        count = max(int((b - a) // (PIECE * vibe.clip_seconds[ACTS[zone]])), 1) if zone else 1
        cuts = [a + (b - a) * j / count for j in range(count + 1)]
        for j in range(1, count):
            line = next((ln for ln in lines if ln.start < cuts[j] < ln.end), None)
            if line is not None:
                near = line.start if cuts[j] - line.start < line.end - cuts[j] else line.end
                if cuts[j - 1] + MIN_CLIP <= near <= cuts[j + 1] - MIN_CLIP:
                    cuts[j] = near
        out += [
            shot.model_copy(update={"start": round(x, 4), "end": round(y, 4)})
            for x, y in zip(cuts, cuts[1:], strict=False)
        ]
    return [p for p in out if p.end - p.start >= MIN_CLIP]


def build_narrative(
    analysis: Analysis,
    scenes: SceneDescFile,
    dialogue: Dialogue,
    structure: Structure,
    vibe: Vibe,
    meaning: zones.Meaning | None = None,
    heard: Speech | None = None,
) -> Narrative:
    """Score every usable piece of a shot (`pieces`) as a candidate clip, assign its zone
    (zones.py) and beat. An act that its content emptied gets back the best candidate that
    lies in it: every act the film has material for has clips.

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
    meaning = meaning or zones.Lexical()
    # Speech the film's sound has (`heard`) times the subtitle lines and, where no line
    # says it, counts as a line without text: clips keep it whole or play picture only.
    lines = speech(story_lines(dialogue.lines, heard))
    usable = []
    for whole, kf in zip(analysis.shots, analysis.shot_keyframes(), strict=True):
        # A clip never shows a dissolve's double exposure, nor the frames of a fade.
        shot = whole.clean()
        if shot.end - shot.start < MIN_CLIP or shot.brightness < BLACK or whole.index not in described:
            continue
        for piece in pieces(shot, structure, vibe, lines):
            middle = (piece.start + piece.end) / 2
            if zone_of(middle, structure) is None:  # after the resolution: the ending is not given away
                continue
            # The clip centres on the shot's sharpest frame if the piece holds it, else on the
            # piece's described keyframe nearest its middle, else on its middle.
            inside = [t for t, _ in described[whole.index] if piece.start <= t < piece.end]
            centre = min(inside, key=lambda t: (t != kf.time, abs(t - middle)), default=middle)
            desc = min(described[whole.index], key=lambda td: abs(td[0] - centre))[1]
            said = " ".join(ln.text for ln in _lines_in(lines, piece.start, piece.end) if ln.subtitled)
            text = f"{said} {desc.visual_content}; {desc.mood}; {desc.action}".strip()
            usable.append((piece, centre, middle, text))
    zoned = zones.assign([u[2] for u in usable], [u[3] for u in usable], structure, meaning)

    def candidate(shot: Shot, centre: float, zone: str, zone_reason: str, line: bool = True) -> Candidate | None:
        length = vibe.clip_seconds[ACTS[zone]]
        if line:
            start, end, said, film_audio = _window(shot, centre, length, lines)
        else:  # picture only: its sound plays where no line is cut
            start, end = _picture_window(shot, centre, length, lines)
            said, film_audio = None, not any(ln.start < end and ln.end > start for ln in lines)
            zone_reason += "; picture only: its line is longer than the climax's pace"
        if end - start < MIN_CLIP:
            return None
        desc = min(described[shot.index], key=lambda td: abs(td[0] - (start + end) / 2))[1]
        talk = max((ln.intensity for ln in lines if said and ln.text == said), default=0.0)
        parts = {
            "scene intensity": 0.35 * desc.intensity,
            "loudness": 0.20 * _norm_loudness(shot.loudness_db),
            "motion": 0.15 * min(shot.motion / 0.08, 1.0),
            "colour": 0.10 * shot.colourfulness,
            "sharpness": 0.10 * min(shot.sharpness / sharp_max, 1.0),
            "dialogue": vibe.dialogue_weight * 0.3 * talk,
        }
        top = sorted(parts.items(), key=lambda kv: -kv[1])[:2]
        return Candidate(
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
            **dict(zip(("min_end", "max_end"), end_range(shot, start, end, said, lines), strict=True)),
            reasons=[f"{name} {value:.2f}" for name, value in top]
            + [zone_reason]
            + ([] if film_audio else ["film sound off: it would cut a dialogue line"]),
        )

    made = [
        (candidate(piece, centre, zone, reason), piece, centre, zone_of(middle, structure))
        for (piece, centre, middle, _), (zone, reason) in zip(usable, zoned, strict=True)
    ]
    made = [m for m in made if m[0] is not None]
    # An act that meaning emptied gets back the best candidate lying in it.
    for zone in ACTS:
        if any(c.zone == zone for c, *_ in made):
            continue
        placed = [i for i, (_, _, _, where) in enumerate(made) if where == zone]
        for i in sorted(placed, key=lambda i: -made[i][0].score):
            cand, piece, centre, where = made[i]
            moved = candidate(piece, centre, zone, f"zone {zone.lower()}: by its position, the act had no clip")
            if moved is not None:
                made[i] = (moved, piece, centre, where)
                break
    candidates: list[Candidate] = [m[0] for m in made]
    # The climax keeps the vibe's pace: where a clip carrying a line would be longer, the
    # same piece is also offered as a short clip without it.
    longest = PACE * vibe.clip_seconds[2]
    for cand, piece, centre, _ in made:
        if cand.zone == "CLIMAX" and cand.dialogue and cand.end - cand.start > longest:
            reason = next(r for r in cand.reasons if r.startswith("zone "))
            if (short := candidate(piece, centre, "CLIMAX", reason, line=False)) is not None:
                candidates.append(short)
    candidates.sort(key=lambda c: c.start)
    _assign_beats(candidates, dialogue, longest)
    outcomes = Counter(f"{f.backend} {f.outcome}" for f in scenes.frames)
    backends = {
        "vision": scenes.backend,
        "vision_model": scenes.model,
        "vision_frames": ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        "structure": structure.backend,
        "zones": meaning.name,
    }
    if heard is not None:
        backends["speech"] = heard.backend + (f" ({heard.note})" if heard.note else "")
    return Narrative(vibe=vibe.name, backends=backends, structure=structure, candidates=candidates)


def _assign_beats(candidates: list[Candidate], dialogue: Dialogue, longest: float = float("inf")) -> None:
    """The trailer's beats on the best candidates for them; the climax's on clips that keep
    its pace (no longer than `longest`) where there are any."""

    def best(zone: str, pred=lambda c: True) -> Candidate | None:
        pool = [c for c in candidates if c.zone == zone and c.beat is None and pred(c)]
        return max(pool, key=lambda c: c.score, default=None)

    def climax() -> Candidate | None:
        return best("CLIMAX", lambda c: c.end - c.start <= longest) or best("CLIMAX")

    emotions = {ln.text: ln.emotion for ln in speech(dialogue.lines)}
    picks = [
        ("money shot", climax()),
        ("climax peak", climax()),
        ("character introduction", next((c for c in candidates if c.zone == "BEGINNING" and c.dialogue), None)),
        ("inciting incident", best("BEGINNING")),
        ("escalation beat", best("ESCALATION")),
        ("relationship beat", best("ESCALATION", lambda c: emotions.get(c.dialogue or "") in ("joy", "sadness"))),
    ]
    for beat, cand in picks:
        if cand is not None and cand.beat is None:
            cand.beat = beat
