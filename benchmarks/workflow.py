"""End-to-end wall time of the demo trailer and of a no-op dry run.

    .venv/bin/python benchmarks/workflow.py [--duration 240] [--size 1920x1080]

Builds the demo in a fresh temporary copy of the workflow and prints, measured in the
same run: the end-to-end time, one decode of the demo film (`ffmpeg -i demo -f null -`)
as the baseline it is compared with, each stage's time from its `benchmark:` file, a
no-op `snakemake -n` after completion, and bare Snakemake start-up (`snakemake
--version`) as that one's baseline. The table is printed and written to docs/benchmarks.md.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from common import (
    SNAKEMAKE,
    demo_arguments,
    demo_workflow,
    load_note,
    read_benchmark,
    table_head,
    timed,
    timed_or_explain,
    write_section,
)

CORES = 4


def megabytes(value: str) -> str:
    """A benchmark file's max_rss ("-" where the job was too short to be sampled)."""
    try:
        return f"{float(value):.0f} MB"
    except ValueError:
        return "-"


def main() -> None:
    args = demo_arguments(__doc__)
    width, height = args.width, args.height
    note = load_note()
    with tempfile.TemporaryDirectory() as tmp:
        work = demo_workflow(Path(tmp) / "workflow", args)
        total = timed_or_explain([*SNAKEMAKE, "--cores", str(CORES), "trailer.mp4"], work)
        decode = timed(["ffmpeg", "-v", "error", "-i", "resources/demo/demo.mp4", "-f", "null", "-"], work)
        noop = min(timed([*SNAKEMAKE, "-n"], work) for _ in range(3))
        startup = min(timed([*SNAKEMAKE, "--version"], work) for _ in range(3))
        benchmarks = work / "results/benchmarks"
        stages = [
            (str(tsv.relative_to(benchmarks).with_suffix("")), read_benchmark(tsv))
            for tsv in sorted(benchmarks.rglob("*.tsv"))
        ]
    print(f"demo: {args.duration:.0f} s film, trailer {width}x{height}")
    print(f"end-to-end (demo render + all stages): {total:8.1f} s")
    for name, figures in stages:
        print(f"  stage {name}: {float(figures['s']):.1f} s")
    print(f"baseline, one decode of the demo film:  {decode:8.2f} s  (end-to-end = {total / decode:.1f}x)")
    print(f"no-op snakemake -n:                     {noop:8.2f} s")
    print(f"baseline, snakemake --version:          {startup:8.2f} s  (no-op -n = {noop / startup:.2f}x)")
    rows = [
        f"| end to end, `snakemake --cores {CORES} trailer.mp4` (demo render and every stage) | {total:.1f} s "
        f"| {total / decode:.2f}x the decode | |",
        *(
            f"| stage `{name}` | {float(figures['s']):.1f} s | {float(figures['s']) / decode:.2f}x the decode "
            f"| {megabytes(figures.get('max_rss', '-'))} |"
            for name, figures in stages
        ),
        f"| one decode of the demo film, `ffmpeg -i demo.mp4 -f null -` (baseline) | {decode:.2f} s | 1.00x | |",
        f"| no-op `snakemake -n` after it, best of 3 | {noop:.2f} s | {noop / startup:.2f}x the start-up | |",
        f"| `snakemake --version`, best of 3 (baseline: start-up) | {startup:.2f} s | 1.00x | |",
    ]
    body = [
        f"Demo film of {args.duration:.0f} s, trailer {width}x{height}, in a fresh copy of the workflow, {note}. "
        "Stages: each rule's `benchmark:` file (wall seconds and peak RSS of the job); jobs may overlap.",
        "",
        *table_head("what", "wall", "ratio", "peak RSS"),
        *rows,
    ]
    write_section(f"demo end to end {width}x{height}", "\n".join(body))


if __name__ == "__main__":
    main()
