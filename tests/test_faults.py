"""Fault injection: SIGKILL of the whole run (Snakemake and every job it started) at the
moments most likely to leave a result torn (SAMPLE), as a power cut or the OOM killer
would; benchmarks/faults.py runs the full sweep, 22 kills over every stage. The kills are
chained: each rerun (`snakemake --unlock`, then the same command) runs until the next kill,
and the last one completes. After every kill, each file in results/ must be whole (it
loads); at the end the manifest must be byte-identical to an uninterrupted run's, and no
frame that was journaled before a kill may have been asked of the model again.

The vision model is the OpenAI-protocol stub (deterministic answers per image, a little
slow), so that describing takes long enough to be killed part-way.

A kill counts as landed only when a job's process was alive at that moment: the test reads
the run's process tree (/proc) just before the SIGKILL, and the stage it names is the rule
whose script that process (or its parent, for an ffmpeg) runs. A kill that found only the
scheduler is a miss. A kill that took another stage's job than the one it was aimed at counts
for that stage, and the stage is aimed at again (up to AIMS times), so that every stage's job
is killed at least once.

"Whole" means that every kind of file in results/ loads with a reader of its kind (see
LOADERS); a kind without a reader fails the test, so a new artefact cannot go unchecked."""

from __future__ import annotations

import csv
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import opentimelineio as otio
from conftest import REPO, SNAKEMAKE, copy_workflow, record_case, snakemake
from openai_stub import StubServer

from cinecut import models, scenes
from cinecut.demo import build_demo

KILLS = 22  # the segment writer, every stage (14) once, then AGAIN
MAY_MISS = 2  # kills that may find no job alive (one that ended between the look and the kill)
AIMS = 3  # kills aimed at one stage until one finds its job alive (a rerun may be quicker)
# Every stage once, in the order the reference run started them, then again for the
# longer ones (a second kill while the first one's rerun is at work). PUBLISHED: the kill
# lands the moment the describing job has put its msgpack in place, before Snakemake
# has recorded the job as done (Snakemake then deletes the msgpack as incomplete).
# SEGMENT: the kill lands while ffmpeg writes a segment of conform's cache (it has written
# some of it): a segment written in place would be left cut short.
PUBLISHED = "scenedesc, once its msgpack is in place"
SEGMENT = "conform, while ffmpeg writes a segment"
AGAIN = ["analysis", "scenedesc", PUBLISHED, "narrative", "music", "manifest", "conform"]
FIRST = [SEGMENT]  # before the stage's other aims: its first run renders every segment
STARTED = re.compile(r"^(?:local)?rule (\w+):$")
FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: (\w+)\)$")
# Snakemake runs a `script:` as `python .snakemake/scripts/tmpXXXX.<script name>`.
JOB_SCRIPT = re.compile(r"\.snakemake/scripts/tmp\w+\.(\w+)\.py\b")


# ---------------------------------------------------------------- which job a kill hit


def script_rules(rules_dir: Path) -> dict[str, set[str]]:
    """Script file stem -> the rules that run it, read from rules/*.smk."""
    found: dict[str, set[str]] = {}
    for smk in sorted(rules_dir.glob("*.smk")):
        rule = ""
        for line in smk.read_text().splitlines():
            if m := re.match(r"^(?:rule|checkpoint) (\w+):", line):
                rule = m[1]
            elif rule and (m := re.search(r"scripts/(\w+)\.py", line)):
                found.setdefault(m[1], set()).add(rule)
    return found


SCRIPT_RULES = script_rules(REPO / "rules")


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    command: str


def session_processes(sid: int) -> dict[int, Proc]:
    """The live processes of session `sid` (the run and every job it started), from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()  # state ppid pgrp session ...
            if int(fields[3]) != sid or fields[0] in "ZX":  # a zombie has finished its work
                continue
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            command = command.strip() or Path(f"/proc/{entry}/comm").read_text()  # empty while it exits
        except (OSError, ValueError, IndexError):
            continue  # it ended while being read
        found[int(entry)] = Proc(int(entry), int(fields[1]), command.strip())
    return found


def jobs_in(procs: dict[int, Proc], running: set[str]) -> dict[str, list[str]]:
    """Rule -> what of it was alive ("conform.py", "ffmpeg", ...): each process is assigned to
    the job script it runs or descends from. `running` (rules the log says started and did not
    finish) settles a script that two rules share."""
    jobs: dict[str, list[str]] = {}
    for proc in procs.values():
        at, seen = proc, set()
        while at is not None and at.pid not in seen:
            seen.add(at.pid)
            if m := JOB_SCRIPT.search(at.command):
                rules = SCRIPT_RULES.get(m[1], {f"{m[1]}.py?"})
                rules = (rules & running) or rules
                what = f"{m[1]}.py" if at is proc else Path(proc.command.split(" ")[0]).name
                for rule in rules:
                    jobs.setdefault(rule, []).append(what)
                break
            at = procs.get(at.ppid)
    return {rule: sorted(set(what)) for rule, what in sorted(jobs.items())}


# ---------------------------------------------------------------- one run, killed


@dataclass
class Round:
    """One `snakemake` run, watched line by line; killed while a job of `target` runs."""

    started: dict[str, float] = field(default_factory=dict)
    finished: dict[str, float] = field(default_factory=dict)
    killed_during: list[str] = field(default_factory=list)  # by the log: started, not finished
    hit: dict[str, list[str]] = field(default_factory=dict)  # by /proc: rule -> what was alive
    output: str = ""
    returncode: int = 0

    @property
    def landed(self) -> bool:
        return bool(self.hit)

    def hit_text(self) -> str:
        if not self.hit:
            return "no job (only the scheduler was alive)"
        return " + ".join(f"{rule} ({', '.join(what)})" for rule, what in self.hit.items())


def writing_a_segment(procs: dict[int, Proc]) -> bool:
    """Is an ffmpeg writing a NUT file (conform's segments) that has some bytes already?"""
    for proc in procs.values():
        words = proc.command.split(" ")
        if Path(words[0]).name == "ffmpeg" and words[-1].endswith(".nut"):
            out = Path(f"/proc/{proc.pid}/cwd", words[-1])  # an absolute path stays as it is
            try:
                if out.stat().st_size > 0:
                    return True
            except OSError:
                continue
    return False


def watch(
    work: Path,
    target: str = "",
    args: list[str] = (),
    delay: float = 0.0,
    until: Path | Callable[[dict[int, Proc]], bool] | None = None,
) -> Round:
    """Run `snakemake trailer.mp4`; once a process of `target`'s job is alive, SIGKILL the
    whole run `delay` seconds later, or the moment `until` exists (a path) or holds (a test
    of the run's processes)."""
    run = Round()
    proc = subprocess.Popen(
        [*SNAKEMAKE, "--cores", "2", *args, "trailer.mp4"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own session and process group: the kill takes every job with it
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

    def running() -> set[str]:
        return set(run.started) - set(run.finished)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while target and not seen.wait(0.02) and proc.poll() is None:
        pass
    if seen.is_set():
        # Aim at the job, not at the log line: wait until its script is alive.
        while proc.poll() is None and target not in run.finished:
            if target in jobs_in(session_processes(proc.pid), running()):
                break
            time.sleep(0.005)
        time.sleep(delay)
        while until is not None and proc.poll() is None and target not in run.finished:
            if until.exists() if isinstance(until, Path) else until(session_processes(proc.pid)):
                break
            time.sleep(0.005)
        alive = session_processes(proc.pid)  # what the kill is about to take
        os.killpg(proc.pid, signal.SIGKILL)
        run.killed_during = sorted(running()) or ["scheduler"]
        run.hit = jobs_in(alive, running())
    run.returncode = proc.wait(timeout=600)
    reader.join(timeout=10)
    run.output = "".join(lines)
    return run


# ---------------------------------------------------------------- is every result whole?


def _ffprobe(path: Path, *args: str) -> tuple[str, str]:
    probe = subprocess.run(
        ["ffprobe", "-v", "error", *args, "-of", "csv=p=0", str(path)], capture_output=True, text=True
    )
    if probe.returncode:
        raise ValueError(f"ffprobe: {probe.stderr.strip()[:200]}")
    return probe.stdout.strip(), probe.stderr.strip()


def _media(path: Path) -> None:
    """Every packet that the header lists can be read, without a complaint from ffprobe."""
    out, complaints = _ffprobe(
        path, "-count_packets", "-show_entries", "stream=nb_frames,nb_read_packets:format=duration"
    )
    *streams, duration = out.splitlines()
    listed = [tuple(line.split(",")) for line in streams]
    if complaints or not float(duration) > 0 or any(n.isdigit() and n != read for n, read in listed):
        raise ValueError(f"duration {duration}, packets listed and read {listed}; {complaints[:200]}")
    if path.suffix == ".wav":  # the RIFF size is written last, when ffmpeg closes the file
        head = path.read_bytes()[:12]
        if head[:4] != b"RIFF" or int.from_bytes(head[4:8], "little") + 8 != path.stat().st_size:
            raise ValueError("the RIFF header does not give the file's size")


def _segment(path: Path) -> None:
    """A conform segment: ffprobe decodes every frame without a complaint."""
    frames, complaints = _ffprobe(
        path, "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames"
    )
    if complaints or not int(frames) > 0:
        raise ValueError(f"{frames} frames; {complaints[:200]}")


def _image(path: Path) -> None:
    # cv2 decodes a truncated JPEG without an error (grey below the cut): check the end too
    end = {".jpg": b"\xff\xd9", ".png": b"IEND\xaeB`\x82"}[path.suffix]
    if cv2.imread(str(path)) is None or not path.read_bytes().endswith(end):
        raise ValueError("not a whole image")


def _timeline(path: Path) -> None:
    adapter = {".otio": "otio_json", ".edl": "cmx_3600", ".xml": "fcp_xml"}[path.suffix]
    timeline = otio.adapters.read_from_file(str(path), adapter_name=adapter)
    if not list(timeline.find_clips()):
        raise ValueError("a timeline without clips")
    if path.suffix == ".edl" and not path.read_bytes().endswith(b"\n"):  # lines: a cut one may still parse
        raise ValueError("the last line is cut off")


def _svg(path: Path) -> None:
    if not ET.parse(path).getroot().tag.endswith("svg"):
        raise ValueError("not an SVG")


def _html(path: Path) -> None:
    """A page of the report (QC table, the trailer's player): whole when it closes."""
    if not path.read_text(encoding="utf-8").rstrip().endswith("</html>"):
        raise ValueError("the page does not end with </html>")


def _tsv(path: Path) -> None:
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    if len(rows) < 2 or any(len(row) != len(rows[0]) for row in rows):
        raise ValueError(f"{len(rows)} rows of {sorted({len(row) for row in rows})} columns")


def _cube(path: Path) -> None:
    size, rows = 0, 0
    for line in path.read_text().splitlines():
        words = line.split()
        if words[:1] == ["LUT_3D_SIZE"]:
            size = int(words[1])
        elif len(words) == 3 and not line[0].isalpha():
            [float(w) for w in words]
            rows += 1
    if not size or rows != size**3:
        raise ValueError(f"LUT_3D_SIZE {size}, {rows} rows")


def _scenedesc(path: Path) -> None:
    if scenes.load(path) is None:
        raise ValueError("scenes.load: a miss")


LOADERS: dict[str, Callable[[Path], None]] = {
    ".json": lambda path: json.loads(path.read_bytes()),
    ".msgpack": _scenedesc,
    ".mp4": _media,
    ".wav": _media,
    ".nut": _segment,
    ".jpg": _image,
    ".png": _image,
    ".otio": _timeline,
    ".edl": _timeline,
    ".xml": _timeline,
    ".svg": _svg,
    ".html": _html,
    ".tsv": _tsv,
    ".cube": _cube,
}
_checked: dict[Path, tuple[int, int, int]] = {}  # whole files by (inode, mtime, size): not read again


def damage(path: Path) -> str:
    """ "" when a published result loads, else why not."""
    loader = LOADERS.get(path.suffix)
    if loader is None:
        return f"no reader for {path.suffix!r} files: add one to LOADERS"
    st = path.stat()
    if _checked.get(path) == (st.st_ino, st.st_mtime_ns, st.st_size):
        return ""
    try:
        loader(path)
    except Exception as exc:  # noqa: BLE001 - any failure to read is the finding
        return f"{type(exc).__name__}: {exc}"[:300]
    _checked[path] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return ""


def broken_results(results: Path) -> list[str]:
    """Every published file that does not load. Temporaries are hidden (`.<name>.*`, files
    and folders: a job's scratch folder holds fonts, lists, half a picture); the journal is
    append-only and keeps its whole records after a torn tail (test_vision)."""
    found = []
    for path in sorted(results.rglob("*")):
        hidden = any(part.startswith(".") for part in path.relative_to(results).parts)
        if path.is_file() and not hidden and not path.name.endswith(".journal"):
            if why := damage(path):
                found.append(f"{path.relative_to(results)}: {why}")
    return found


def test_every_kind_of_result_has_a_reader_that_finds_damage(tmp_path):
    """The readers are no tautology: a whole file of each kind loads, a cut one does not."""
    film = tmp_path / "f.mp4"
    build_demo(film, tmp_path / "f.srt", tmp_path / "t.json", duration=4, width=160, height=90)
    made = {
        ".mp4": film,
        ".nut": tmp_path / "s.nut",
        ".wav": tmp_path / "a.wav",
        ".jpg": tmp_path / "k.jpg",
        ".png": tmp_path / "c.png",
    }
    subprocess.run(["ffmpeg", "-v", "error", "-i", film, "-an", "-f", "nut", made[".nut"]], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-i", film, "-vn", made[".wav"]], check=True)
    for suffix in (".jpg", ".png"):
        subprocess.run(["ffmpeg", "-v", "error", "-i", film, "-frames:v", "1", made[suffix]], check=True)
    timeline = otio.schema.Timeline(name="t")
    track = otio.schema.Track()
    timeline.tracks.append(track)
    clip_range = otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(48, 24))
    track.append(
        otio.schema.Clip(
            name="c", media_reference=otio.schema.ExternalReference("f.mp4", clip_range), source_range=clip_range
        )
    )
    for suffix, adapter in ((".otio", "otio_json"), (".edl", "cmx_3600"), (".xml", "fcp_xml")):
        made[suffix] = tmp_path / f"t{suffix}"
        otio.adapters.write_to_file(timeline, str(made[suffix]), adapter_name=adapter)
    made[".svg"] = tmp_path / "a.svg"
    made[".svg"].write_text('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4"/></svg>\n')
    made[".html"] = tmp_path / "q.html"
    made[".html"].write_text("<!DOCTYPE html><html><body><table><tr><td>ok</td></tr></table></body></html>\n")
    made[".tsv"] = tmp_path / "b.tsv"
    made[".tsv"].write_text("s\th:m:s\tmax_rss\n1.5\t0:00:01\t100.0\n")
    made[".cube"] = tmp_path / "l.cube"
    made[".cube"].write_text("LUT_3D_SIZE 2\n" + "".join(f"{i & 1} {i >> 1 & 1} {i >> 2}\n" for i in range(8)))
    made[".json"] = tmp_path / "m.json"
    made[".json"].write_text('{"segments": [1, 2, 3]}\n')
    made[".msgpack"] = tmp_path / "f.scenedesc.msgpack"
    frame = scenes.describe_heuristic(
        models.Keyframe(
            index=0, time=1.0, shot=0, image="kf.jpg", reason="best", brightness=0.5, contrast=0.3,
            colourfulness=0.4, hue=30.0, motion=0.01, faces=0, face_area=0.0,
        )
    )  # fmt: skip
    desc = models.SceneDescFile(
        schema_version=models.SceneDescFile.VERSION, fingerprint="1:2", backend="heuristic", model="", prompt_hash="x",
        frames=[frame],
    )  # fmt: skip
    scenes.save(desc, made[".msgpack"])
    assert set(made) == set(LOADERS), "a sample of every kind that results/ holds"
    for suffix, path in made.items():
        assert damage(path) == "", (suffix, damage(path))
        data = path.read_bytes()
        cut = path.with_name(f"cut{suffix}")
        cut.write_bytes(data[: len(data) * 2 // 3])
        assert damage(cut), f"a {suffix} file cut at two thirds passes as whole"
    unknown = tmp_path / "x.bin"
    unknown.write_bytes(b"\0")
    assert "no reader" in damage(unknown)


def test_the_ledger_names_the_job_whose_process_the_kill_took(tmp_path):
    """A job as Snakemake runs it (its script copied to .snakemake/scripts/tmpXXXX.<name>.py,
    run by python, starting a child) is found in its session and named by its rule, the
    child included; once the job is killed, nothing is: that kill would be a miss."""
    script = tmp_path / ".snakemake/scripts/tmpk3x9q.conform.py"
    script.parent.mkdir(parents=True)
    script.write_text("import subprocess\nsubprocess.run(['sleep', '60'])\n")
    job = subprocess.Popen([sys.executable, str(script)], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while len(procs := session_processes(job.pid)) < 2:
            assert time.monotonic() < deadline and job.poll() is None, procs
            time.sleep(0.01)
        assert jobs_in(procs, set()) == {"conform": ["conform.py", "sleep"]}
        assert jobs_in(procs, {"qc"}) == {"conform": ["conform.py", "sleep"]}, "only a shared script asks the log"
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait()
    deadline = time.monotonic() + 10
    while session_processes(job.pid):  # the orphaned sleep is reaped by init
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert jobs_in(session_processes(job.pid), {"conform"}) == {}
    shared = {1: Proc(1, 0, f"python {tmp_path}/.snakemake/scripts/tmpa1.deliver.py")}
    assert jobs_in(shared, {"deliver_trailer", "qc"}) == {"deliver_trailer": ["deliver.py"]}


# ---------------------------------------------------------------- the trial


def full_sweep(order: list[str]) -> list[str]:
    """Every stage once, in the order the reference run started them, the segment writer
    before conform's other aims, then AGAIN: KILLS kills (benchmarks/faults.py)."""
    schedule = sorted(FIRST + order + AGAIN, key=lambda rule: order.index(rule.split(",")[0]))
    assert len(schedule) == KILLS and {rule.split(",")[0] for rule in schedule} == set(order), schedule
    return schedule


# The test's sample of the sweep: the kills most likely to leave a result torn, each of a
# different way of writing: a segment of conform's cache in the middle of being written, a
# describing job part-way through its frames (the journal) and the moment its msgpack is in
# place before Snakemake has recorded it, keyframe images (analysis), the music bed's WAV
# header (music), the report's pictures and pages (report_assets). The full sweep of every
# stage is benchmarks/faults.py.
SAMPLE = [SEGMENT, "analysis", "scenedesc", PUBLISHED, "music", "report_assets"]


def sample(order: list[str]) -> list[str]:
    return sorted(SAMPLE, key=lambda rule: order.index(rule.split(",")[0]))


@dataclass
class Trial:
    """A chain of kills and reruns against an uninterrupted reference run."""

    schedule: list[str]
    order: list[str]  # the stages, as the reference run started them
    trials: list[tuple[str, Round, bool, str, list[str]]]  # name, the round, handled, output, broken
    aims: list[tuple[str, Round]]  # what each kill was aimed at
    final: Round
    frames: int  # frames the reference run described
    asked_again: int  # frames asked of the model more than once in the killed runs
    described: int  # frames asked of the model in the killed runs, each counted once
    work: Path
    reference: Path  # the reference run's results/f

    @property
    def landed(self) -> list[Round]:
        return [last for _, last, *_ in self.trials if last.landed]

    def by_stage(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for last in self.landed:
            for rule in last.hit:
                found[rule] = found.get(rule, 0) + 1
        return found


def sigkill_trial(tmp_path: Path, plan: Callable[[list[str]], list[str]]) -> Trial:
    """The reference run, then the kills that `plan` picks from the stages' order, chained
    (each rerun runs until the next kill), then a last run to the end."""
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
        frames = len(stub.asked)
        assert frames >= 15 and max(stub.asked.values()) == 1, stub.asked
        took = {rule: reference.finished[rule] - t for rule, t in reference.started.items()}
        order = sorted(reference.started, key=reference.started.get)
        assert set(order) <= set().union(*SCRIPT_RULES.values()), "every stage is a script job the kills can see"
        schedule = plan(order)

        stub.asked.clear()
        work = workdir("killed", stub.url)
        rng = random.Random(8)
        done: set[str] = set()
        trials = []
        aims: list[tuple[str, Round]] = []
        for aimed in schedule:
            target = aimed.split(",")[0]
            for attempt in range(AIMS):
                # A stage that finished before an earlier kill landed is run again, to be killed.
                again = ["--forcerun", target] if target in done else []
                if aimed == PUBLISHED:
                    last = watch(work, target, again, until=work / "results/f/f.scenedesc.msgpack")
                elif aimed == SEGMENT:
                    last = watch(work, target, again, until=writing_a_segment)
                else:
                    # from the moment its script is alive: within the first half of what the
                    # stage took in the reference, less at each new aim (this run may be quicker)
                    delay = rng.uniform(0, 0.5 * took[target]) * 0.25**attempt
                    last = watch(work, target, again, delay=delay)
                done = (done | set(last.finished)) - set(last.killed_during)
                ok = last.returncode in (-signal.SIGKILL, 0)
                broken = broken_results(work / "results")
                if not trials:  # Snakemake kept its lock and says what to do, as a user would see it
                    locked = snakemake(work, "trailer.mp4", check=False)
                    ok = ok and locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
                unlock = snakemake(work, "--unlock", check=False)
                ok = ok and not broken and unlock.returncode == 0
                name = aimed if attempt == 0 else f"{aimed} (aim {attempt + 1})"
                trials.append((name, last, ok, last.output + unlock.stdout + unlock.stderr, broken))
                aims.append((aimed, last))
                if target in last.hit or last.returncode == 0 or broken:
                    break
        final = watch(work)
        asked_again = sum(stub.asked.values()) - len(stub.asked)
        described = len(stub.asked)
    return Trial(
        schedule, order, trials, aims, final, frames, asked_again, described, work, tmp_path / "reference/results/f"
    )


def check_trial(trial: Trial) -> None:
    """Print the ledger of the kills and assert what every kill must leave."""
    landed = trial.landed
    describing = sum("scenedesc" in last.hit for last in landed)
    handled = sum(ok for _, _, ok, *_ in trial.trials)
    tracebacks = sum(output.count("Traceback") for *_, output, _ in trial.trials) + trial.final.output.count(
        "Traceback"
    )
    by_stage = trial.by_stage()
    print(f"\nSIGKILL trials: {len(trial.trials)} tried, {len(landed)} landed while a job ran,")
    print(f"  {handled} handled as expected, {tracebacks} tracebacks")
    print(f"  jobs killed, by stage: {by_stage}")
    print(
        f"  frames asked again: {trial.asked_again} (kills of the describing job: {describing}, frames: {trial.frames})"
    )
    for aimed, last, ok, output, broken in trial.trials:
        print(f"  aimed at {aimed}: killed {last.hit_text()}: {'handled' if ok else 'NOT HANDLED'}")
        for why in broken:
            print(f"    does not load: {why}")
        record_case("SIGKILL", f"killed {last.hit_text()} (aimed at {aimed})", ok, output)
        assert not broken, f"results that do not load after killing {last.hit_text()}: {broken}"

    work = trial.work
    assert trial.final.returncode == 0, trial.final.output[-4000:]
    assert handled == len(trial.trials) and tracebacks == 0, [(a, last.hit, ok) for a, last, ok, *_ in trial.trials]
    assert len(landed) >= len(trial.trials) - MAY_MISS, (
        f"only {len(landed)} of {len(trial.trials)} kills found a job alive"
    )
    hit_aimed = {aimed for aimed, last in trial.aims if aimed.split(",")[0] in last.hit}
    assert hit_aimed == set(trial.schedule), (
        f"no kill aimed at these found their job: {set(trial.schedule) - hit_aimed}"
    )
    manifest = (work / "results/f/TRAILER_MANIFEST.json").read_bytes()
    assert manifest == (trial.reference / "TRAILER_MANIFEST.json").read_bytes(), (
        "the manifest differs from the reference"
    )
    assert json.loads((work / "results/f/qc.json").read_text())["passed"]
    assert trial.described == trial.frames, "every frame described once in all"
    assert trial.asked_again <= describing, "only a frame in flight at a kill may be asked twice"
    leftovers = [p.name for p in (work / "results").rglob(".*") if p.name != ".snakemake_timestamp"]
    assert not leftovers, f"temporaries of killed jobs were not cleared: {leftovers}"
    journal = work / "results/f/f.scenedesc.msgpack.journal"
    assert journal.exists(), "the journal stays: it answers the next run"


def test_sigkill_at_the_riskiest_moments_then_rerun_gives_the_same_manifest(tmp_path):
    """The sample (SAMPLE) of the sweep; every stage, 22 kills: benchmarks/faults.py."""
    trial = sigkill_trial(tmp_path, sample)
    check_trial(trial)
    assert len(trial.schedule) == len(SAMPLE) and set(SAMPLE) <= set(trial.schedule)
    assert set(trial.by_stage()) >= {rule.split(",")[0] for rule in SAMPLE}, trial.by_stage()
