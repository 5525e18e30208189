"""Fault injection: SIGKILL of the whole run (Snakemake and every job it started) at 20
moments spread over all stages, as a power cut or the OOM killer would. The kills are
chained: each rerun (`snakemake --unlock`, then the same command) runs until the next kill,
and the last one completes. After every kill, each file in results/ must be whole (it
loads); at the end the manifest must be byte-identical to an uninterrupted run's, and no
frame that was journaled before a kill may have been asked of the model again.

The vision model is the OpenAI-protocol stub (deterministic answers per image, a little
slow), so that describing takes long enough to be killed part-way."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from conftest import SNAKEMAKE, copy_workflow, record_case, snakemake
from openai_stub import StubServer

from cinecut import scenes
from cinecut.demo import build_demo

KILLS = 20
# Every stage once, in the order the reference run started them, then again for the
# longer ones (a second kill while the first one's rerun is at work). PUBLISHED: the kill
# lands the moment the describing job has put its msgpack in place, before Snakemake
# has recorded the job as done (Snakemake then deletes the msgpack as incomplete).
PUBLISHED = "scenedesc, once its msgpack is in place"
AGAIN = ["analysis", "scenedesc", PUBLISHED, "narrative", "music", "manifest", "conform"]
STARTED = re.compile(r"^(?:local)?rule (\w+):$")
FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: (\w+)\)$")


@dataclass
class Round:
    """One `snakemake` run, watched line by line; killed once `target` has run `delay` s."""

    started: dict[str, float] = field(default_factory=dict)
    finished: dict[str, float] = field(default_factory=dict)
    killed_during: list[str] = field(default_factory=list)
    output: str = ""
    returncode: int = 0


def watch(work: Path, target: str = "", args: list[str] = (), delay: float = 0.0, until: Path | None = None) -> Round:
    """Run `snakemake trailer.mp4`; once `target` has started, SIGKILL the run after `delay`
    seconds, or the moment `until` exists."""
    run = Round()
    proc = subprocess.Popen(
        [*SNAKEMAKE, "--cores", "2", *args, "trailer.mp4"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the kill takes every job with it
    )
    seen = threading.Event()
    lines: list[str] = []

    def read() -> None:
        for line in proc.stderr:
            lines.append(line)
            line = line.strip()
            if m := STARTED.match(line):
                run.started[m[1]] = time.monotonic()
                if m[1] == target:
                    seen.set()
            elif m := FINISHED.match(line):
                run.finished[m[1]] = time.monotonic()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while target and not seen.wait(0.02) and proc.poll() is None:
        pass
    if seen.is_set():
        time.sleep(delay)
        while until and not until.exists() and proc.poll() is None:
            time.sleep(0.005)
        run.killed_during = sorted(set(run.started) - set(run.finished)) or ["scheduler"]
        os.killpg(proc.pid, signal.SIGKILL)
    run.returncode = proc.wait(timeout=600)
    reader.join(timeout=10)
    run.output = "".join(lines)
    return run


def whole(path: Path) -> bool:
    """Does a published result load? (Temporaries are hidden, `.<name>.*`, and skipped.)"""
    try:
        if path.suffix == ".json":
            json.loads(path.read_bytes())
        elif path.suffix == ".msgpack":
            return scenes.load(path) is not None
        elif path.suffix in (".mp4", ".wav"):
            probe = subprocess.run(
                ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                capture_output=True,
                text=True,
            )
            return probe.returncode == 0 and float(probe.stdout) > 0
        return True
    except (ValueError, OSError):
        return False


def broken_results(results: Path) -> list[str]:
    return [
        str(p.relative_to(results))
        for p in results.rglob("*")
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".journal") and not whole(p)
    ]


def test_sigkill_at_20_moments_then_rerun_gives_the_same_manifest(tmp_path):
    films = tmp_path / "films"
    films.mkdir()
    build_demo(films / "f.mp4", films / "f.srt", films / "truth.json", duration=30, width=320, height=180)
    # Small and quick: the zone word lists, not sentence embeddings that take 8 s to load
    # in every narrative job (the kills do not care how zones are decided).
    small = {"trailer": {"width": 320, "height": 180, "preset": "ultrafast"}, "narrative": {"meaning": "lexical"}}

    def workdir(name: str, url: str) -> Path:
        vision = {"backend": "openai", "openai": {"base_url": url, "model": "stub", "concurrency": 1}}
        work = copy_workflow(tmp_path / name, film="films/f.mp4", subtitles="films/f.srt", vision=vision, **small)
        shutil.copytree(films, work / "films")  # same bytes and mtime: the same film stamp
        return work

    with StubServer("ok", delay=0.12) as stub:
        reference = watch(workdir("reference", stub.url))
        assert reference.returncode == 0, reference.output[-4000:]
        ref_dir = tmp_path / "reference/results/f"
        frames = len(stub.asked)
        assert frames >= 15 and max(stub.asked.values()) == 1, stub.asked
        took = {rule: reference.finished[rule] - t for rule, t in reference.started.items()}
        order = sorted(reference.started, key=reference.started.get)
        schedule = sorted(order + AGAIN, key=lambda rule: order.index(rule.split(",")[0]))
        assert len(schedule) == KILLS and {rule.split(",")[0] for rule in schedule} == set(took), schedule

        stub.asked.clear()
        work = workdir("killed", stub.url)
        rng = random.Random(8)
        done: set[str] = set()
        trials = []
        for aimed in schedule:
            target = aimed.split(",")[0]
            # A stage that finished before an earlier kill landed is run again, to be killed.
            again = ["--forcerun", target] if target in done else []
            if aimed == PUBLISHED:
                last = watch(work, target, again, until=work / "results/f/f.scenedesc.msgpack")
            else:
                last = watch(work, target, again, delay=rng.uniform(0, 0.7 * took[target]))
            done = (done | set(last.finished)) - set(last.killed_during)
            ok = last.returncode in (-signal.SIGKILL, 0)
            broken = broken_results(work / "results")
            if not trials:  # Snakemake kept its lock and says what to do, as a user would see it
                locked = snakemake(work, "trailer.mp4", check=False)
                ok = ok and locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
            unlock = snakemake(work, "--unlock", check=False)
            ok = ok and not broken and unlock.returncode == 0
            trials.append((aimed, last.killed_during, ok, last.output + unlock.stdout + unlock.stderr, broken))
        final = watch(work)
        asked_again = sum(stub.asked.values()) - len(stub.asked)

    describing = sum("scenedesc" in during for _, during, *_ in trials)
    handled = sum(ok for _, _, ok, *_ in trials)
    tracebacks = sum(output.count("Traceback") for *_, output, _ in trials) + final.output.count("Traceback")
    by_stage: dict[str, int] = {}
    for _, during, *_ in trials:
        for rule in during:
            by_stage[rule] = by_stage.get(rule, 0) + 1
    print(f"\nSIGKILL trials: {len(trials)} tried, {handled} handled as expected, {tracebacks} tracebacks")
    print(f"  killed while running: {by_stage}")
    print(f"  frames asked again: {asked_again} (kills while describing: {describing}, frames: {frames})")
    for target, during, ok, output, broken in trials:
        print(f"  aimed at {target}, killed while {'+'.join(during)} ran: {'handled' if ok else 'NOT HANDLED'}")
        record_case("SIGKILL", f"while {'+'.join(during)} ran (aimed at {target})", ok, output)
        assert not broken, f"half-written results after a kill during {during}: {broken}"

    assert final.returncode == 0, final.output[-4000:]
    assert len(trials) >= KILLS and handled == len(trials) and tracebacks == 0, [t[:3] for t in trials]
    assert set(by_stage) >= set(order), f"kills should cover every stage: {by_stage}"
    manifest = (work / "results/f/TRAILER_MANIFEST.json").read_bytes()
    assert manifest == (ref_dir / "TRAILER_MANIFEST.json").read_bytes(), "the manifest differs from the reference"
    assert json.loads((work / "results/f/qc.json").read_text())["passed"]
    assert len(stub.asked) == frames, "every frame described once in all"
    assert asked_again <= describing, "only a frame in flight at a kill may be asked twice"
    leftovers = [p.name for p in (work / "results").rglob(".*") if p.name != ".snakemake_timestamp"]
    assert not leftovers, f"temporaries of killed jobs were not cleared: {leftovers}"
    journal = work / "results/f/f.scenedesc.msgpack.journal"
    assert journal.exists(), "the journal stays: it answers the next run"
