"""Test reels for shot detection: shots of the demo's moving sources joined by hard cuts,
dissolves and fades in a shuffled order, rendered with the frame-exact time of every join
as ground truth (test_shots.py). Test-only, so outside the package."""

from __future__ import annotations

import random
from pathlib import Path

from cinecut import atomic, media
from cinecut.demo import ACT_LOOK, KINDS, STORY, ShotSpec, join_shots

CALM = ["setup", "resolution"]


def plan_reel(cuts: int, dissolves: int, fades: int, fps: int, seed: int = 11) -> list[ShotSpec]:
    """Shots of 2-4 s in every look and source, joined by the given numbers of hard cuts,
    dissolves and fades in a shuffled order: a test reel for shot detection."""
    rng = random.Random(seed)
    joins = ["cut"] * cuts + ["dissolve"] * dissolves + ["fade"] * fades
    rng.shuffle(joins)
    shots: list[ShotSpec] = []
    t, last_kind = 0.0, ""
    joins = ["start", *joins]
    for i, trans in enumerate(joins):
        # Editors dissolve and fade between calm shots; hard cuts join anything, strobing
        # and fast climax shots included.
        gradual = {trans, joins[i + 1] if i + 1 < len(joins) else ""} & {"dissolve", "fade"}
        act = rng.choice(CALM if gradual else list(STORY))
        kind = rng.choice([k for k in sorted({k for kinds in KINDS.values() for k in kinds}) if k != last_kind])
        last_kind = kind
        frames = round(rng.uniform(2.0, 4.0) * fps)
        lo, hi = ACT_LOOK[act][0]
        shots.append(ShotSpec(len(shots), act, kind, t, frames, trans, rng.uniform(lo, hi), rng.randrange(1 << 30)))
        t += frames / fps
    return shots


def build_reel(
    film: str | Path, truth: str | Path, shots: list[ShotSpec], width: int = 320, height: int = 180, fps: int = 24
) -> None:
    """Render `shots` (from `plan_reel`) without sound; write the boundaries as ground truth."""
    graph, label, boundaries, frames = join_shots(shots, width, height, fps)
    with atomic.atomic_path(Path(film)) as tmp:
        media.run(
            ["ffmpeg", "-y", "-v", "error", "-filter_complex", ";".join(graph), "-map", f"[{label}]",
             "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-r", str(fps),
             "-f", "mp4", str(tmp)],
            film,
            "rendering the shot reel",
        )  # fmt: skip
    atomic.write_json(truth, {"duration": frames / fps, "fps": fps, "boundaries": boundaries})
