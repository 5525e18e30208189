"""TRAILER_MANIFEST.json: the editable cut plan, and how it is chosen from the narrative.

A person may edit the manifest by hand (drop, reorder, retime clips, change titles);
conform renders exactly what it says. `load_manifest` names the field and the
segment of an invalid edit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import models
from .models import Candidate, Narrative, Stamp
from .vibes import Vibe, target_length

MANIFEST_VERSION = 1
TITLE_SECONDS = 3.0
END_CARD_SECONDS = 4.0
SILENCE_SECONDS = 1.0
TRANSITION_SECONDS = 0.5


class Segment(BaseModel):
    """One piece of the trailer: a clip of the film, a title card, or a silent black beat."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["clip", "title", "black"]
    act: int | None = Field(default=None, ge=1, le=3)
    source_in: float | None = Field(default=None, ge=0)
    source_out: float | None = Field(default=None, ge=0)
    duration: float | None = Field(default=None, gt=0)
    text: str | None = None
    zone: str | None = None
    beat: str | None = None
    score: float | None = None
    dialogue: str | None = None
    film_audio: bool = True  # play the clip's own sound (False: picture only)
    # How this segment begins, coming from the previous one: a hard cut, a dissolve
    # (both clips overlap, using film beyond their in/out points as handles), or a dip
    # through black or white (the previous segment fades out, this one fades in).
    transition: Literal["cut", "dissolve", "fade_black", "fade_white"] = "cut"
    transition_seconds: float = Field(default=TRANSITION_SECONDS, gt=0, le=3)
    reasons: list[str] = []

    @model_validator(mode="after")
    def _complete(self) -> Segment:
        if self.kind == "clip":
            if self.source_in is None or self.source_out is None:
                raise ValueError("a clip needs source_in and source_out")
            if self.source_out - self.source_in < 0.5:
                raise ValueError("a clip must be at least 0.5 s long (source_out - source_in)")
        else:
            if self.duration is None:
                raise ValueError(f"a {self.kind} segment needs a duration")
            if self.kind == "title" and not (self.text or "").strip():
                raise ValueError("a title segment needs text")
        return self

    @property
    def length(self) -> float:
        if self.kind == "clip":
            return float(self.source_out) - float(self.source_in)  # type: ignore[arg-type]
        return float(self.duration)  # type: ignore[arg-type]


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = MANIFEST_VERSION
    film: str
    fingerprint: str
    title: str
    tagline: str = ""
    vibe: str
    target_seconds: float
    backends: dict[str, str] = {}  # which backend produced the descriptions and the anchors
    segments: list[Segment] = Field(min_length=1)


def _pick(pool: list[Candidate], budget: float, dialogue_share: float) -> list[Candidate]:
    """Best-scoring clips until the act's time is filled; beats first; lines take at most
    the vibe's share of the act's time, so that the act keeps the vibe's pace."""
    talk = dialogue_share * budget
    chosen, used = [], 0.0
    for cand in sorted(pool, key=lambda c: (c.beat is None, -c.score)):
        length = cand.end - cand.start
        if used + length > budget + 0.5 and chosen:
            continue
        if cand.dialogue and length > talk and chosen:
            continue
        chosen.append(cand)
        used += length
        talk -= length if cand.dialogue else 0.0
        if used >= budget:
            break
    return chosen


def plan_manifest(narrative: Narrative, stamp: Stamp, vibe: Vibe, title: str, tagline: str, length: float) -> Manifest:
    """Three acts: set-up in film order, escalation in film order, climax rising to its money shot."""
    target = target_length(vibe, stamp.duration, length)
    cards = TITLE_SECONDS + SILENCE_SECONDS + END_CARD_SECONDS
    picture = max(target - cards, target * 0.5)
    acts: list[list[Candidate]] = []
    for i, zone in enumerate(("BEGINNING", "ESCALATION", "CLIMAX")):
        pool = [c for c in narrative.candidates if c.zone == zone]
        acts.append(_pick(pool, picture * vibe.act_share[i], vibe.dialogue_share))
    # Top up from the best clips left (escalation and climax first) to reach the length.
    used = {id(c) for act in acts for c in act}
    missing = picture - sum(c.end - c.start for act in acts for c in act)
    order = {"ESCALATION": 0, "CLIMAX": 1, "BEGINNING": 2}
    for cand in sorted(narrative.candidates, key=lambda c: (order[c.zone], c.dialogue is not None, -c.score)):
        if missing <= 0:
            break
        if id(cand) not in used:
            acts[("BEGINNING", "ESCALATION", "CLIMAX").index(cand.zone)].append(cand)
            missing -= cand.end - cand.start
    # Still short (a short film): let clips without dialogue grow inside their shots.
    for act in acts:
        for i, cand in enumerate(act):
            if missing <= 0:
                break
            if cand.dialogue:
                continue
            grow = min(missing, cand.end - cand.start, (cand.shot_end - cand.shot_start) - (cand.end - cand.start))
            start = max(cand.shot_start, cand.start - grow / 2)
            end = min(cand.shot_end, start + (cand.end - cand.start) + grow)
            missing -= (end - start) - (cand.end - cand.start)
            act[i] = cand.model_copy(update={"start": round(start, 4), "end": round(end, 4)})
    acts[0].sort(key=lambda c: c.start)
    acts[1].sort(key=lambda c: c.start)
    acts[2].sort(key=lambda c: (c.beat == "money shot", c.score))

    # The vibe's transition between clips of acts 1 and 2 (dips to black or white in act 1
    # only: in act 2 they would stall the escalation); the climax is all hard cuts.
    within = (vibe.transition, vibe.transition if vibe.transition == "dissolve" else "cut", "cut")

    def clip(c: Candidate, act: int, transition: str) -> Segment:
        return Segment(
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

    def act_clips(n: int, first: str) -> list[Segment]:
        return [clip(c, n + 1, first if i == 0 else within[n]) for i, c in enumerate(acts[n])]

    segments = act_clips(0, "fade_black")
    segments.append(
        Segment(
            kind="title",
            duration=TITLE_SECONDS,
            text=title,
            transition="fade_black",
            reasons=["title card after act 1"],
        )
    )
    segments += act_clips(1, "fade_black")
    segments.append(
        Segment(kind="black", duration=SILENCE_SECONDS, beat="breath", reasons=["silence before the climax"])
    )
    segments += act_clips(2, "cut")
    end_text = f"{title}\n{tagline}" if tagline else title
    segments.append(
        Segment(
            kind="title", duration=END_CARD_SECONDS, text=end_text, transition="fade_black", reasons=["closing title"]
        )
    )
    return Manifest(
        film=stamp.film,
        fingerprint=stamp.fingerprint,
        title=title,
        tagline=tagline,
        vibe=vibe.name,
        target_seconds=round(target, 3),
        backends=narrative.backends,
        segments=segments,
    )


def load_manifest(path: str | Path) -> Manifest:
    return models.load(Manifest, path)
