"""What the workflow is: the files a user's clone runs. The tests and the benchmarks run
copies of it, made here, so both agree on what it holds."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ("Snakefile", "config.yaml", "rules", "scripts", "schemas", "profiles", "envs", "report")
# Everything else in the repository: the package (installed, not copied), its tests,
# benchmarks, tools and documents.
NOT_WORKFLOW = (
    ".ci", ".gitignore", "Makefile", "README.md", "pyproject.toml", "src", "tests", "benchmarks", "tools", "docs",
)  # fmt: skip


def copy_workflow(dest: Path) -> Path:
    """A fresh copy of the workflow in `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    return dest
