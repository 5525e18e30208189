"""Scene descriptions through the real model paths: llama-cpp-python in-process on a tiny
random-weight LLaVA pair, llama-cpp-python's own OpenAI server, and a stub server for the
failures a real one will not produce on demand. The per-frame journal, resume and bad
model files are tested here too; the SIGKILL trial runs the real workflow."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import devmodels
import llama_cpp  # the suite needs the real build (make test installs it)
import msgpack
import pytest
import yaml
from conftest import bad_input_case, clone_build, copy_workflow, planned_jobs, snakemake
from openai_stub import StubServer, answer_for

from cinecut import journal as journal_module
from cinecut import llm, models, scenes, vision
from cinecut.errors import CinecutError
from cinecut.journal import Journal


def settings(backend: str, **over) -> dict:
    """The config's vision section with the schema's defaults, as Snakemake passes it."""
    schema = yaml.safe_load((Path(__file__).parents[1] / "schemas/config.schema.yaml").read_text())
    props = schema["properties"]["vision"]["properties"]
    vis = {k: v["default"] for k, v in props.items() if "default" in v and k not in ("llama_cpp", "openai")}
    sections = {"llama_cpp": props["llama_cpp"], "openai": schema["definitions"]["openai"]}
    for name, section in sections.items():
        vis[name] = {k: v["default"] for k, v in section["properties"].items()}
    vis.update(backend=backend, retries=0)
    for key, value in over.items():
        if isinstance(value, dict):
            vis[key].update(value)
        else:
            vis[key] = value
    return vis


@pytest.fixture(scope="session")
def tiny_pair(tmp_path_factory) -> devmodels.TinyPair:
    return devmodels.write_tiny_llava(tmp_path_factory.mktemp("models"))


# The longest answer llm.json_grammar admits for VisionAnswer has 583 characters (448 of
# quoted strings at their maxLength, 70 of keys, 29 optional spaces, 15 of punctuation and
# 21 of "close-up", "100" and "0.999999"), all ASCII, and every token holds at least one
# character: 700 tokens finish any answer, so every answer the model gives validates.
ANY_ANSWER_FITS = 700


def tiny_settings(pair, **over) -> dict:
    llama = {"model": str(pair.model), "mmproj": str(pair.mmproj), "n_gpu_layers": 0, "n_ctx": 2048}
    llama.update(max_tokens=ANY_ANSWER_FITS, threads=1)  # one thread: no OpenMP spinning on a busy machine
    return settings("llama_cpp", llama_cpp=llama, **over)


@pytest.fixture(scope="session")
def demo_frames(demo_build):
    """The demo's analysis (first 10 keyframes: enough variety, quick to describe) and folder."""
    analysis = models.load(models.Analysis, demo_build / "results/demo/analysis.json")
    analysis = analysis.model_copy(update={"keyframes": analysis.keyframes[:10]})
    return analysis, demo_build / "results/demo/keyframes"


def ggml_build_options() -> dict[str, str]:
    """ggml's CMake options as the installed llama-cpp-python was built with them: the wheel
    installs ggml's package config (lib/cmake/ggml/ggml-config.cmake), which records each."""
    dist = importlib.metadata.distribution("llama_cpp_python")
    config = next((f for f in dist.files or () if f.as_posix().endswith("cmake/ggml/ggml-config.cmake")), None)
    assert config is not None, "the llama-cpp-python wheel has no ggml-config.cmake: how it was built is unknown"
    return dict(re.findall(r'^set\((GGML_\w+) "([^"]*)"\)$', Path(dist.locate_file(config)).read_text(), re.M))


def test_llama_cpp_build_is_portable_without_amx():
    """GCC 12 miscompiles ggml's AMX path, and a native (-march=native) build turns on
    whatever the build machine has: the build must be -DGGML_NATIVE=OFF (README).

    What this proves, on any CPU: the installed build was configured with GGML_NATIVE=OFF and
    every AMX option off (read from the CMake config the wheel installed), and the loaded
    library reports exactly the x86 instruction sets that configuration turns on, so the
    config is the library's own (a native build reports its build machine's sets whatever
    the options say: here AVX512 and AMX). It does not run the AMX code or prove that GCC
    would now compile it well; it proves that code is not in the library."""
    options = ggml_build_options()
    assert options.get("GGML_NATIVE") == "OFF", f"GGML_NATIVE={options.get('GGML_NATIVE')}: rebuild (tools/setup.sh)"
    amx = {name: value for name, value in options.items() if name.startswith("GGML_AMX")}
    assert amx and set(amx.values()) == {"OFF"}, amx
    info = llama_cpp.llama_print_system_info().decode()
    reported = {name for name, value in re.findall(r"(\w+) = (\d+)", info) if value != "0"}
    x86 = {"AVX", "AVX2", "AVX_VNNI", "AVX512", "AVX512_VBMI", "AVX512_VNNI", "AVX512_BF16", "FMA", "F16C", "BMI2"}
    x86 |= {"AMX_INT8", "AMX_BF16", "AMX_TILE"}
    configured = {name for name in x86 if options.get(f"GGML_{name}") == "ON"}
    assert reported & x86 == configured, f"the library reports {sorted(reported & x86)}, built for {sorted(configured)}"
    assert "AVX2" in reported and "AMX_INT8" not in reported, info


def test_the_grammars_number_ranges_admit_exactly_their_numbers():
    """llm.integer_range, read as a regular expression: every whole number low..high as JSON
    writes it (no leading zeros), and nothing else."""
    for low in range(0, 130, 7):
        for high in range(low, 1100, 53):
            alternatives = [
                "".join(part.strip('"') for part in alternative.split())
                for alternative in llm.integer_range(low, high).split(" | ")
            ]
            pattern = re.compile(f"(?:{'|'.join(alternatives)})")
            admitted = {n for n in range(0, 1200) if pattern.fullmatch(str(n))}
            assert admitted == set(range(low, high + 1)), (low, high, alternatives)
            assert not any(pattern.fullmatch(f"0{n}") for n in range(low, high + 1))
    grammar = llm.json_grammar(models.VisionAnswer.model_json_schema())
    assert 'people ::= ([0-9] | [1-9] [0-9] | "1" "0" "0") space' in grammar, grammar


def test_llama_cpp_backend_on_demo_keyframes_is_deterministic_and_sees_the_image(tiny_pair, demo_frames, tmp_path):
    analysis, folder = demo_frames
    vis = tiny_settings(tiny_pair)
    first = vision.describe_all(analysis, folder, "1:2", vis, tmp_path / "a.journal")
    second = vision.describe_all(analysis, folder, "1:2", vis, tmp_path / "b.journal")
    assert len(first.frames) == len(analysis.keyframes)
    assert [f.time for f in first.frames] == [k.time for k in analysis.keyframes]
    assert first.backend == "llama_cpp" and first.model.startswith("llama_cpp:llava-1.5:tiny-llava-text.gguf:")
    for frame in first.frames:
        assert frame.raw, "every frame keeps the model's raw answer"
        # The grammar admits only valid answers and ANY_ANSWER_FITS tokens finish any of them,
        # so even random weights answer every frame: a fallback here is a broken path.
        assert (frame.backend, frame.outcome, frame.attempts, frame.error) == ("llama_cpp", "ok", 1, ""), frame
        assert frame.raw.startswith("{") and vision.parse_answer(frame.raw).mood == frame.mood
    assert sum(f.outcome == "ok" for f in second.frames) == len(second.frames)
    # temperature 0: the same frames give the same answers; different images different ones
    assert [f.raw for f in first.frames] == [f.raw for f in second.frames]
    assert len({f.raw for f in first.frames}) >= 5


def test_llama_cpp_answer_depends_on_the_image(tiny_pair, tmp_path):
    for name, source in (("grey.jpg", "color=c=gray:"), ("bars.jpg", "testsrc2=")):
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"{source}s=320x180",
                "-frames:v",
                "1",
                str(tmp_path / name),
            ],
            check=True,
        )
    describer = vision.open_describer(tiny_settings(tiny_pair))
    try:
        grey = describer.ask(tmp_path / "grey.jpg", vision.DEFAULT_PROMPT, 0)
        bars = describer.ask(tmp_path / "bars.jpg", vision.DEFAULT_PROMPT, 0)
        assert grey != bars
        assert describer.ask(tmp_path / "grey.jpg", vision.DEFAULT_PROMPT, 0) == grey
    finally:
        describer.close()


def test_bad_model_files_are_one_line_errors_naming_the_file(tiny_pair, tmp_path):
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_text("this is a text file\n")
    other = tmp_path / "other-mmproj.gguf"
    devmodels.write_mmproj(other, projection_dim=devmodels.TEXT_EMBD * 2)
    cases = [
        ({"model": str(tmp_path / "missing.gguf")}, "missing.gguf", "not found"),
        ({"model": str(not_gguf)}, str(not_gguf), "not a GGUF file"),
        ({"mmproj": str(tiny_pair.model)}, str(tiny_pair.model), "not an mmproj file"),
        ({"mmproj": str(other)}, str(other), "does not match tiny-llava-text.gguf"),
    ]
    for change, named, problem in cases:
        vis = tiny_settings(tiny_pair)
        vis["llama_cpp"].update(change)
        with bad_input_case("model files", f"{Path(named).name}: {problem}"):
            with pytest.raises(CinecutError) as err:
                vision.open_describer(vis).close()
            assert named in str(err.value) and problem in str(err.value)
            assert "\n" not in str(err.value)


def test_models_dir_resolves_relative_model_names(tiny_pair, monkeypatch):
    vis = tiny_settings(tiny_pair)
    vis["llama_cpp"].update(model=tiny_pair.model.name, mmproj=tiny_pair.mmproj.name)
    assert vision.model_identity(vis, str(tiny_pair.model.parent)).startswith("llama_cpp:")
    monkeypatch.setenv("CINECUT_MODELS", str(tiny_pair.model.parent))
    assert vision.model_identity(vis) == vision.model_identity(vis, str(tiny_pair.model.parent))


@pytest.fixture
def llama_server(tiny_pair):
    """llama-cpp-python's own OpenAI-compatible server on the tiny pair, on 127.0.0.1."""
    args = ("--clip_model_path", str(tiny_pair.mmproj), "--chat_format", "llava-1-5", "--n_ctx", "2048")
    with devmodels.llama_server(tiny_pair.model, *args) as url:
        yield url


def test_openai_backend_against_llama_cpp_server(llama_server, demo_frames, tmp_path):
    analysis, folder = demo_frames
    vis = settings(
        "openai",
        openai={"base_url": llama_server, "model": "tiny", "response_format": "json_object", "max_tokens": 500},
    )
    desc = vision.describe_all(analysis, folder, "1:2", vis, tmp_path / "j")
    assert desc.backend == "openai" and desc.model == "openai:tiny"
    assert len(desc.frames) == len(analysis.keyframes)
    assert all(f.raw and f.raw.lstrip().startswith("{") for f in desc.frames), "grammar-constrained JSON"
    assert {(f.backend, f.outcome) for f in desc.frames} <= {("openai", "ok"), ("heuristic", "fallback")}
    assert len({f.raw for f in desc.frames}) >= 5


def test_openai_server_down_stops_with_one_line(demo_frames, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/v1"  # closed again: nothing listens
    vis = settings("openai", openai={"base_url": url, "model": "m", "retries": 1})
    with bad_input_case("model servers", "nothing listens"):
        with pytest.raises(CinecutError) as err:
            vision.describe_all(*demo_frames, "1:2", vis, tmp_path / "j")
        assert url in str(err.value) and "unreachable" in str(err.value)
        assert "0 of 10 frames kept" in str(err.value)


def test_openai_server_that_times_out(demo_frames, tmp_path):
    with bad_input_case("model servers", "answers too slowly"), StubServer("sleep", delay=3) as stub:
        vis = settings("openai", openai={"base_url": stub.url, "model": "m", "timeout": 0.5, "retries": 1})
        started = time.monotonic()
        with pytest.raises(CinecutError) as err:
            vision.describe_all(*demo_frames, "1:2", vis, tmp_path / "j")
        assert "did not answer in time (2 tries)" in str(err.value)
        assert time.monotonic() - started < 15


@pytest.mark.parametrize("mode, error", [("junk", "not a chat completion: <html>"), ("prose", "no JSON object")])
def test_openai_server_answering_junk_falls_back_per_frame(demo_frames, tmp_path, mode, error):
    with bad_input_case("model servers", f"answers {mode}"), StubServer(mode) as stub:
        vis = settings("openai", retries=1, openai={"base_url": stub.url, "model": "m", "retries": 0})
        desc = vision.describe_all(*demo_frames, "1:2", vis, tmp_path / "j")
        assert stub.requests == 2 * len(desc.frames), "one retry per frame, then the fallback"
        for frame in desc.frames:
            assert (frame.backend, frame.outcome, frame.attempts) == ("heuristic", "fallback", 2)
            assert error in frame.error


def test_the_journal_answers_reruns_so_only_unanswered_frames_are_asked(demo_frames, tmp_path):
    """The journal stays after a run: a rerun asks the model only for frames it has not
    answered well. A fallback is asked again; an answer is reused even when keyframes were
    added before its frame (new subtitles), which renames every later keyframe."""
    analysis, folder = demo_frames
    journal = tmp_path / "j"
    with StubServer("junk") as stub:
        vis = settings("openai", retries=0, openai={"base_url": stub.url, "model": "m", "retries": 0})
        first = analysis.model_copy(update={"keyframes": analysis.keyframes[:4]})
        assert {f.outcome for f in vision.describe_all(first, folder, "1:2", vis, journal).frames} == {"fallback"}
        stub.mode, stub.requests = "ok", 0
        odd = analysis.model_copy(update={"keyframes": analysis.keyframes[1::2]})
        vision.describe_all(odd, folder, "1:2", vis, journal)
        assert stub.requests == len(odd.keyframes), "the two fallbacks among them are asked again"

        renamed = tmp_path / "renamed"
        renamed.mkdir()
        keyframes = []
        for i, kf in enumerate(analysis.keyframes):
            shutil.copy(folder / kf.image, renamed / f"kf{i + 100:05d}.jpg")
            keyframes.append(kf.model_copy(update={"index": i + 100, "image": f"kf{i + 100:05d}.jpg"}))
        stub.requests = 0
        every = vision.describe_all(analysis.model_copy(update={"keyframes": keyframes}), renamed, "1:2", vis, journal)
        assert stub.requests == len(keyframes) - len(odd.keyframes), "only the frames never answered"
        assert [f.image for f in every.frames] == [kf.image for kf in keyframes]
        assert all(f.outcome == "ok" for f in every.frames)


def test_journal_keeps_whole_records_and_drops_a_torn_tail(tmp_path):
    path = tmp_path / "x.journal"
    identity = {"model": "a", "fingerprint": "1:2"}
    with Journal(path, identity) as journal:
        for i in range(3):
            journal.add(f"k{i}", {"i": i})
    whole = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(msgpack.packb({"key": "k3", "value": {"i": 3}})[:-3])  # killed mid-write
    with Journal(path, identity) as journal:
        assert sorted(journal.records) == ["k0", "k1", "k2"]
        assert path.stat().st_size == whole
        journal.add("k3", {"i": 3})
    assert sorted(Journal(path, identity).records) == ["k0", "k1", "k2", "k3"]
    assert Journal(path, {**identity, "model": "b"}).records == {}, "another model's journal is not adopted"
    assert Journal(path, identity).records == {}, "and it was replaced"


JOURNAL_FRAME = models.SceneDescription(
    time=1.0, image="kf.jpg", visual_content="a man in a dark room", mood="tense", action="waits",
    setting="room", shot_scale="medium", people=1, intensity=0.5, backend="llama_cpp", raw="x" * 600,
)  # fmt: skip


def test_journal_work_besides_the_disk_fits_the_claimed_cost(tmp_path, monkeypatch):
    """docs/models.md: one msgpack record per frame, fsync'ed, ~0.3 ms per frame. What the
    journal itself does (the record, the append, the flush) must fit in that with room to
    spare on a loaded 2-core machine (measured: ~0.02 ms), so the fsync is counted here, not
    waited for; and every frame's record must be fsync'ed, on its own."""
    synced: list[int] = []
    monkeypatch.setattr(journal_module.os, "fsync", synced.append)
    frames = 2000
    with Journal(tmp_path / "j", {"m": 1}) as journal:
        synced.clear()  # the header's
        started = time.perf_counter()
        for i in range(frames):
            journal.add(f"k{i}", JOURNAL_FRAME.model_dump())
            assert len(synced) == i + 1, "each record is fsync'ed before add returns"
        per_frame = (time.perf_counter() - started) / frames
        assert set(synced) == {journal._fh.fileno()}
    assert len(Journal(tmp_path / "j", {"m": 1}).records) == frames
    assert per_frame < 0.0003, f"{per_frame * 1000:.3f} ms per frame without the disk's fsync"


def test_journal_overhead_on_this_disk_is_near_the_claim(tmp_path):
    """The same with the real fsync on the test's file system: ~0.3 ms per frame claimed;
    2 ms allowed for a busy machine. Disks that other jobs keep busy take 1-4 ms for one
    fsync, so the bound holds for the best of 20 batches of 50 frames, not the mean."""
    with Journal(tmp_path / "j", {"m": 1}) as journal:
        batches = []
        for batch in range(20):
            started = time.perf_counter()
            for i in range(50):
                journal.add(f"k{batch}:{i}", JOURNAL_FRAME.model_dump())
            batches.append((time.perf_counter() - started) / 50)
    assert min(batches) < 0.002, f"{min(batches) * 1000:.2f} ms per frame at best ({max(batches) * 1000:.2f} at worst)"


# ---------------------------------------------------------------- the real workflow


def _set_vision(work: Path, **vis) -> None:
    config = yaml.safe_load((work / "config.yaml").read_text())
    config["vision"] = vis
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _journal_records(path: Path) -> int:
    if not path.exists():
        return 0
    unpacker = msgpack.Unpacker(raw=False)
    unpacker.feed(path.read_bytes())
    return sum(1 for item in unpacker if "key" in item)


def test_sigkill_while_describing_resumes_at_the_next_frame(film_build, tmp_path):
    """SIGKILL mid-way; the rerun asks the model only for the frames not yet journaled,
    and the result equals an uninterrupted run's (timings aside). On the user's film of
    conftest (30 s): the demo's 90 s made each of the four describing runs 3x longer."""
    work = clone_build(film_build, tmp_path / "w")
    target = "results/lighthouse/lighthouse.scenedesc.msgpack"
    journal = work / f"{target}.journal"
    journal.unlink()  # the build's (heuristic answers): this test counts the stub's
    total = len(models.load(models.Analysis, work / "results/lighthouse/analysis.json").keyframes)
    with StubServer("ok", delay=0.15) as stub:
        _set_vision(work, backend="openai", openai={"base_url": stub.url, "model": "stub", "concurrency": 1})
        proc = subprocess.Popen(
            [sys.executable, "-m", "snakemake", "--cores", "2", target],
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while _journal_records(journal) < total // 3:
            assert proc.poll() is None and time.monotonic() < deadline, "describe job ended before the kill"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kept = _journal_records(journal)
        assert 0 < kept < total and not (work / target).exists()

        snakemake(work, "--unlock")
        stub.requests = 0
        snakemake(work, "--rerun-incomplete", target)
        assert stub.requests == total - kept, "only the frames missing from the journal were asked"
        resumed = scenes.load(work / target)

        stub.requests = 0
        journal.unlink()  # the way to have every frame asked afresh (the journal stays)
        snakemake(work, "--forcerun", "scenedesc", target)
        assert stub.requests == total
        fresh = scenes.load(work / target)

        # Edited subtitles re-analyse the film (keyframes go where lines are said in long
        # shots); then the model is asked only about keyframes it has not seen, here none.
        srt = work / "films/lighthouse.srt"
        cues = srt.read_text().strip().split("\n\n")
        srt.write_text("\n\n".join(cues[: len(cues) // 2]) + "\n")
        assert {"dialogue", "analysis", "scenedesc"} <= set(planned_jobs(snakemake(work, "-n", target)))
        stub.requests = 0
        snakemake(work, target)
        assert stub.requests == 0

    def strip(desc):
        return [f.model_dump(exclude={"seconds"}) for f in desc.frames]

    assert resumed is not None and fresh is not None
    assert strip(resumed) == strip(fresh)
    assert [f.visual_content for f in resumed.frames[:3]] == [
        answer_for((work / "results/lighthouse/keyframes" / f.image).read_bytes())["visual_content"]
        for f in resumed.frames[:3]
    ]


def test_llama_cpp_trailer_end_to_end_and_a_new_model_cascades(film_build, tiny_pair, tmp_path):
    """The user's film (conftest) with the llama_cpp backend: -n says why scenedesc reruns
    (not analysis); the trailer passes QC and its manifest says which backend described
    the frames."""
    work = clone_build(film_build, tmp_path / "w")
    llama = {"model": str(tiny_pair.model), "mmproj": str(tiny_pair.mmproj), "n_ctx": 2048, "max_tokens": 400}
    # One thread, as tiny_settings: two threads' spin-waits took 30-70 s a frame (not 1 s)
    # while other jobs kept both cores busy.
    _set_vision(work, backend="llama_cpp", retries=0, threads=1, llama_cpp=llama)
    dry = snakemake(work, "-n", "trailer.mp4")
    jobs = planned_jobs(dry)
    assert {"scenedesc", "structure", "narrative", "manifest", "conform", "qc"} <= set(jobs)
    assert "analysis" not in jobs and "stamp" not in jobs
    assert "Params have changed since last execution" in dry.stdout + dry.stderr

    snakemake(work, "trailer.mp4")
    manifest = (work / "results/lighthouse/TRAILER_MANIFEST.json").read_text()
    assert '"vision": "llama_cpp"' in manifest and "tiny-llava-text.gguf" in manifest
    desc = scenes.load(work / "results/lighthouse/lighthouse.scenedesc.msgpack")
    assert desc is not None and desc.backend == "llama_cpp"
    assert len(desc.frames) == len(models.load(models.Analysis, work / "results/lighthouse/analysis.json").keyframes)

    assert planned_jobs(snakemake(work, "-n", "trailer.mp4")) == {}, "nothing left to do"
    devmodels.write_text_model(tmp_path / "retrained.gguf", seed=8)
    llama["model"] = str(tmp_path / "retrained.gguf")
    _set_vision(work, backend="llama_cpp", retries=0, threads=1, llama_cpp=llama)
    jobs = planned_jobs(snakemake(work, "-n", "trailer.mp4"))
    assert "scenedesc" in jobs and "analysis" not in jobs


def test_missing_model_file_stops_the_dry_run_with_one_line(tmp_path):
    work = copy_workflow(tmp_path / "w")
    _set_vision(work, backend="llama_cpp", llama_cpp={"model": "nowhere/llava.gguf", "mmproj": "nowhere/mmproj.gguf"})
    with bad_input_case("model files", "a model path that does not exist (dry run)") as printed:
        proc = snakemake(work, "-n", check=False)
        printed.append(proc.stdout + proc.stderr)
        assert proc.returncode != 0
        assert "config vision: nowhere/llava.gguf: model file not found" in proc.stdout + proc.stderr
