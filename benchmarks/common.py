"""Shared by the benchmarks: timing a command and copying the workflow."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# Everything but the package, the tests and what runs produce: the workflow itself.
NOT_WORKFLOW = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".snakemake",
    "results",
    "resources",
    "logs",
    "trailers",
    "trailer.mp4",
    "src",
    "tests",
    "benchmarks",
    "__pycache__",
    "*.egg-info",
    ".ruff_cache",
    ".pytest_cache",
)


def copy_workflow(dest: Path) -> Path:
    shutil.copytree(REPO, dest, ignore=NOT_WORKFLOW)
    return dest


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start
