"""Scene-description throughput per backend, and what the per-frame journal costs.

    .venv/bin/python benchmarks/describe.py [--frames 60]

Writes --frames distinct 640x360 keyframe JPEGs (ffmpeg test sources), then prints, all
measured in the same run:

- frames per second of each backend available here: `heuristic`; `llama_cpp` in-process
  and `openai` against llama-cpp-python's server, both on the tiny random-weight LLaVA
  pair (`tools/devmodels.py`; real weights are the user's files: expect ~2 s per frame
  for a 7B model on a GPU, tens of seconds on a CPU);
- the journal's overhead per frame: `describe_all` (journal appended and fsync'ed per
  frame) against the bare per-frame loop as its baseline, and one `Journal.add` of a
  realistic record on its own. Goal: < 5 ms per frame.

The tables are printed and written to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import tempfile
import time
from pathlib import Path

from common import devmodels, load_note, table_head, write_section

from cinecut import models, vision
from cinecut.journal import Journal

SOURCES = ["testsrc2", "mandelbrot", "life", "smptebars", "rgbtestsrc", "cellauto"]


def make_frames(folder: Path, count: int) -> models.Analysis:
    folder.mkdir(parents=True, exist_ok=True)
    keyframes = []
    for i in range(count):
        name = f"kf{i:05d}.jpg"
        source = SOURCES[i % len(SOURCES)]
        subprocess.run(
            ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"{source}=s=640x360:r=25", "-vf",
             f"select=eq(n\\,{i * 7})", "-frames:v", "1", "-y", str(folder / name)],
            check=True,
        )  # fmt: skip
        keyframes.append(
            models.Keyframe(
                index=i,
                time=float(i),
                shot=i,
                image=name,
                reason="benchmark",
                brightness=0.4 + 0.01 * (i % 30),
                contrast=0.3,
                colourfulness=0.5,
                hue=30.0 * (i % 12),
                motion=0.02 * (i % 5),
                faces=i % 3,
                face_area=0.02 * (i % 3),
            )  # fmt: skip
        )
    return models.Analysis(
        film="bench",
        fingerprint="1:2",
        duration=float(count),
        fps="25",
        frames=count * 25,
        shots=[],
        keyframes=keyframes,
    )


def settings(backend: str, pair: devmodels.TinyPair, url: str = "") -> dict:
    return {
        "backend": backend,
        "prompt": "",
        "retries": 0,
        "threads": 2,
        "llama_cpp": {
            "model": str(pair.model),
            "mmproj": str(pair.mmproj),
            "chat_handler": "llava-1.5",
            "n_gpu_layers": 0,
            "n_ctx": 2048,
            "max_tokens": 400,
            "threads": 2,
        },
        "openai": {
            "base_url": url,
            "model": "tiny",
            "api_key_env": "OPENAI_API_KEY",
            "timeout": 60,
            "retries": 0,
            "concurrency": 1,
            "max_tokens": 400,
            "response_format": "json_object",
        },
    }


def rate(analysis, folder, vis, journal) -> tuple[float, float]:
    start = time.perf_counter()
    vision.describe_all(analysis, folder, "1:2", vis, journal, threads=2)
    seconds = time.perf_counter() - start
    return seconds, len(analysis.keyframes) / seconds


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the tiny pair's answers are noise: no per-frame warnings
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    note = load_note()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        analysis = make_frames(tmp / "keyframes", args.frames)
        pair = devmodels.write_tiny_llava(tmp / "models")
        print(f"{args.frames} keyframes at 640x360")

        rows, missing = [], ""
        seconds, fps = rate(analysis, tmp / "keyframes", settings("heuristic", pair), tmp / "h.journal")
        rows.append(("heuristic", seconds, fps))
        try:
            import llama_cpp  # noqa: F401
        except ImportError:
            missing = "llama_cpp is not installed here (tools/setup.sh --models): its rows are missing. "
            print("llama_cpp: not installed (tools/setup.sh --models)")
        else:
            seconds, fps = rate(analysis, tmp / "keyframes", settings("llama_cpp", pair), tmp / "l.journal")
            rows.append(("llama_cpp (tiny pair, in-process)", seconds, fps))
            server = ("--clip_model_path", str(pair.mmproj), "--chat_format", "llava-1-5", "--n_ctx", "2048")
            with devmodels.llama_server(pair.model, *server) as url:
                seconds, fps = rate(analysis, tmp / "keyframes", settings("openai", pair, url), tmp / "o.journal")
                rows.append(("openai (llama_cpp.server, tiny pair)", seconds, fps))
        for name, seconds, fps in rows:
            print(f"{name:40s} {seconds:7.2f} s  {fps:8.1f} frames/s")

        # Journal overhead: describe_all with its journal vs the bare loop, heuristic backend.
        vis = settings("heuristic", pair)
        describer = vision.open_describer(vis)
        frames = [(kf, tmp / "keyframes" / kf.image) for kf in analysis.keyframes]
        bare, journaled = [], []
        for i in range(5):
            start = time.perf_counter()
            for kf, image in frames:
                vision.describe_frame(describer, kf, image, "", 0)
            bare.append(time.perf_counter() - start)
            start = time.perf_counter()
            vision.describe_all(analysis, tmp / "keyframes", "1:2", vis, tmp / f"j{i}.journal")
            journaled.append(time.perf_counter() - start)
        n = len(frames)
        overhead = (min(journaled) - min(bare)) / n
        sample = vision.describe_frame(describer, *frames[0], "", 0).model_copy(update={"raw": "x" * 600})
        with Journal(tmp / "append.journal", {"bench": 1}) as journal:
            start = time.perf_counter()
            for i in range(500):
                journal.add(f"k{i}", sample.model_dump())
            append = (time.perf_counter() - start) / 500
        print(f"bare per-frame loop (baseline)          {min(bare) / n * 1000:7.3f} ms per frame")
        print(f"describe_all with journal               {min(journaled) / n * 1000:7.3f} ms per frame")
        print(f"journal overhead (incl. keys, fsync)    {overhead * 1000:7.3f} ms per frame  (goal < 5 ms)")
        print(f"one Journal.add (append + fsync)        {append * 1000:7.3f} ms per frame")
        print(f"ratio describe_all / bare loop          {min(journaled) / min(bare):7.2f}x")
    heuristic = rows[0][2]
    per_frame = [
        ("bare per-frame loop, no journal (baseline)", min(bare) / n, ""),
        ("`describe_all`, journal appended and fsync'ed per frame", min(journaled) / n, ""),
        ("the journal's overhead (keys, append, fsync)", overhead, "goal < 5 ms"),
        ("one `Journal.add` of a 600-character record, alone", append, "mean of 500"),
    ]
    body = [
        f"{args.frames} distinct 640x360 keyframe JPEGs (ffmpeg test sources), 2 threads, {note}. The "
        "llama_cpp rows run the tiny random-weight LLaVA pair of `tools/devmodels.py`: they measure the "
        "backend's own cost, not a real model's (real weights: ~2 s per frame for a 7B model on a GPU, tens "
        f"of seconds on a CPU). {missing}Baseline of the frames/s: the heuristic backend.",
        "",
        *table_head("backend", "wall", "frames/s", "ms per frame", "ratio to heuristic (time per frame)"),
        *(
            f"| {name} | {seconds:.3f} s | {fps:,.1f} | {1000 / fps:,.3f} | {heuristic / fps:,.0f}x |"
            for name, seconds, fps in rows
        ),
        "",
        "The journal's cost per frame, heuristic backend, best of 5 runs; baseline: the bare per-frame loop.",
        "",
        *table_head("per frame", "ms", "ratio to the bare loop", "notes"),
        *(
            f"| {name} | {1000 * seconds:.3f} | {seconds / (min(bare) / n):.2f}x | {notes} |"
            for name, seconds, notes in per_frame
        ),
    ]
    write_section("scene descriptions: frames/s per backend, journal cost", "\n".join(body))


if __name__ == "__main__":
    main()
