"""Code quality gates: snakemake --lint, snakefmt, ruff; conda envs pin what pyproject pins."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from conftest import REPO, copy_workflow

BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean(tmp_path):
    work = copy_workflow(tmp_path / "w")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=work, capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text
    assert "Lints for" not in text, text


def test_snakefmt_check():
    files = ["Snakefile", *map(str, sorted((REPO / "rules").glob("*.smk")))]
    proc = subprocess.run([BIN / "snakefmt", "--check", *files], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_check():
    proc = subprocess.run(
        [BIN / "ruff", "check", "src", "scripts", "tests", "benchmarks", "tools"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for req in requirements:
        m = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)", req)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_conda_envs_pin_the_same_versions_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = _pins(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted.update(_pins(extra))
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs
    seen = set()
    for env in envs:
        deps = yaml.safe_load(env.read_text())["dependencies"]
        pip = next((d["pip"] for d in deps if isinstance(d, dict) and "pip" in d), [])
        for name, version in _pins(pip).items():
            assert name in wanted, f"{env.name}: {name} is not in pyproject.toml"
            assert wanted[name] == version, f"{env.name}: {name}=={version}, pyproject has {wanted[name]}"
            seen.add(name)
    runtime = set(_pins(project["dependencies"]))
    assert runtime <= seen, f"not in any env: {runtime - seen}"


def test_ruff_format_check():
    proc = subprocess.run(
        [BIN / "ruff", "format", "--check", "src", "scripts", "tests", "benchmarks", "tools"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_tracked_entry_is_workflow_or_not():
    """Tests and benchmarks copy WORKFLOW_FILES: a new top-level file or folder must be
    named there or in NOT_WORKFLOW, so no copy silently lacks it."""
    import workflow_files

    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    entries = {line.split("/")[0] for line in tracked.splitlines()}
    known = set(workflow_files.WORKFLOW_FILES) | set(workflow_files.NOT_WORKFLOW)
    assert entries <= known, f"name these in tools/workflow_files.py: {sorted(entries - known)}"
    assert not set(workflow_files.WORKFLOW_FILES) & set(workflow_files.NOT_WORKFLOW)


def test_what_snakemake_report_needs_is_a_base_dependency():
    """`snakemake --report` works after `make demo` (base dependencies only): every package
    that Snakemake's report code says "must be installed" is one of them (pygments was a
    test tool once, and the README's report command failed)."""
    import snakemake

    report_code = Path(snakemake.__file__).parent / "report"
    needed = {
        match.group(1).lower()
        for path in report_code.rglob("*.py")
        for match in re.finditer(r"Python package (\w+) must be installed", path.read_text())
    }
    assert needed, "Snakemake's report code no longer names what it needs: look at it again"
    import importlib.metadata as metadata

    from packaging.requirements import Requirement

    # The base dependencies and what they require in turn (no extras).
    todo = [
        Requirement(s).name for s in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    base: set[str] = set()
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name not in base:
            base.add(name)
            for line in metadata.requires(name) or []:
                req = Requirement(line)
                if req.marker is None or ("extra" not in str(req.marker) and req.marker.evaluate()):
                    todo.append(req.name)
    assert needed <= base, f"add to [project] dependencies: {sorted(needed - base)}"
