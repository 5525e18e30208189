"""Fixtures: real Snakemake runs of the real workflow in temporary copies.

Two builds are made once per session and copied (mtimes preserved) for each test
that changes something: the demo from a clean copy, and a user-supplied film.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import pytest
import workflow_files
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# Small but complete: a 90 s demo at 640x360 and a 640x360 trailer keep the suite fast.
TEST_CONFIG = {
    "demo": {"duration": 90, "width": 640, "height": 360, "fps": 24},
    "trailer": {"width": 640, "height": 360, "preset": "veryfast"},
}


def copy_workflow(dest: Path, **overrides) -> Path:
    """A fresh copy of the workflow, its config.yaml overlaid with TEST_CONFIG and `overrides`."""
    workflow_files.copy_workflow(dest)
    config = yaml.safe_load((dest / "config.yaml").read_text())
    for key, value in {**TEST_CONFIG, **overrides}.items():
        if isinstance(value, dict):
            config.setdefault(key, {}).update(value)
        else:
            config[key] = value
    (dest / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return dest


def snakemake(workdir: Path, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*SNAKEMAKE, "--cores", "2", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}")
    return proc


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Job counts from the 'Job stats' table of a dry run (empty when nothing to do)."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    jobs, table = {}, False
    for line in text.splitlines():
        if line.startswith("job ") and "count" in line:
            table = True
            continue
        if table:
            parts = line.split()
            if not parts or parts[0] == "total":
                break
            if len(parts) == 2 and parts[1].isdigit():
                jobs[parts[0]] = int(parts[1])
    return jobs


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)


def stream_durations(path: Path) -> tuple[float, float, Fraction]:
    info = ffprobe(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    return float(video["duration"]), float(audio["duration"]), Fraction(video["r_frame_rate"])


# Snakemake's own bookkeeping that a dry run writes by design: its IO cache (for
# --trust-io-cache) and its run logs. Everything else must stay untouched.
SNAKEMAKE_BOOKKEEPING = (".snakemake/iocache/", ".snakemake/log/")


def snapshot(tree: Path) -> dict[str, tuple[int, int]]:
    files = {str(p.relative_to(tree)): p for p in tree.rglob("*") if p.is_file()}
    return {
        rel: (p.stat().st_mtime_ns, p.stat().st_size)
        for rel, p in files.items()
        if not rel.startswith(SNAKEMAKE_BOOKKEEPING)
    }


def clone_build(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, symlinks=True)
    return dest


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> Path:
    """The README's command on a fresh copy: `snakemake --cores 4 trailer.mp4`."""
    work = copy_workflow(tmp_path_factory.mktemp("demo"))
    proc = subprocess.run([*SNAKEMAKE, "--cores", "4", "trailer.mp4"], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-6000:]
    return work


# The user's film: a 30 s demo-like film at 320x180, a 320x180 trailer, and zones by word
# lists. The tests of film_build ask what reruns and what is reused, which neither size nor
# zones change; the demo's 90 s at 640x360, and sentence embeddings loaded in each
# narrative job (8-40 s), made each build and each test that renders again 2-3x longer.
# (The demo's build keeps the defaults: its tests assert them.)
FILM_SIZE = {"duration": 30, "width": 320, "height": 180}
SMALL_TRAILER = {"width": 320, "height": 180, "preset": "ultrafast"}
LEXICAL = {"meaning": "lexical"}


@pytest.fixture(scope="session")
def film_build(tmp_path_factory) -> Path:
    """A film the user brings (not rule-produced): a film with subtitles in films/."""
    from cinecut.demo import build_demo

    work = copy_workflow(
        tmp_path_factory.mktemp("film"),
        film="films/lighthouse.mp4",
        subtitles="films/lighthouse.srt",
        title="The Keeper",
        trailer=SMALL_TRAILER,
        narrative=LEXICAL,
    )
    (work / "films").mkdir()
    build_demo(work / "films/lighthouse.mp4", work / "films/lighthouse.srt", work / "truth.json", **FILM_SIZE)
    snakemake(work, "trailer.mp4")
    return work


@pytest.fixture
def film_copy(film_build, tmp_path) -> Path:
    return clone_build(film_build, tmp_path / "w")


os.environ.setdefault("PYTHONUNBUFFERED", "1")


# ---------------------------------------------------------------- the bad-input ledger
# Every bad input and injected fault that a test tries is recorded here, and the session
# ends with one line over all of them (issue: "cases tried, handled, tracebacks").

BAD_INPUT_CASES: list[tuple[str, str, bool]] = []
TRACEBACKS: list[int] = []  # per run that printed something, the tracebacks in it
INTERNAL_ERRORS: list[str] = []  # "cinecut internal error" lines: bugs, never an expected outcome


def record_case(family: str, name: str, handled: bool, output: str = "") -> None:
    bugs = [ln for ln in output.splitlines() if ln.startswith("cinecut internal error")]
    INTERNAL_ERRORS.extend(bugs)
    BAD_INPUT_CASES.append((family, name, handled and not bugs))
    TRACEBACKS.append(output.count("Traceback"))


@contextmanager
def bad_input_case(family: str, name: str) -> Iterator[list[str]]:
    """Record one case: handled when the body's assertions all hold. Append whatever the
    run printed to the yielded list; its tracebacks are counted."""
    printed: list[str] = []
    try:
        yield printed
    except BaseException:
        record_case(family, name, False, "".join(printed))
        raise
    record_case(family, name, True, "".join(printed))


def pytest_terminal_summary(terminalreporter) -> None:
    if not BAD_INPUT_CASES:
        return
    families: dict[str, int] = {}
    for family, *_ in BAD_INPUT_CASES:
        families[family] = families.get(family, 0) + 1
    handled = sum(case[2] for case in BAD_INPUT_CASES)
    tracebacks = sum(TRACEBACKS)
    terminalreporter.write_sep("-", "bad input and faults")
    terminalreporter.write_line(
        f"{len(BAD_INPUT_CASES)} cases tried, {handled} handled as expected, {tracebacks} tracebacks, "
        f"{len(INTERNAL_ERRORS)} internal errors"
        f" ({', '.join(f'{family} {n}' for family, n in families.items())})"
    )
    for family, name, ok in BAD_INPUT_CASES:
        if not ok:
            terminalreporter.write_line(f"  not handled: {family}: {name}")


def pytest_sessionfinish(session, exitstatus) -> None:
    """A bug reported as an internal error fails the run, whatever the tests asserted."""
    if INTERNAL_ERRORS:
        session.exitstatus = 1


def turn_upright(film):
    """Write the display matrix a phone held upright writes (ffprobe: rotation -90) into the
    video track's header; ffmpeg 5.1 cannot write one itself."""
    data = bytearray(film.read_bytes())
    matrix = data.find(b"tkhd") - 4 + 48  # version-0 tkhd: the matrix follows 48 bytes in
    data[matrix : matrix + 36] = struct.pack(">9I", 0, 0x10000, 0, 0xFFFF0000, 0, 0, 0, 0, 0x40000000)
    film.write_bytes(bytes(data))
