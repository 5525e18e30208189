"""End-to-end wall time of the demo trailer and of a no-op dry run.

    .venv/bin/python benchmarks/workflow.py [--duration 240] [--size 1920x1080]

Builds the demo in a fresh temporary copy of the workflow and prints, measured in the
same run: the end-to-end time, one decode of the demo film (`ffmpeg -i demo -f null -`)
as the baseline it is compared with, a no-op `snakemake -n` after completion, and bare
Snakemake start-up (`snakemake --version`) as that one's baseline.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import SNAKEMAKE, demo_arguments, demo_workflow, timed


def main() -> None:
    args = demo_arguments(__doc__)
    width, height = args.width, args.height
    with tempfile.TemporaryDirectory() as tmp:
        work = demo_workflow(Path(tmp) / "workflow", args)
        total = timed([*SNAKEMAKE, "--cores", "4", "trailer.mp4"], work)
        decode = timed(["ffmpeg", "-v", "error", "-i", "resources/demo/demo.mp4", "-f", "null", "-"], work)
        noop = min(timed([*SNAKEMAKE, "-n"], work) for _ in range(3))
        startup = min(timed([*SNAKEMAKE, "--version"], work) for _ in range(3))
        stages = sorted((work / "results/benchmarks").rglob("*.tsv"))
        print(f"demo: {args.duration:.0f} s film, trailer {width}x{height}")
        print(f"end-to-end (demo render + all stages): {total:8.1f} s")
        for tsv in stages:
            seconds = float(tsv.read_text().splitlines()[1].split("\t")[0])
            print(f"  stage {tsv.relative_to(work / 'results/benchmarks')}: {seconds:.1f} s")
        print(f"baseline, one decode of the demo film:  {decode:8.2f} s  (end-to-end = {total / decode:.1f}x)")
        print(f"no-op snakemake -n:                     {noop:8.2f} s")
        print(f"baseline, snakemake --version:          {startup:8.2f} s  (no-op -n = {noop / startup:.2f}x)")


if __name__ == "__main__":
    main()
