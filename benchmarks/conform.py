"""Conform wall time per output second, and what dissolves cost.

    .venv/bin/python benchmarks/conform.py [--duration 240] [--size 1920x1080]

Builds the demo up to its narrative and music bed in a fresh copy of the workflow, then
renders, in the same run: all hard cuts with the film's sound only (no music, no
voice-over: the baseline), the same cut with its full sound (music bed, voice-over,
effects, sidechain ducking, the mix), the thriller plan (dips to black in act 1) and the
drama plan (dissolves in acts 1 and 2, each an xfade over film handles), both with full
sound; it prints seconds of wall time per second of trailer and the ratio to the baseline.
"""

from __future__ import annotations

import tempfile
import time
from fractions import Fraction
from pathlib import Path

from common import SNAKEMAKE, demo_arguments, demo_workflow, timed

from cinecut import conform, models, music
from cinecut.manifest import plan_manifest
from cinecut.vibes import VIBES


def main() -> None:
    args = demo_arguments(__doc__)
    width, height = args.width, args.height
    with tempfile.TemporaryDirectory() as tmp:
        work = demo_workflow(Path(tmp) / "workflow", args)
        timed([*SNAKEMAKE, "--cores", "2", "results/demo/narrative.json", "results/demo/music.json"], work)
        res = work / "results/demo"
        narrative = models.load(models.Narrative, res / "narrative.json")
        stamp = models.load(models.Stamp, res / "source.json").model_copy(
            update={"film": str(work / "resources/demo/demo.mp4")}
        )
        bed = models.load(music.MusicPlan, res / "music.json")
        lines = models.load(models.Dialogue, res / "dialogue.json").lines
        fps = conform.output_rate(stamp, 0)
        print(f"demo: {args.duration:.0f} s film, trailer {width}x{height} at {fps} fps, preset fast")
        baseline = None
        for label, vibe, sound in (
            ("hard cuts, film sound only", "thriller", False),
            ("hard cuts, full sound", "thriller", True),
            ("thriller (dips to black)", "thriller", True),
            ("drama (dissolves)", "drama", True),
        ):
            manifest = plan_manifest(
                narrative, stamp, VIBES[vibe], "The Keeper", "", 0, fps=fps, music=bed,
                music_file=str(res / "music.wav"), lines=lines, voiceover=2,
            )  # fmt: skip
            if label.startswith("hard cuts"):
                cuts = [s.model_copy(update={"transition": "cut"}) for s in manifest.segments]
                manifest = manifest.model_copy(update={"segments": cuts})
            if not sound:
                manifest = manifest.model_copy(update={"music": None, "voiceover": []})
            seconds = sum(p.frames for p in conform.place_segments(manifest, fps)) / float(fps)
            start = time.perf_counter()
            out = Path(tmp) / f"{vibe}_{sound}.mp4"
            conform.render(manifest, stamp, out, width, height, Fraction(fps), stems_dir=Path(tmp) / "stems")
            wall = time.perf_counter() - start
            baseline = baseline or wall / seconds
            print(
                f"{label:28s} {seconds:6.1f} s trailer  {wall:6.1f} s wall  "
                f"{wall / seconds:5.2f} s per output second  ({wall / seconds / baseline:4.2f}x baseline)"
            )


if __name__ == "__main__":
    main()
