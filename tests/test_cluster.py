"""A real single-node SLURM cluster (tools/slurm-cluster.sh), two films (the main film and
one of a film sheet) through `--profile profiles/slurm`: every trailer passes QC and its
jobs went through SLURM.

The SLURM plugin checks on its jobs 2 s after a finish, then 12 s later: on the 2-CPU node
each pair of jobs takes 14 s, whatever it does, so the run's time is its number of jobs
(8 a film). A third film took 70 s more and proved nothing the second does not."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, SNAKEMAKE, copy_workflow, stream_durations

CLUSTER = REPO / "tools/slurm-cluster.sh"
VIBES = {"harbour": "thriller", "meadow": "romance"}

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("apt-get") is None,
    reason="the throw-away SLURM cluster needs root and apt-get",
)


def make_film(path: Path, source: str, seconds: int = 24) -> None:
    """A small film with three shots and a tone, so every stage has work to do."""
    third = seconds // 3
    graph = (
        f"{source}=s=320x180:r=25,trim=duration={third},setpts=PTS-STARTPTS,format=yuv420p[a];"
        f"testsrc2=s=320x180:r=25:d={third},hue=h=120,format=yuv420p[b];"
        f"{source}=s=320x180:r=25,trim=duration={third},setpts=PTS-STARTPTS,negate,format=yuv420p[c];"
        f"[a][b][c]concat=n=3[v];sine=f=330:d={seconds},volume=0.3[s]"
    )
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            "-map",
            "[s]",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
            str(path),
        ],
        check=True,
    )


@pytest.fixture(scope="module")
def slurm():
    subprocess.run([CLUSTER, "up"], check=True, timeout=300)
    try:
        yield
    finally:
        subprocess.run([CLUSTER, "down"], check=False, timeout=60)


def run_on_slurm(work: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["timeout", "-k", "10", "900", *SNAKEMAKE, "--profile", "profiles/slurm", "--jobs", "4",
         # the throw-away node has 2 CPUs: a job asking for more would never start
         "--max-threads", "2", "--slurm-init-seconds-before-status-checks", "2",
         "--seconds-between-status-checks", "2", *args],
        cwd=work,
        capture_output=True,
        text=True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def three_films(slurm, tmp_path_factory) -> tuple[Path, str]:
    work = copy_workflow(
        tmp_path_factory.mktemp("slurm") / "w",
        film="films/harbour.mp4",
        vibe=VIBES["harbour"],
        sheet="films.tsv",
        trailer={"width": 320, "height": 180, "preset": "veryfast"},
    )
    (work / "films").mkdir()
    for name, source in zip(VIBES, ("mandelbrot", "life"), strict=True):
        make_film(work / f"films/{name}.mp4", source)
    rows = [f"films/{name}.mp4\t\t{vibe}\t{name.title()}\t" for name, vibe in VIBES.items() if name != "harbour"]
    (work / "films.tsv").write_text("film\tsubtitles\tvibe\ttitle\ttagline\n" + "\n".join(rows) + "\n")
    proc = run_on_slurm(work)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    return work, output


def test_three_films_through_slurm_with_memory_enforced(three_films):
    """Every job ran under SLURM's memory enforcement (OverMemoryKill at each rule's
    mem_mb) and passed: the declared memory is enough."""
    work, output = three_films
    # "Job 5 has been submitted with SLURM jobid 1 (log: .../slurm_logs/rule_analysis/harbour/1.log)"
    submitted = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/(\w+)/", output)
    print(f"SLURM job ids: {' '.join(job_id for job_id, _ in submitted)}")
    kinds = {kind for _, kind in submitted}
    rules = {"rule_dialogue", "rule_speech", "rule_analysis", "rule_scenedesc", "rule_conform", "rule_qc"}
    assert rules | {"rule_report_assets"} <= kinds, kinds
    assert any(kind.startswith("group_story") for kind in kinds), kinds  # the small story rules, one job
    assert len({job_id for job_id, _ in submitted}) == 8 * len(VIBES)  # every non-local job of every film
    for name, vibe in VIBES.items():
        qc = json.loads((work / f"results/{name}/qc.json").read_text())
        assert qc["passed"], name
        assert json.loads((work / f"results/{name}/TRAILER_MANIFEST.json").read_text())["vibe"] == vibe
        video, audio, fps = stream_durations(work / f"trailers/{name}.mp4")
        assert abs(video - audio) <= 1 / fps + 1e-3


def test_a_job_over_its_declared_memory_is_killed(three_films):
    """The enforcement is real: conform declared at 60 MB is killed by SLURM for memory."""
    work, _ = three_films
    proc = run_on_slurm(
        work, "results/meadow/trailer.mp4", "--forcerun", "conform", "--set-resources", "conform:mem_mb=60"
    )
    assert proc.returncode != 0
    logs = "".join(p.read_text(errors="replace") for p in work.glob(".snakemake/slurm_logs/rule_conform/meadow/*.log"))
    assert re.search(r"exceeded (job )?memory limit|oom", logs, re.IGNORECASE), logs[-3000:]
