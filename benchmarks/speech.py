"""Voice activity: silero against webrtc on speech at known times -> docs/speech.md.

Known speech: espeak-ng phrases at chosen times over Big Buck Bunny's music and effects at
+10, 0 and -5 dB speech to background (tools/speechmix.py), and the two real speech clips
annotated by hand (tests/media/speech.json). Recall: the share of speech time the regions
cover; precision: the share of region time within the speech widened by 0.5 s (the
issue's measure). Then the speech rule (find_speech, default settings) on each real
corpus clip: its time and peak memory.

    .venv/bin/python benchmarks/speech.py
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, table_head

sys.path.insert(0, str(REPO / "src"))
import speechmix  # noqa: E402  (tools/, on the path through common)

from cinecut import media, speech  # noqa: E402
from cinecut.source import make_stamp  # noqa: E402

MEDIA = REPO / "tests" / "media"
DOC = REPO / "docs" / "speech.md"
CORPUS = sorted(p for p in MEDIA.iterdir() if p.suffix in {".webm", ".mp4", ".avi", ".mkv", ".ts"})

PROBE = """
import resource, sys, time
from cinecut import speech
from cinecut.source import make_stamp
t = time.perf_counter()
found = speech.find_speech(make_stamp(sys.argv[1]), speech.Settings())
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      len(found.regions), found.backend.split(" ")[0])
"""


def comparison(folder: Path) -> list[str]:
    cases = [
        (f"`{name}` (hand-annotated)", MEDIA / name, spans) for name, spans in speechmix.hand_annotations().items()
    ]
    for snr in (10, 0, -5):
        path = folder / f"mix{snr}.wav"
        cases.append((f"espeak-ng over Big Buck Bunny, {snr:+d} dB", path, speechmix.make_mix(path, snr)))
    rows = table_head("clip", "speech (s)", "backend", "recall", "precision", "time (s)")
    for label, path, truth in cases:
        for backend in speech.BACKENDS:
            start = time.perf_counter()
            found, failure = speech.detect(media.stream_audio(path, speech.RATE), speech.Settings(backend), 1e9)
            took = time.perf_counter() - start
            assert failure is None, failure
            s = speechmix.score([(r.start, r.end) for r in found], truth)
            talk = sum(b - a for a, b in truth)
            rows.append(f"| {label} | {talk:.1f} | {backend} | {s['recall']:.3f} | {s['precision']:.3f} | {took:.2f} |")
            print(rows[-1], flush=True)
    return rows


def rule_costs() -> list[str]:
    """find_speech as the rule runs it, one process per clip: its time and peak RSS."""
    rows = table_head("film", "length (s)", "regions", "backend", "time (s)", "peak memory (MB)")
    for film in CORPUS:
        out = subprocess.run([sys.executable, "-c", PROBE, str(film)], capture_output=True, text=True, check=True)
        took, rss, count, backend = out.stdout.split()
        length = make_stamp(str(film)).duration
        rows.append(f"| `{film.name}` | {length:.1f} | {count} | {backend} | {float(took):.2f} | {float(rss):.0f} |")
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        table = comparison(Path(tmp))
    costs = rule_costs()
    head, sep, _ = DOC.read_text().partition("<!-- benchmarks/speech.py writes below -->")
    if not sep:
        raise SystemExit(f"{DOC}: no '<!-- benchmarks/speech.py writes below -->' marker")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    stamp = f"_{time.strftime('%Y-%m-%d')}, {machine}: `benchmarks/speech.py`_"
    body = "\n".join(
        [sep, "", stamp, "", "### Recall and precision", "", *table, "",
         "### The speech rule on the corpus clips (silero, default settings)", "", *costs, ""]
    )  # fmt: skip
    DOC.write_text(head + body)


if __name__ == "__main__":
    main()
