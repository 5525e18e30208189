"""Declared memory against measured: every rule of a demo build, mem_mb against max_rss.

    .venv/bin/python benchmarks/resources.py [--duration 240] [--size 1920x1080] [--cores 2]

Builds the demo with the default config in a fresh copy of the workflow (`snakemake
--cores N trailer.mp4`), then prints, per rule, the mem_mb Snakemake gave the job and the
peak RSS of its process tree from the rule's `benchmark:` file, and the ratio. A ratio
above 1 is a rule that a cluster enforcing memory would kill. Written to
docs/benchmarks.md.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

from common import SNAKEMAKE, demo_arguments, demo_workflow, read_benchmark, table_head, write_section


def declared(output: str) -> dict[str, int]:
    """mem_mb per rule, from the job descriptions Snakemake prints as it runs."""
    found: dict[str, int] = {}
    rule = None
    for line in output.splitlines():
        start = re.match(r"\s*(?:local)?rule (\w+):", line)
        if start:
            rule = start.group(1)
        mem = re.search(r"\bmem_mb=(\d+)", line)
        if rule and mem and line.strip().startswith("resources:"):
            found[rule] = max(found.get(rule, 0), int(mem.group(1)))
    return found


def main() -> None:
    args = demo_arguments(__doc__, cores=2)
    with tempfile.TemporaryDirectory() as tmp:
        work = demo_workflow(Path(tmp) / "w", args)
        proc = subprocess.run(
            [*SNAKEMAKE, "--cores", str(args.cores), "trailer.mp4"], cwd=work, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise SystemExit(proc.stderr[-4000:])
        memory = declared(proc.stdout + proc.stderr)
        rows = []
        for bench in sorted((work / "results/benchmarks").glob("*/*.tsv")):
            row = read_benchmark(bench)
            rule, rss = bench.parent.name, float(row["max_rss"])
            mem = memory.get(rule)
            ratio = f"{rss / mem:.2f}" if mem else "-"
            line = f"| {rule} | {mem or '-'} | {rss:.0f} | {ratio} | {float(row['s']):.1f} s |"
            print(line, flush=True)
            rows.append(line)
    table = [
        f"Demo {args.duration:.0f} s, trailer {args.width}x{args.height}, `--cores {args.cores}`.",
        "",
        *table_head("rule", "declared mem_mb", "measured max_rss (MB)", "measured / declared", "wall"),
        *rows,
    ]
    write_section(f"declared memory, demo {args.width}x{args.height}", "\n".join(table))


if __name__ == "__main__":
    main()
