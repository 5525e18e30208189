"""Shared by the benchmarks: timing a command and copying the workflow."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
sys.path.insert(0, str(REPO / "tools"))  # as pytest's `pythonpath` does for the tests
import devmodels  # noqa: E402, F401  (the test models, for the benchmarks that need them)
from workflow_files import copy_workflow  # noqa: E402, F401  (a fresh copy of the workflow)


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def demo_arguments(doc: str, **extra: object) -> argparse.Namespace:
    """--duration of the demo film and --size of the trailer (as width, height); each
    keyword adds an option of that name with that default."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--duration", type=float, default=240)
    parser.add_argument("--size", default="1920x1080")
    for name, default in extra.items():
        parser.add_argument(f"--{name}", type=type(default), default=default)
    args = parser.parse_args()
    args.width, args.height = map(int, args.size.split("x"))
    return args


def demo_workflow(dest: Path, args: argparse.Namespace) -> Path:
    """A fresh copy of the workflow whose config asks for that demo and trailer size."""
    work = copy_workflow(dest)
    config = yaml.safe_load((work / "config.yaml").read_text())
    config["demo"]["duration"] = args.duration
    config["trailer"].update(width=args.width, height=args.height)
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    return work


def table_head(*columns: str) -> list[str]:
    """The first two lines of a markdown table: its column names and the rule under them."""
    return ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]


def write_section(title: str, body: str) -> None:
    """Put a benchmark's table into docs/benchmarks.md under `## title`, with the machine
    and the date, replacing that section's earlier run (no timing is typed by hand)."""
    import datetime
    import os
    import platform

    path = REPO / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\nWritten by the scripts in `benchmarks/`.\n"
    stamp = f"{datetime.date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    section = f"## {title}\n\n_{stamp}: `benchmarks/{Path(sys.argv[0]).name} {' '.join(sys.argv[1:])}`_\n\n{body}\n"
    head, sep, rest = text.partition(f"## {title}\n")
    if sep:
        following = rest.find("\n## ")
        text = head + section + ("\n" + rest[following + 1 :] if following >= 0 else "")
    else:  # a new section goes before the hand-typed history at the end
        head, sep, history = text.partition("## Earlier figures")
        text = head.rstrip("\n") + "\n\n" + section + ("\n" + sep + history if sep else "")
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)


def read_benchmark(path: Path) -> dict[str, str]:
    """The figures of a Snakemake `benchmark:` file (TSV: a header row, then the run)."""
    header, values = path.read_text().splitlines()[:2]
    return dict(zip(header.split("\t"), values.split("\t"), strict=False))


def load_note() -> str:
    """The machine's 1-minute load average against its cores, for a section's text: the
    figures of a run on a busy machine are not those of an idle one."""
    import os

    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    busy = " (other jobs were running: figures are slower than on an idle machine)" if load > 0.5 * cores else ""
    return f"load average {load:.1f} on {cores} cores at the start{busy}"


def timed_or_explain(cmd: list[str], cwd: Path) -> float:
    """`timed`, but a failing command stops the benchmark with the end of its output."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{(proc.stdout + proc.stderr)[-4000:]}")
    return time.perf_counter() - start
