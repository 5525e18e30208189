"""Conform: peak memory of its process tree, and wall time against the encode floor.

    .venv/bin/python benchmarks/conform.py [--duration 240] [--size 1920x1080] [--cores 2]
                                           [--lengths 30,96,180] [--transitions cuts,dips,dissolves]
                                           [--floors 0]   # memory only: no encode floors

Builds the demo up to its narrative and music bed in a fresh copy of the workflow. Then,
for each case, conform.render runs in a child process (with an empty segment cache, so
every piece is rendered) while the RSS of its whole process tree is sampled every 50 ms,
as Snakemake's `benchmark:` does. In the same run, two encode floors of each case, at
the same size, rate, x264 preset and threads, with AAC sound of the same length: ffmpeg
encoding as many frames of a generated picture (testsrc2), and ffmpeg encoding the
trailer's own frames less the time to decode them (x264's cost depends on the picture:
the demo's noise, plasma and fractals cost it about twice testsrc2's bars). Cases: the first --lengths entry
with each of --transitions (hard cuts; the thriller plan's dips to black; the drama plan's
dissolves), then hard cuts at the other lengths. The table is printed and written to
docs/benchmarks.md.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import psutil
from common import SNAKEMAKE, demo_arguments, demo_workflow, load_note, table_head, timed, write_section

from cinecut import models, placement
from cinecut.manifest import plan_manifest
from cinecut.vibes import VIBES

PRESET = "fast"
CHILD = """
import json, sys
from fractions import Fraction
from cinecut import conform, models
a = json.loads(sys.argv[1])
manifest = models.load(models.Manifest, a["manifest"])
stamp = models.load(models.Stamp, a["stamp"]).model_copy(update={"film": a["film"]})
conform.render(manifest, stamp, a["out"], a["width"], a["height"], Fraction(a["fps"]), preset=a["preset"],
               stems_dir=a["stems"], cache_dir=a["cache"], threads=a["threads"])
"""


@dataclass(frozen=True)
class Run:
    wall: float  # seconds
    cpu: float  # user + system seconds of the whole process tree: what load beside it barely changes
    rss: float  # MB, the tree's peak

    def __sub__(self, other: Run) -> Run:
        return Run(self.wall - other.wall, self.cpu - other.cpu, self.rss)


def run_sampled(cmd: list[str]) -> Run:
    """Wall and CPU seconds and peak RSS (MB) of the process tree, sampled every 50 ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd[:3])}...\n{proc.stderr.read()[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Run(wall, cpu, peak / 1e6)


def encode_floor(frames: int, width: int, height: int, fps: Fraction, threads: int, out: Path) -> Run:
    """ffmpeg encoding `frames` generated frames as conform's pieces are encoded, plus AAC."""
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s={width}x{height}:r={fps}",
           "-f", "lavfi", "-i", "sine=f=440:r=48000", "-frames:v", str(frames), "-t", f"{float(frames / fps):.6f}",
           "-c:v", "libx264", "-preset", PRESET, "-crf", "18", "-pix_fmt", "yuv420p", "-threads", str(threads),
           "-c:a", "aac", "-b:a", "192k", str(out)]  # fmt: skip
    return run_sampled(cmd)


def own_frames_floor(trailer: Path, threads: int, out: Path) -> Run:
    """ffmpeg encoding the trailer's own picture and sound as conform encodes them, less
    the time it takes to decode them: what encoding exactly these frames costs."""
    decode = ["ffmpeg", "-v", "error", "-threads", str(threads), "-i", str(trailer)]
    encode = decode + ["-c:v", "libx264", "-preset", PRESET, "-crf", "18", "-pix_fmt", "yuv420p",
                       "-threads", str(threads), "-c:a", "aac", "-b:a", "192k", "-y", str(out)]  # fmt: skip
    return run_sampled(encode) - run_sampled([*decode, "-f", "null", "-"])


def main() -> None:
    args = demo_arguments(__doc__, lengths="96,30,180", transitions="cuts,dips,dissolves", cores=2, floors=1)
    width, height = args.width, args.height
    lengths = [float(x) for x in args.lengths.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = demo_workflow(Path(tmp) / "workflow", args)
        timed([*SNAKEMAKE, "--cores", "2", "results/demo/narrative.json", "results/demo/music.json"], work)
        res = work / "results/demo"
        narrative = models.load(models.Narrative, res / "narrative.json")
        stamp = models.load(models.Stamp, res / "source.json").model_copy(
            update={"film": str(work / "resources/demo/demo.mp4")}
        )
        bed = models.load(models.MusicPlan, res / "music.json")
        lines = models.load(models.Dialogue, res / "dialogue.json").lines
        fps = placement.output_rate(stamp, 0)
        cases = [(lengths[0], t) for t in args.transitions.split(",")] + [(n, "cuts") for n in lengths[1:]]
        rows = []
        header = (
            f"demo film {args.duration:.0f} s; trailer {width}x{height} at {fps} fps, x264 {PRESET}, "
            f"{args.cores} worker(s), {load_note()}; floors: x264 + AAC at {args.cores} threads of as many "
            "generated frames (testsrc2), and of the trailer's own frames less their decode. Seconds of CPU "
            "(user + system, the whole process tree) in brackets: they barely change with other load on the machine"
        )
        print(header)
        for length, transitions in cases:
            vibe = {"cuts": "thriller", "dips": "thriller", "dissolves": "drama"}[transitions]
            manifest = plan_manifest(
                narrative, stamp, VIBES[vibe], "The Keeper", "", length, fps=fps, music=bed,
                music_file=str(res / "music.wav"), lines=lines, voiceover=2,
            )  # fmt: skip
            if transitions == "cuts":
                cuts = [s.model_copy(update={"transition": "cut"}) for s in manifest.segments]
                manifest = manifest.model_copy(update={"segments": cuts})
            frames = sum(p.frames for p in placement.place_segments(manifest, fps))
            case = Path(tmp) / f"{transitions}_{length:g}"
            case.mkdir()
            (case / "manifest.json").write_text(manifest.model_dump_json())
            child = {
                "manifest": str(case / "manifest.json"), "stamp": str(res / "source.json"), "film": stamp.film,
                "out": str(case / "trailer.mp4"), "width": width, "height": height, "fps": str(fps),
                "preset": PRESET, "stems": str(case / "stems"), "cache": str(case / "segments"),
                "threads": args.cores,
            }  # fmt: skip
            conform = run_sampled([sys.executable, "-c", CHILD, json.dumps(child)])
            if args.floors:
                floor = encode_floor(frames, width, height, Fraction(fps), args.cores, case / "floor.mp4")
                own = own_frames_floor(case / "trailer.mp4", args.cores, case / "own.mp4")
                floors = (
                    f"{floor.wall:.1f} s ({floor.cpu:.0f} s) | {conform.wall / floor.wall:.2f}x "
                    f"| {own.wall:.1f} s ({own.cpu:.0f} s) | {conform.wall / own.wall:.2f}x "
                    f"| {conform.cpu / own.cpu:.2f}x"
                )
            else:
                floors = "- | - | - | - | -"
            row = (
                f"| {transitions} | {frames / float(fps):.1f} s | {len(manifest.segments)} "
                f"| {conform.wall:.1f} s ({conform.cpu:.0f} s) | {floors} | {conform.rss:.0f} MB |"
            )
            print(row, flush=True)
            rows.append(row)
            # Written after every case: a run cut short still leaves what it measured.
            table = [
                header,
                "",
                *table_head(
                    "transitions",
                    "trailer",
                    "segments",
                    "conform wall (CPU)",
                    "floor: testsrc2 (CPU)",
                    "ratio",
                    "floor: own frames (CPU)",
                    "ratio",
                    "CPU ratio",
                    "peak RSS (tree)",
                ),
                *rows,
            ]
            title = f"conform {width}x{height}, {args.cores} cores" + ("" if args.floors else ", memory")
            write_section(title, "\n".join(table))


if __name__ == "__main__":
    main()
