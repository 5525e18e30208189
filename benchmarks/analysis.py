"""The analysis stage against decoding alone and against the reference approach.

    .venv/bin/python benchmarks/analysis.py [--minutes 10] [--film PATH]

Generates (once, then reuses from ~/.cache/cinecut/bench/) a 1080p H.264 film of
--minutes minutes with real motion: a minute of ten shots from different moving ffmpeg
sources, repeated. Then prints, all measured in the same run:

- decode: `ffmpeg -i film -f null -` (the floor: every frame decoded once);
- cinecut's analysis stage (`cinecut.analysis.analyse`: shots, signals, keyframes in one
  decode pass), its wall time as a ratio to the decode, and its peak RSS;
- the reference approach: a 420p proxy transcode, scene detection on the proxy (ffmpeg's
  scene score), then one seek into the film per keyframe (a shot's middle).

Goals (issue 3): analysis <= 1.3x the decode, >= 3x faster than the reference, peak RSS
< 1.5 GB and not growing with the film's length (run with --minutes 5 and 10 to compare).
The table is printed and written to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import load_note, table_head, write_section

from cinecut import media

CACHE = Path.home() / ".cache/cinecut/bench"
SHOTS = [  # one minute: ten six-second shots of different moving sources
    "testsrc2=s=1920x1080:r=24",
    "mandelbrot=s=960x540:r=24,scale=1920:1080",
    "life=s=480x270:r=24:mold=10:ratio=0.3:life_color=#ffdd66:mold_color=#884422,scale=1920:1080:flags=neighbor",
    "cellauto=s=480x270:r=24:rule=110:random_fill_ratio=0.5:scroll=1,scale=1920:1080:flags=neighbor",
    "gradients=s=1920x1080:r=24:speed=0.05",
    "testsrc2=s=1920x1080:r=24,hue=h=120:s=1.5",
    "mandelbrot=s=960x540:r=24:start_scale=1.5,scale=1920:1080,hue=h=200",
    "smptehdbars=s=1920x1080:r=24,rotate=a=0.2*t:c=black",
    "life=s=480x270:r=24:ratio=0.5:life_color=#66ddff,scale=1920:1080:flags=neighbor",
    "gradients=s=1920x1080:r=24:speed=0.08:c0=red:c1=blue",
]


def film_of(minutes: int) -> Path:
    """The benchmark film, generated once: a one-minute block looped `minutes` times."""
    film = CACHE / f"motion-1080p-{minutes}min.mp4"
    if film.exists():
        return film
    CACHE.mkdir(parents=True, exist_ok=True)
    block = CACHE / "motion-1080p-block.mp4"
    if not block.exists():
        parts = [f"{src},trim=duration=6,setpts=PTS-STARTPTS,format=yuv420p[s{i}]" for i, src in enumerate(SHOTS)]
        graph = ";".join(parts) + ";" + "".join(f"[s{i}]" for i in range(len(SHOTS))) + f"concat=n={len(SHOTS)}[v]"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", "-filter_complex", graph, "-map", "[v]", "-c:v", "libx264",
             "-preset", "veryfast", "-crf", "23", "-g", "48", str(block)],
            check=True,
        )  # fmt: skip
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-stream_loop", str(minutes - 1), "-i", str(block), "-c", "copy", str(film)],
        check=True,
    )  # fmt: skip
    return film


def timed(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, proc.stderr


ANALYSE = """
import resource, sys, time
from pathlib import Path
from cinecut import analysis, source
start = time.perf_counter()
result = analysis.analyse(source.make_stamp(sys.argv[1]), Path(sys.argv[2]))
seconds = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(f"{seconds} {rss} {len(result.shots)} {len(result.keyframes)}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--film", type=Path, help="a film of your own instead of the generated one")
    args = parser.parse_args()
    film = args.film or film_of(args.minutes)
    what = f"`{film.name}`" if args.film else f"{args.minutes} min of generated 1080p H.264 with motion"
    note = load_note()
    print(f"film: {film}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        decode, _ = timed(["ffmpeg", "-v", "error", "-i", str(film), "-map", "0:v:0", "-f", "null", "-"])
        print(f"decode (ffmpeg -f null):      {decode:7.1f} s")

        out = subprocess.run(
            [sys.executable, "-c", ANALYSE, str(film), str(tmp / "kf")], check=True, capture_output=True, text=True
        ).stdout.split()
        ours, rss, shots, keyframes = float(out[0]), float(out[1]), int(out[2]), int(out[3])
        print(
            f"cinecut analysis:             {ours:7.1f} s  ({ours / decode:.2f}x decode; {shots} shots, "
            f"{keyframes} keyframes; peak RSS {rss:.0f} MB)"
        )

        proxy = tmp / "proxy.mp4"
        transcode, _ = timed(["ffmpeg", "-v", "error", "-y", "-i", str(film), "-map", "0:v:0", "-vf", "scale=-2:420",
                              "-c:v", "libx264", "-preset", "veryfast", str(proxy)])  # fmt: skip
        detect, log = timed(["ffmpeg", "-hide_banner", "-i", str(proxy), "-vf", "select='gt(scene,0.3)',showinfo",
                             "-f", "null", "-"])  # fmt: skip
        cuts = [0.0] + [float(t) for t in re.findall(r"pts_time:([\d.]+)", log)]
        ends = cuts[1:] + [media.probe(film).duration]
        seeks = 0.0
        for i, (a, b) in enumerate(zip(cuts, ends, strict=True)):
            seconds, _ = timed(["ffmpeg", "-v", "error", "-y", "-ss", f"{(a + b) / 2:.3f}", "-i", str(film),
                                "-frames:v", "1", "-vf", "scale=640:-2", str(tmp / f"ref{i:05d}.jpg")])  # fmt: skip
            seeks += seconds
        reference = transcode + detect + seeks
        print(
            f"reference (proxy, detect, seek): {reference:7.1f} s  (proxy {transcode:.1f} + detection {detect:.1f} "
            f"+ {len(cuts)} seeks {seeks:.1f}; {reference / decode:.2f}x decode)"
        )
        print(f"cinecut vs reference: {reference / ours:.1f}x faster")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"(largest child process RSS, ffmpeg included: {children:.0f} MB)")
    rows = [
        ("decode alone, `ffmpeg -i film -f null -` (baseline)", decode, ""),
        ("cinecut analysis (shots, signals, dissolves, keyframes: one decode pass)", ours,
         f"{shots} shots, {keyframes} keyframes; peak RSS {rss:.0f} MB"),
        ("reference: 420p proxy transcode", transcode, ""),
        ("reference: scene detection on the proxy", detect, f"{len(cuts)} shots"),
        ("reference: one seek per keyframe (a shot's middle)", seeks, f"{len(cuts)} seeks"),
        ("reference in all", reference, f"{reference / ours:.2f}x the analysis"),
    ]  # fmt: skip
    table = [
        f"{what}; every figure measured in this run, {note}. Goals (issue 3): analysis <= 1.3x the "
        "decode, the reference >= 3x the analysis, peak RSS < 1.5 GB and not growing with the film's "
        f"length (compare `--minutes 5`). Largest child process RSS, ffmpeg included: {children:.0f} MB.",
        "",
        *table_head("step", "wall", "ratio to the decode", "notes"),
        *(f"| {name} | {seconds:.1f} s | {seconds / decode:.2f}x | {notes} |" for name, seconds, notes in rows),
    ]
    title = f"analysis of {film.name}" if args.film else f"analysis, {args.minutes} min of 1080p H.264"
    write_section(title, "\n".join(table))


if __name__ == "__main__":
    main()
