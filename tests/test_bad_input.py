"""The bad-input corpus: whatever users have on their disks, each case with its expected
outcome: a trailer that passes QC, or one line `cinecut error [...]: <file>: <problem>`
and a non-zero exit, never a traceback. Films run together through one film sheet with
--keep-going (one Snakemake start for all), config cases as dry runs."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import (
    SNAKEMAKE,
    TRACEBACKS,
    bad_input_case,
    copy_workflow,
    planned_jobs,
    record_case,
    snakemake,
    turn_upright,
)

INTERNAL = "cinecut internal error"  # runner's line for a bug: never an expected outcome


def is_internal_error(line: str) -> bool:
    return line.startswith(INTERNAL)


def internal_errors(output: str) -> list[str]:
    """The bugs a run hit: runner prints one line per unexpected exception."""
    return [line for line in output.splitlines() if is_internal_error(line)]


# Zone meaning by word lists: sentence embeddings take 8-40 s to load in each film's
# narrative job, and are tested on their own (test_story.py) and in the demo's build.
SMALL = {"trailer": {"width": 320, "height": 180, "preset": "ultrafast"}, "narrative": {"meaning": "lexical"}}
TWO_SHOTS = (
    "testsrc2=s={size}:r=25:d={half},format={pix}[a];"
    "mandelbrot=s={size}:r=25,trim=duration={half},setpts=PTS-STARTPTS,format={pix}[b];"
    "[a][b]concat=n=2{post}[v]"
)


def film(path: Path, seconds: float = 8, size: str = "320x180", audio: bool = True, post: str = "",
         codec: tuple = ("libx264", "-preset", "ultrafast"), pix: str = "yuv420p") -> Path:  # fmt: skip
    graph = TWO_SHOTS.format(size=size, half=seconds / 2, post=post, pix=pix)
    cmd = ["ffmpeg", "-v", "error", "-y", "-filter_complex", graph]
    cmd += ["-f", "lavfi", "-i", f"sine=f=300:d={seconds}"] if audio else []
    cmd += ["-map", "[v]"] + (["-map", "0:a"] if audio else [])
    cmd += ["-c:v", *codec, str(path)]
    subprocess.run(cmd, check=True)
    return path


SRT = "1\n00:00:01,000 --> 00:00:02,500\nRun! Now!\n\n2\n00:00:05,000 --> 00:00:06,500\nI never saw the light.\n"


Case = tuple[str, str, str, str | tuple[str, ...]]  # film, subtitles, outcome, what it must show


def make_corpus(films: Path) -> dict[str, Case]:
    """name -> (film, subtitles, outcome, expected). Outcome "trailer": a trailer that passes
    QC; "dialogue": the subtitles parse to exactly the `expected` lines (texts); "error": one
    line `cinecut error <expected>`, where `expected` is the rule, the file and the problem."""
    films.mkdir()
    ok = film(films / "plain.mp4")
    cases: dict[str, Case] = {}

    def case(name: str, path: Path, subs: Path | None = None, outcome: str = "trailer", expected=()) -> None:
        cases[name] = (
            str(path.relative_to(films.parent)),
            str(subs.relative_to(films.parent)) if subs else "",
            outcome,
            expected,
        )

    # Films that must give a trailer. Every character that ffmpeg's filter graphs,
    # Snakemake's wildcards or a shell could trip on, in one name.
    odd_name = films / 'a: b, [c] {d}; it\'s "ü 映画" $HOME.mp4'
    odd_name.write_bytes(ok.read_bytes())
    case("spaces, quotes, colon, comma, brackets, non-ASCII in the name", odd_name)
    case("2 s film", film(films / "short.mp4", seconds=2))
    still = films / "still.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25:d=1", "-frames:v", "1",
                    str(films / "still.png")], check=True)  # fmt: skip
    subprocess.run(["ffmpeg", "-v", "error", "-loop", "1", "-i", str(films / "still.png"), "-t", "8", "-c:v",
                    "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(still)], check=True)  # fmt: skip
    case("one static frame, no audio", still)
    odd = film(films / "odd.mkv", size="853x479", post=",setsar=4/3", codec=("ffv1",), pix="yuv444p")
    case("odd size (853x479), non-square pixels, FFV1", odd)
    turn_upright(film(films / "phone.mp4"))
    case("a phone's film, shown turned a quarter (display matrix)", films / "phone.mp4")
    case("huge (4096x2160), 4:4:4, no audio", film(films / "huge.mp4", seconds=2, size="4096x2160", audio=False,
                                                  pix="yuv444p"))  # fmt: skip
    broken = bytearray(
        film(films / "breaks.mp4", seconds=10, codec=("libx264", "-movflags", "+faststart")).read_bytes()
    )
    start = len(broken) // 5
    noise = random.Random(10).randbytes(len(broken) // 2)  # the same bytes every run
    broken[start : start + len(broken) // 2] = noise  # video and sound break after ~10%
    (films / "breaks.mp4").write_bytes(bytes(broken))
    case("decode errors after 10%", films / "breaks.mp4")
    # Subtitles that are odd but readable: parsed (checked at the dialogue stage).
    both = ("Run! Now!", "I never saw the light.")
    for name, data, lines in [
        ("empty subtitles", b"", ()),
        ("UTF-16 without BOM", SRT.encode("utf-16-le"), both),
        ("negative, overlapping, absurd times",
         b"1\n-00:00:01,000 --> 00:00:02,000\nBefore!\n\n2\n00:00:01,500 --> 00:00:03,000\nOverlap.\n\n"
         b"3\n00:00:02,000 --> 99:00:00,000\nForever.\n\n4\n00:00:07,000 --> 00:00:06,000\nBackwards.\n",
         ("Before!", "Overlap.", "Forever.")),  # the one that ends before it starts is dropped
        ("longer than the film", (SRT + "\n3\n01:00:00,000 --> 01:00:02,000\nLate.\n").encode(), both),
    ]:  # fmt: skip
        subs = films / f"{name}.srt"
        subs.write_bytes(data)
        copy = films / f"{name}.mp4"
        copy.write_bytes(ok.read_bytes())
        case(name, copy, subs, "dialogue", lines)
    # Films that must stop with one line naming the rule, the file and the problem.
    (films / "zero.mp4").write_bytes(b"")
    case(
        "zero-byte film", films / "zero.mp4", outcome="error", expected="[stamp]: films/zero.mp4: film is an empty file"
    )
    (films / "text.mp4").write_text("not a film\n" * 50)
    unreadable = "reading the film (ffprobe) failed: {}: Invalid data found when processing input"
    case("text named .mp4", films / "text.mp4", outcome="error",
         expected="[stamp]: films/text.mp4: " + unreadable.format("films/text.mp4"))  # fmt: skip
    whole = film(films / "whole.mp4", seconds=8)  # moov at the end: cut it off
    (films / "truncated.mp4").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    whole.unlink()
    case("truncated mp4 (no moov)", films / "truncated.mp4", outcome="error",
         expected="[stamp]: films/truncated.mp4: " + unreadable.format("films/truncated.mp4"))  # fmt: skip
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=5", str(films / "audio.m4a")], check=True)
    case(
        "audio only",
        films / "audio.m4a",
        outcome="error",
        expected="[stamp]: films/audio.m4a: not a film: no video stream",
    )
    junk = films / "junk.srt"
    junk.write_bytes(b"\x00\x01\x02 junk \xff" * 50)
    copy = films / "junk subs.mp4"
    copy.write_bytes(ok.read_bytes())
    case("binary junk subtitles", copy, junk, outcome="error",
         expected="[dialogue]: films/junk.srt: subtitles look like binary data, not text")  # fmt: skip
    case("missing film", films / "nowhere.mp4", outcome="error", expected="[stamp]: films/nowhere.mp4: film not found")
    ok.unlink()
    return cases


def _about(line: str, film: str, subtitles: str) -> bool:
    """Whether a console line is about this case: it names the film, its subtitles, or a
    log or result of the film (logs/<rule>/<stem>.log, results/<stem>/...)."""
    stem = Path(film).stem
    return f"/{stem}." in line or f"/{stem}/" in line or bool(subtitles and subtitles in line)


def test_bad_input_corpus(tmp_path):
    work = copy_workflow(tmp_path / "w", sheet="films.tsv", **SMALL)
    cases = make_corpus(work / "films")
    rows = ["film\tsubtitles\tvibe\ttitle\ttagline"] + [f"{f}\t{s}\tthriller\t\t" for f, s, *_ in cases.values()]
    (work / "films.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    targets = [
        f"results/{Path(f).stem}/dialogue.json" if outcome == "dialogue" else f"trailers/{Path(f).stem}.mp4"
        for f, _, outcome, _ in cases.values()
    ]
    proc = snakemake(work, "--keep-going", *targets, check=False, timeout=1200)
    output = proc.stdout + proc.stderr
    errors = [line for line in output.splitlines() if line.startswith("cinecut error")]
    bugs = internal_errors(output)
    outcomes, handled = {}, 0
    for name, (path, subtitles, outcome, expected) in cases.items():
        stem = Path(path).stem
        mine = [line for line in errors + bugs if _about(line, path, subtitles)]
        if outcome == "trailer":
            qc = work / "results" / stem / "qc.json"
            ok = not mine and (work / "trailers" / f"{stem}.mp4").exists() and json.loads(qc.read_text())["passed"]
            outcomes[name] = "trailer, QC passed" if ok else f"NO TRAILER: {mine}"
        elif outcome == "dialogue":
            dialogue = work / "results" / stem / "dialogue.json"
            lines = json.loads(dialogue.read_text())["lines"] if dialogue.exists() else []
            texts = tuple(ln["text"] for ln in lines)
            ok = not mine and dialogue.exists() and texts == expected
            ok = ok and all(0 <= ln["start"] < ln["end"] <= 8.0 for ln in lines)
            outcomes[name] = f"{len(lines)} lines, all within the film" if ok else f"WRONG: {lines} {mine}"
        else:
            ok = len(mine) == 1 and mine[0].startswith(f"cinecut error {expected}")
            ok = ok and not (work / "trailers" / f"{stem}.mp4").exists()
            outcomes[name] = mine[0] if ok else f"WRONG: expected 'cinecut error {expected}', got {mine}"
        handled += ok
        record_case("corpus", name, ok, "\n".join(mine))
    tracebacks = output.count("Traceback")
    TRACEBACKS.append(tracebacks)  # the one run of the whole sheet
    print(
        f"\nbad-input corpus: {len(cases)} cases tried, {handled} handled as expected, {tracebacks} tracebacks,"
        f" {len(bugs)} internal errors"
    )
    for name, outcome in outcomes.items():
        print(f"  {name}: {outcome}")
    for line in bugs:
        print(f"  BUG: {line}")
    assert not bugs, f"{len(bugs)} internal errors (bugs, whatever the input): {bugs}"
    assert tracebacks == 0, output[-4000:]
    assert handled == len(cases), (outcomes, output[-6000:])
    assert len(errors) == sum(1 for *_, outcome, _ in cases.values() if outcome == "error"), errors


@pytest.mark.parametrize(
    "change, named",
    [
        ({"vibe": "jazz"}, ("'jazz' is not valid under any of the given schemas", "On instance['vibe']")),
        # a typo: unknown keys are refused, not ignored
        ({"vibes": "horror"}, ("Additional properties are not allowed ('vibes' was unexpected)",)),
        ({"trailer": {"width": "wide"}}, ("'wide' is not of type 'integer'", "On instance['trailer']['width']")),
        ({"music": {"folder": "no/such/folder"}}, ("no/such/folder: music folder not found (config music.folder)",)),
        (
            {"vision": {"backend": "llama_cpp", "llama_cpp": {"model": "nowhere/llava.gguf"}}},
            ("config vision: nowhere/llava.gguf: model file not found",),
        ),
    ],
)
def test_bad_config_stops_the_dry_run_naming_the_key(tmp_path, change, named):
    work = copy_workflow(tmp_path / "w", **SMALL)
    config = yaml.safe_load((work / "config.yaml").read_text())
    for key, value in change.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    with bad_input_case("config", f"{change}: {named[0]}") as printed:
        proc = snakemake(work, "-n", check=False)
        output = proc.stdout + proc.stderr
        printed.append(output)
        assert proc.returncode != 0 and "Traceback" not in output, output[-3000:]
        assert all(text in output for text in named), (named, output[-3000:])


def test_film_glob_takes_every_film_with_its_subtitles_and_refuses_an_empty_match(tmp_path):
    work = copy_workflow(tmp_path / "w", film_glob="catalogue/**/*", **SMALL)
    (work / "catalogue/noir").mkdir(parents=True)
    for name in ("harbour.mkv", "noir/alley.mp4", "noir/alley.srt", "notes.txt"):
        (work / "catalogue" / name).write_bytes(b"")  # `-n` only looks at names, mtimes and sizes
    proc = snakemake(work, "-n")
    assert planned_jobs(proc)["stamp"] == 3, proc.stderr  # the demo, harbour and alley; not notes.txt
    assert "input: catalogue/noir/alley.srt" in proc.stdout + proc.stderr, "the subtitles beside the film"
    with bad_input_case("config", "a film_glob that matches no film") as printed:
        proc = snakemake(work, "-n", "--config", "film_glob=nowhere/*.mkv", check=False)
        printed.append(output := proc.stdout + proc.stderr)
        assert proc.returncode != 0 and "config film_glob: nowhere/*.mkv: no film matches" in output, output[-2000:]
        assert not internal_errors(output), output[-2000:]
    (work / "films.tsv").write_text("film\tlength\ncatalogue/harbour.mkv\t90 s\n")
    config = yaml.safe_load((work / "config.yaml").read_text())
    (work / "config.yaml").write_text(yaml.safe_dump({**config, "film_glob": "", "sheet": "films.tsv"}))
    with bad_input_case("config", "a sheet length that is not a number") as printed:
        proc = snakemake(work, "-n", check=False)
        printed.append(output := proc.stdout + proc.stderr)
        assert proc.returncode != 0 and "films.tsv: line 2: length:" in output, output[-2000:]
        assert not internal_errors(output), output[-2000:]


def test_a_config_of_one_key_takes_the_schema_defaults(tmp_path):
    work = copy_workflow(tmp_path / "w")
    (work / "config.yaml").write_text("vibe: horror\n")
    with bad_input_case("config", "every key but one missing: the defaults") as printed:
        proc = snakemake(work, "-n", "trailer.mp4")
        printed.append(proc.stdout + proc.stderr)
        assert "conform" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr
        assert not internal_errors(proc.stdout + proc.stderr)


def _small_film_workflow(tmp_path: Path) -> Path:
    work = copy_workflow(tmp_path / "w", film="films/plain.mp4", **SMALL)
    (work / "films").mkdir()
    film(work / "films/plain.mp4")
    return work


def _mount_tmpfs(path: Path, options: str) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")


@pytest.mark.parametrize("disk", ["full", "read-only"])
def test_full_disk_or_read_only_results_stop_with_one_line(tmp_path, disk):
    """results/ on a 1 MB file system (the 5 MB music bed cannot fit), or mounted read-only:
    the run stops with one line saying so, and leaves no partial file behind."""
    work = _small_film_workflow(tmp_path)
    results = work / "results"
    _mount_tmpfs(results, "size=1m" if disk == "full" else "size=1m,ro")
    try:
        proc = snakemake(work, "trailer.mp4", check=False)
        # (Snakemake marks a finished folder output with its own .snakemake_timestamp.)
        leftovers = [p for p in results.rglob(".*") if p.is_file() and p.name != ".snakemake_timestamp"]
        written = sorted(p.name for p in results.rglob("*") if p.is_file())
    finally:
        subprocess.run(["umount", "-l", str(results)], check=False)
    output = proc.stdout + proc.stderr
    with bad_input_case("disk", f"{disk} results folder") as printed:
        printed.append(output)
        assert proc.returncode != 0 and "Traceback" not in output, output[-3000:]
        assert not internal_errors(output), "a full or read-only disk is not a bug: " + str(internal_errors(output))
        if disk == "full":
            errors = [line for line in output.splitlines() if line.startswith("cinecut error")]
            assert len(errors) == 1 and "No space left on device" in errors[0], errors or output[-3000:]
            assert "music.wav" in errors[0], errors
            assert "source.json" in written and "music.wav" not in written, written
        else:
            assert "Read-only file system" in output, output[-3000:]
        assert not leftovers, leftovers
        assert not (work / "trailer.mp4").exists()


def test_second_invocation_on_the_same_results_is_refused_by_the_lock(tmp_path):
    """Two `snakemake` runs on one workflow at once: the second stops with Snakemake's lock
    message; the first finishes with a trailer that passes QC."""
    import time

    work = _small_film_workflow(tmp_path)
    first = subprocess.Popen(
        [*SNAKEMAKE, "--cores", "2", "trailer.mp4"], cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        locks = work / ".snakemake/locks"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (locks.is_dir() and any(locks.iterdir())):
            time.sleep(0.1)
        assert first.poll() is None, "the first run ended before the second started"
        with bad_input_case("lock", "a second snakemake on the same results") as printed:
            second = snakemake(work, "trailer.mp4", check=False)
            printed.append(second.stdout + second.stderr)
            assert second.returncode != 0 and not internal_errors(second.stdout + second.stderr)
            assert "cannot be locked" in second.stdout + second.stderr
            assert first.wait(timeout=600) == 0
            assert json.loads((work / "results/plain/qc.json").read_text())["passed"]
    finally:
        first.kill()


# ---------------------------------------------------------------- expected failures versus bugs
# runner.run_script is what every script ends in: an expected failure (a CinecutError, an
# OSError from the disk) is one line `cinecut error [rule]: file: problem`; anything else is
# a bug, `cinecut internal error [rule]: <Type>: <message> (a bug: traceback in <log>)`.

RUN_ONE = """
import errno, sys
from types import SimpleNamespace
from cinecut.errors import CinecutError
from cinecut.runner import run_script

def main(sm):
    {raise_}

run_script(SimpleNamespace(log=[sys.argv[1]], output=["results/f/out.json"], rule="probe"), main)
"""


@pytest.mark.parametrize(
    "raise_, console, internal",
    [
        pytest.param('raise CinecutError("films/f.mp4", "film is an empty file")',
                     "cinecut error [probe]: films/f.mp4: film is an empty file", False, id="CinecutError"),
        pytest.param('raise OSError(errno.ENOSPC, "No space left on device", "results/f/music.wav")',
                     "cinecut error [probe]: results/f/music.wav: No space left on device", False, id="disk full"),
        pytest.param('raise OSError(errno.EROFS, "Read-only file system")',
                     "cinecut error [probe]: results/f/out.json: Read-only file system", False, id="read-only"),
        pytest.param('raise PermissionError(errno.EACCES, "Permission denied", "results/f")',
                     "cinecut error [probe]: results/f: Permission denied", False, id="no permission"),
        pytest.param('{"fps": 24}["rate"]',
                     "cinecut internal error [probe]: KeyError: 'rate' (a bug: traceback in ", True, id="KeyError"),
        pytest.param('int("15/1")',
                     "cinecut internal error [probe]: ValueError: invalid literal for int() with base 10: '15/1'"
                     " (a bug: traceback in ", True, id="ValueError"),
        pytest.param('open("results/f/never_written.json")',  # a file the code expected: not the disk's doing
                     "cinecut internal error [probe]: FileNotFoundError: [Errno 2] No such file or directory:", True,
                     id="FileNotFoundError"),
        pytest.param('raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")',
                     "cinecut internal error [probe]: ConnectionRefusedError: [Errno 111] Connection refused", True,
                     id="ConnectionRefusedError"),
    ],
)  # fmt: skip
def test_runner_tells_expected_failures_from_bugs(tmp_path, raise_, console, internal):
    log = tmp_path / "probe.log"
    proc = subprocess.run(
        [sys.executable, "-c", RUN_ONE.format(raise_=raise_), str(log)], capture_output=True, text=True, cwd=tmp_path
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(console), lines[0]
    assert is_internal_error(lines[0]) == internal, lines[0]
    if internal:
        assert lines[0].endswith(f"(a bug: traceback in {log})"), lines[0]
        assert "Traceback (most recent call last)" in log.read_text(), "the traceback is in the log"
    assert "Traceback" not in proc.stderr, "the console has one line, never a traceback"
