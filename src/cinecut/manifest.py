"""TRAILER_MANIFEST.json: how the editable cut plan is chosen from the narrative.

A person may edit the manifest by hand (drop, reorder, retime clips, change titles);
conform renders exactly what it says. The format is cinecut.models.Manifest, read with
`models.load(Manifest, path)`, which names the field and the segment of an invalid edit.
"""

from __future__ import annotations

import bisect
import math
from fractions import Fraction

from .models import (
    MIN_CLIP,
    Candidate,
    DialogueLine,
    Manifest,
    MusicCue,
    MusicPlan,
    Narrative,
    Segment,
    Stamp,
    VoiceLine,
)
from .speech import PHRASE
from .vibes import Vibe, target_length

TITLE_SECONDS = 3.0
END_CARD_SECONDS = 4.0
SILENCE_SECONDS = 1.0
BUTTON_MAX = 3.5  # seconds: the closing button is a sting, not a scene
CARDS_SHARE = 0.15  # the title and closing cards together take at most this share of a trailer
CARD_FLOOR = {"title": 1.0, "end": 1.2, "black": 0.4}  # seconds: the shortest a card may become
GROWN_PACE = 1.5  # climax clip lengths: a short film's act 3 clips grow to at most this many


def _piece(c: Candidate) -> tuple[int, float]:
    """Which stretch of the film a candidate comes from: two clips never share one (a long
    take gives several stretches; the climax may offer one with and one without its line)."""
    return c.shot, c.shot_start


def _pick(pool: list[Candidate], budget: float, dialogue_share: float) -> list[Candidate]:
    """Best-scoring clips until the act's time is filled; beats first; lines take at most
    the vibe's share of the act's time, so that the act keeps the vibe's pace. One clip per
    shot first (a long take gives several candidates), then more of the same shots if the
    act is still short. A first clip longer than a short film's act is shortened to fit it."""
    talk = dialogue_share * budget
    chosen: list[Candidate] = []
    used, shots, taken = 0.0, set(), set()
    ordered = sorted(pool, key=lambda c: (c.beat is None, -c.score))
    for again in (False, True):
        for cand in ordered:
            length = cand.end - cand.start
            if _piece(cand) in taken or (not again and cand.shot in shots):
                continue
            if used + length > budget + 0.5 and chosen:
                continue
            if cand.dialogue and length > talk and chosen:
                continue
            if length > budget + 0.5 and not cand.dialogue:  # a short film's act: the clip fits it
                keep = max(budget, 2 * MIN_CLIP)
                start = round(cand.start + (length - keep) / 2, 4)
                cand = cand.model_copy(update={"start": start, "end": round(start + keep, 4)})
                length = keep
            chosen.append(cand)
            shots.add(cand.shot)
            taken.add(_piece(cand))
            used += length
            talk -= length if cand.dialogue else 0.0
            if used >= budget:
                return chosen
    return chosen


def card_seconds(target: float) -> tuple[float, float, float]:
    """(title card, silent black beat, closing card) for a trailer of `target` seconds: the
    full lengths where the two cards stay within CARDS_SHARE of the trailer, else scaled
    down to it, never under CARD_FLOOR (a card must still be read)."""
    scale = min(1.0, CARDS_SHARE * target / (TITLE_SECONDS + END_CARD_SECONDS))
    title = max(TITLE_SECONDS * scale, CARD_FLOOR["title"])
    end = max(END_CARD_SECONDS * scale, CARD_FLOOR["end"])
    return round(title, 3), round(max(SILENCE_SECONDS * scale, CARD_FLOOR["black"]), 3), round(end, 3)


# How long a card may become when its end moves onto a beat, relative to its planned length.
CARD_RANGE = {"title": (0.7, 1.6), "black": (0.5, 1.5)}


def _with_frames(seg: Segment, frames: int, fps: Fraction) -> Segment:
    seconds = float(Fraction(frames) / fps)
    if seg.kind == "clip":
        return seg.model_copy(update={"source_out": round(float(seg.source_in) + seconds, 6)})  # type: ignore[arg-type]
    return seg.model_copy(update={"duration": round(seconds, 6)})


def snap_to_beats(
    segments: list[Segment], ranges: list[tuple[float, float]], beats: list[float], fps: Fraction
) -> tuple[list[Segment], int]:
    """Whole frames for every segment, and each segment's end (the next cut) moved onto the
    beat its range allows that is nearest to where the plan puts that cut. Aiming at the
    plan, not at the segment's own length, lets a later cut win back what an earlier one
    lost: clips that end at their shot's edge can only snap earlier, and a run of them
    would otherwise shorten the trailer by up to half a beat each. Beats are trailer time:
    only clip out-points and card lengths change, never where a clip starts in the film.
    Returns (segments, cuts snapped)."""
    beat_frames = sorted({round(Fraction(b).limit_denominator(100000) * fps) for b in beats})
    out, t, planned, snapped = [], 0, 0, 0
    for seg, (low, high) in zip(segments, ranges, strict=True):
        planned += max(round(seg.length * fps), 1)
        hi = t + max(math.floor(high * fps + 1e-6), 1)
        # The most a segment may last wins over the least: a clip never passes its shot's
        # end (nor the end of the picture) to keep the last fraction of a frame of its line.
        lo = min(t + max(math.ceil(low * fps - 1e-6), 1), hi)
        natural = min(max(planned, lo), hi)
        options = beat_frames[bisect.bisect_left(beat_frames, lo) : bisect.bisect_right(beat_frames, hi)]
        end = min(options, key=lambda f: (abs(f - natural), f)) if options else natural
        snapped += bool(options)
        out.append(_with_frames(seg, end - t, fps))
        t = end
    return out, snapped


def _length_range(seg: Segment, cand: Candidate | None) -> tuple[float, float]:
    if seg.kind != "clip" or cand is None:
        low, high = CARD_RANGE.get(seg.kind, (1.0, 1.0))
        return seg.length * low, seg.length * high
    start = float(seg.source_in)  # type: ignore[arg-type]
    low = cand.min_end if cand.min_end is not None else start + MIN_CLIP
    high = cand.max_end if cand.max_end is not None else cand.shot_end
    return max(min(low, cand.end) - start, MIN_CLIP), max(high, cand.end) - start


def plan_voiceover(segments: list[Segment], lines: list[DialogueLine], count: int, before: float) -> list[VoiceLine]:
    """Up to `count` of the film's strongest lines spoken `before` the climax, in film order,
    over stretches of acts 1-2 where no clip speaks (picture-only clips, clips without a
    line, the title card). Later lines would give the ending away. A film without subtitle
    lines gives phrases of speech it has (lines with `subtitled` False: PHRASE seconds
    long), the loudest and clearest first."""
    heard = {s.dialogue for s in segments if s.kind == "clip" and s.film_audio and s.dialogue}
    texts = any(ln.kind == "speech" and ln.subtitled for ln in lines)
    shortest, longest = (0.8, 6.0) if texts else PHRASE
    pool = [
        ln
        for ln in lines
        if ln.kind == "speech"
        and ln.subtitled == texts
        and shortest <= ln.end - ln.start <= longest
        and ln.text not in heard
        and ln.end <= before
    ]  # a sound cue ("[explosion]") is no line to lay over the picture
    chosen = sorted(sorted(pool, key=lambda ln: (-ln.intensity, ln.start))[:count], key=lambda ln: ln.start)
    # Quiet stretches: runs of segments before the climax whose own sound carries no line.
    windows, t, run_start = [], 0.0, None
    for seg in segments:
        quiet = seg.kind == "title" or (seg.kind == "clip" and (not seg.dialogue or not seg.film_audio))
        if seg.kind == "black" or (seg.kind == "clip" and seg.act == 3):
            quiet = False
        if quiet and run_start is None:
            run_start = t
        if not quiet and run_start is not None:
            windows.append((run_start + 0.3, t - 0.2))
            run_start = None
        if seg.kind == "black" or (seg.kind == "clip" and seg.act == 3):
            break
        t += seg.length
    if run_start is not None:
        windows.append((run_start + 0.3, t - 0.2))
    placed, free_from = [], 0.0
    for ln in chosen:
        span = (ln.end - ln.start) + 0.15
        for a, b in windows:
            at = max(a, free_from)
            if at + span <= b:
                placed.append(
                    VoiceLine(
                        text=ln.text,
                        source_in=round(max(ln.start - 0.05, 0), 4),
                        source_out=round(ln.end + 0.1, 4),
                        at=round(at, 4),
                    )
                )
                free_from = at + span + 0.8
                break
    return placed


def plan_manifest(
    narrative: Narrative,
    stamp: Stamp,
    vibe: Vibe,
    title: str,
    tagline: str,
    length: float,
    fps: Fraction | None = None,
    music: MusicPlan | None = None,
    music_file: str = "",
    snap: bool = True,
    lines: list[DialogueLine] | None = None,
    voiceover: int = 0,
) -> Manifest:
    """Three acts: set-up in film order, escalation in film order, climax rising to its money shot.

    With `fps`, every segment is a whole number of frames, and with `music` the cuts land on
    its beats (`snap`); `voiceover` lines of `lines` are laid over acts 1-2."""
    target = target_length(vibe, stamp.duration, length)
    title_seconds, silence_seconds, end_seconds = card_seconds(target)
    picture = max(target - title_seconds - silence_seconds - end_seconds, target * 0.5)
    acts: list[list[Candidate]] = []
    for i, zone in enumerate(("BEGINNING", "ESCALATION", "CLIMAX")):
        pool = [c for c in narrative.candidates if c.zone == zone]
        acts.append(_pick(pool, picture * vibe.act_share[i], vibe.dialogue_share))
    # Top up from the best clips left (escalation and climax first, shots not yet used
    # before more of the same) to reach the length.
    used = {_piece(c) for act in acts for c in act}
    shots = {c.shot for act in acts for c in act}
    missing = picture - sum(c.end - c.start for act in acts for c in act)
    order = {"ESCALATION": 0, "CLIMAX": 1, "BEGINNING": 2}
    for cand in sorted(
        narrative.candidates, key=lambda c: (c.shot in shots, order[c.zone], c.dialogue is not None, -c.score)
    ):
        if missing <= 0:
            break
        if _piece(cand) not in used:
            acts[("BEGINNING", "ESCALATION", "CLIMAX").index(cand.zone)].append(cand)
            used.add(_piece(cand))
            missing -= cand.end - cand.start
    # Still short (a short film): clips without dialogue grow inside their shots (never into
    # a later line): the set-up's and the escalation's first, up to twice their length; then
    # the climax's, only as far as its pace allows; then the first two acts' as far as they can.
    pace = GROWN_PACE * vibe.clip_seconds[2]
    said = sorted(ln.end for ln in lines or [] if ln.kind == "speech")
    for grown, most in (
        ((0, 1), lambda c: 2 * (c.end - c.start)),
        ((2,), lambda c: pace),
        ((0, 1), lambda c: math.inf),
    ):
        for n in grown:
            for i, cand in enumerate(acts[n]):
                if missing <= 0 or cand.dialogue:
                    continue
                length = cand.end - cand.start
                high = min(cand.shot_end, cand.max_end if cand.max_end is not None else cand.shot_end)
                # Its sound never grows back into the line before it.
                low = cand.shot_start
                if cand.film_audio:
                    low = max([low] + [t for t in said if t <= cand.start + 1e-6])
                grow = min(missing, max(most(cand) - length, 0.0), high - low - length)
                if grow <= 0:
                    continue
                start = max(low, min(cand.start - grow / 2, high - length - grow))
                end = min(high, start + length + grow)
                missing -= (end - start) - length
                acts[n][i] = cand.model_copy(update={"start": round(start, 4), "end": round(end, 4)})
    acts[0].sort(key=lambda c: c.start)
    acts[1].sort(key=lambda c: c.start)
    acts[2].sort(key=lambda c: (c.beat == "money shot", c.score))

    # The vibe's transition between clips of acts 1 and 2 (dips to black or white in act 1
    # only: in act 2 they would stall the escalation); the climax is all hard cuts.
    within = (vibe.transition, vibe.transition if vibe.transition == "dissolve" else "cut", "cut")

    source_of: dict[int, Candidate] = {}

    def clip(c: Candidate, act: int, transition: str) -> Segment:
        seg = Segment(
            kind="clip",
            act=act,
            source_in=c.start,
            source_out=c.end,
            zone=c.zone,
            beat=c.beat,
            score=c.score,
            dialogue=c.dialogue,
            film_audio=c.film_audio,
            transition=transition,
            reasons=c.reasons,
        )
        source_of[id(seg)] = c
        return seg

    def act_clips(n: int, first: str) -> list[Segment]:
        return [clip(c, n + 1, first if i == 0 else within[n]) for i, c in enumerate(acts[n])]

    segments = act_clips(0, "fade_black")
    segments.append(
        Segment(
            kind="title",
            duration=title_seconds,
            text=title,
            transition="fade_black",
            reasons=["title card after act 1"],
        )
    )
    segments += act_clips(1, "fade_black")
    segments.append(
        Segment(kind="black", duration=silence_seconds, beat="breath", reasons=["silence before the climax"])
    )
    segments += act_clips(2, "cut")
    end_text = f"{title}\n{tagline}" if tagline else title
    segments.append(
        Segment(kind="title", duration=end_seconds, text=end_text, transition="fade_black", reasons=["closing title"])
    )
    # The button: after the title, one last line of the film, from before the climax (it
    # must not give the ending away), short enough to land as a sting.
    used = {_piece(c) for act in acts for c in act}
    spare = [
        c
        for c in narrative.candidates
        if _piece(c) not in used
        and c.dialogue
        and c.film_audio
        and c.zone != "CLIMAX"
        and c.end - c.start <= BUTTON_MAX
    ]
    if spare:
        button = max(spare, key=lambda c: c.score)
        seg = clip(button, 3, "cut")
        segments.append(seg.model_copy(update={"beat": "button", "reasons": [*seg.reasons, "button after the title"]}))
        source_of[id(segments[-1])] = button
    cue = None
    if fps is not None:
        ranges = [_length_range(seg, source_of.get(id(seg))) for seg in segments]
        beats = music.beats if music is not None and snap else []
        segments, snapped = snap_to_beats(segments, ranges, beats, fps)
        if music is not None:
            cue = MusicCue(
                file=music_file,
                source=music.source,
                bpm=music.bpm,
                beats=music.beats,
                snapped=f"{snapped} of {len(segments)} cuts on a beat" if snap else "snapping off",
            )
    voice = plan_voiceover(segments, lines or [], voiceover, narrative.structure.climax) if stamp.has_audio else []
    return Manifest(
        film=stamp.film,
        fingerprint=stamp.fingerprint,
        title=title,
        tagline=tagline,
        vibe=vibe.name,
        target_seconds=round(target, 3),
        backends=narrative.backends,
        segments=segments,
        music=cue,
        voiceover=voice,
    )
