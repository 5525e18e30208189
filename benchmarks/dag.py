"""How the DAG scales with the number of films: `snakemake -n` wall time.

    .venv/bin/python benchmarks/dag.py [--counts 1 10 100 1000] [--built 3]

For each count, a film sheet of that many tiny placeholder films (8 s each) is planned
with `snakemake -n` from scratch, twice: with the real workflow, and with the same rules
stripped to their input and output files and a no-op `shell:` (no params, resources,
logs, benchmarks, groups or scripts). The stripped DAG has the same jobs and files, so
its time is what Snakemake itself needs for them: the floor that no change to the rules'
directives can go below. Then `--built` films (0 skips it) are built for real and a
no-op `snakemake -n` is timed. Baseline: `snakemake --version` (interpreter + import).
The table is printed and written to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from common import SNAKEMAKE, copy_workflow, load_note, table_head, timed, write_section


def workflow(folder: Path, films: int, placeholder: Path) -> Path:
    copy_workflow(folder)
    (folder / "films").mkdir()
    rows = []
    for i in range(films):
        film = folder / f"films/film{i:04d}.mp4"
        shutil.copy2(placeholder, film)
        rows.append(f"films/film{i:04d}.mp4\t\tthriller\t\t")
    (folder / "films.tsv").write_text("film\tsubtitles\tvibe\ttitle\ttagline\n" + "\n".join(rows) + "\n")
    config = yaml.safe_load((folder / "config.yaml").read_text())
    config.update(film="films/film0000.mp4", sheet="films.tsv")
    config["trailer"].update(width=320, height=180, preset="ultrafast")
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    return folder


# The directives that do not shape the DAG (input, output and wildcard constraints do); the
# rule's action becomes `shell: "true"`.
DIRECTIVE = re.compile(r"^    (params|resources|log|benchmark|group|conda|threads):(\n        .*|.*)+\n", re.M)
ACTION = re.compile(r"^    script:\n        .*\n", re.M)


def strip_rules(folder: Path) -> None:
    """Turn the workflow copy in `folder` into the same DAG with no-op jobs."""
    for smk in (folder / "rules").glob("*.smk"):
        text = ACTION.sub('    shell:\n        "true"\n', DIRECTIVE.sub("", smk.read_text()))
        assert "script:" not in text, f"{smk.name}: a rule's action was not stripped"
        smk.write_text(text)


def planned(work: Path) -> tuple[float, int]:
    """Wall seconds of `snakemake -n` in `work`, and the jobs it planned (its job stats)."""
    start = time.perf_counter()
    proc = subprocess.run([*SNAKEMAKE, "-n"], cwd=work, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    total = re.search(r"^total\s+(\d+)", proc.stdout + proc.stderr, re.M)
    return seconds, int(total.group(1)) if total else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--built", type=int, default=3)
    args = parser.parse_args()
    note = load_note()
    rows, after = [], ""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        placeholder = tmp / "placeholder.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=8", "-f", "lavfi",
             "-i", "sine=d=8", "-c:v", "libx264", "-c:a", "aac", "-shortest", str(placeholder)],
            check=True,
        )  # fmt: skip
        startup = min(timed([*SNAKEMAKE, "--version"], tmp) for _ in range(3))
        print(f"baseline, snakemake --version: {startup:.2f} s")
        for count in args.counts:
            work = workflow(tmp / f"n{count}", count, placeholder)
            seconds, jobs = planned(work)
            strip_rules(work)
            floor, floor_jobs = planned(work)
            assert floor_jobs == jobs, f"the stripped DAG has {floor_jobs} jobs, the workflow's {jobs}"
            print(
                f"snakemake -n, {count:5d} films: {seconds:7.2f} s  ({seconds / startup:5.1f}x baseline, "
                f"{1000 * (seconds - startup) / count:6.1f} ms per film above it); the same DAG with "
                f"no-op jobs (Snakemake's floor): {floor:6.2f} s, so the rules' directives and scripts add "
                f"{100 * (seconds / floor - 1):3.0f}%"
            )
            rows.append(
                f"| {count} | {jobs} | {seconds:.2f} s | {seconds / startup:.2f}x | "
                f"{1000 * (seconds - startup) / count:.1f} ms | {floor:.2f} s | {seconds / floor:.2f}x |"
            )
        if args.built:
            work = workflow(tmp / "built", args.built, placeholder)
            build = timed([*SNAKEMAKE, "--cores", "2"], work)
            noop = min(timed([*SNAKEMAKE, "-n"], work) for _ in range(3))
            print(
                f"build of {args.built} films: {build:.1f} s; no-op snakemake -n after it: {noop:.2f} s "
                f"({noop / startup:.2f}x baseline)"
            )
            after = (
                f"\n\nAfter a real build of {args.built} films ({build:.0f} s, 320x180 ultrafast trailers, "
                f"`--cores 2`), a no-op `snakemake -n` takes {noop:.2f} s (best of 3): {noop / startup:.2f}x "
                "the start-up."
            )
    table = [
        f"`snakemake -n` from scratch on a sheet of N placeholder films (8 s, 320x180), {note}. Baseline: "
        f"`snakemake --version` (interpreter and imports), {startup:.2f} s, best of 3. Floor: the same DAG "
        "with every rule stripped to its input and output and a no-op `shell:` (no params, resources, logs, "
        "benchmarks, groups or scripts): what Snakemake itself needs for those jobs.",
        "",
        "| films | jobs | `snakemake -n` | ratio to start-up | per film above start-up | no-op DAG (floor) "
        * table_head("ratio to floor"),
        *rows,
    ]
    write_section("DAG planning: snakemake -n per number of films", "\n".join(table) + after)


if __name__ == "__main__":
    main()
