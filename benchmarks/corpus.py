"""Every real film of tests/media through the whole workflow, with the default config.

    .venv/bin/python benchmarks/corpus.py [--size 1920x1080] [--films a.mkv,b.mp4] [--keep DIR]

One fresh copy of the workflow, a film sheet naming every film (no subtitles: what a
user with a folder of films has), then `snakemake trailers/<film>.mp4` per film, one at
a time, so each film's wall time is its own. Prints one table (film; container, codec,
rate and sound; clips per act; QC; wall time; conform's peak RSS from its benchmark
file) and writes it to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import yaml
from common import REPO, SNAKEMAKE, copy_workflow, read_benchmark, table_head, write_section

MEDIA = REPO / "tests" / "media"
FILMS = (".mkv", ".mp4", ".webm", ".avi", ".ts", ".mov", ".ogv", ".mpg")


def describe(film: Path) -> str:
    info = json.loads(
        subprocess.run(
            ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(film)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next((s for s in info["streams"] if s["codec_type"] == "audio"), None)
    rate = video.get("avg_frame_rate", "0/1")
    num, den = (int(x) for x in rate.split("/"))
    sound = f"{audio['codec_name']} {audio.get('channels')} ch" if audio else "no sound"
    container = info["format"]["format_name"].split(",")[0]
    return f"{container} / {video['codec_name']} / {num / den if den else 0:.2f} fps / {sound}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--films", default="", help="comma-separated file names in tests/media (default: all)")
    parser.add_argument("--keep", default="", help="run in this folder and keep it (to look at the contact sheets)")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    films = sorted(p for p in MEDIA.iterdir() if p.suffix in FILMS)
    if args.films:
        films = [MEDIA / name for name in args.films.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = copy_workflow(Path(args.keep or tmp) / "w")
        config = yaml.safe_load((work / "config.yaml").read_text())
        config["trailer"].update(width=width, height=height)
        config["sheet"] = "films.tsv"
        (work / "config.yaml").write_text(yaml.safe_dump(config))
        sheet = ["film\tsubtitles\tvibe\ttitle\ttagline"] + [f"{film}\t\t\t\t" for film in films]
        (work / "films.tsv").write_text("\n".join(sheet) + "\n")
        for film in films:
            start = time.perf_counter()
            proc = subprocess.run(
                [*SNAKEMAKE, "--cores", "2", f"trailers/{film.stem}.mp4"], cwd=work, capture_output=True, text=True
            )
            wall = time.perf_counter() - start
            res = work / "results" / film.stem
            acts = "-"
            if (res / "TRAILER_MANIFEST.json").exists():
                segments = json.loads((res / "TRAILER_MANIFEST.json").read_text())["segments"]
                acts = "/".join(
                    str(sum(1 for s in segments if s["kind"] == "clip" and s["act"] == a)) for a in (1, 2, 3)
                )
            qc = "not reached"
            if (res / "qc.json").exists():
                report = json.loads((res / "qc.json").read_text())
                failed = [c["name"] for c in report["checks"] if not c["ok"]]
                qc = "passed" if report["passed"] else "FAILED: " + "; ".join(failed)
            if proc.returncode != 0:
                errors = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "cinecut" in ln and "error" in ln]
                qc += f" (run failed: {errors[0] if errors else 'see snakemake output'})"
            rss = "-"
            bench = work / "results/benchmarks/conform" / f"{film.stem}.tsv"
            if bench.exists():
                rss = f"{float(read_benchmark(bench)['max_rss']):.0f} MB"
            row = f"| {film.name} | {describe(film)} | {acts} | {qc} | {wall:.0f} s | {rss} |"
            print(row, flush=True)
            rows.append(row)
    table = [
        f"Default config, trailer {width}x{height}, `--cores 2`, no subtitle files.",
        "",
        *table_head("film", "container / video / rate / sound", "clips per act", "QC", "wall", "conform peak RSS"),
        *rows,
    ]
    write_section(f"corpus {width}x{height}", "\n".join(table))


if __name__ == "__main__":
    main()
