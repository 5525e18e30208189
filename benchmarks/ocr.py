"""OCR of bitmap subtitle streams: word accuracy, timing and cost per format.

Films with known sentences are made as the tests make them (tests/bitmap_subtitles.py):
PGS at 1920x1080 in Matroska, VobSub from spumux (Matroska and MPEG-PS), DVB re-encoded by
ffmpeg into MPEG-TS. Each is read by cinecut.subtitles.build_dialogue, as the dialogue
rule does, and compared with the truth: words right (aligned, difflib), the largest error
of a line's start and end, and the time per bitmap.

    .venv/bin/python benchmarks/ocr.py [--workers 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, table_head, write_section

sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))

from bitmap_subtitles import ENGLISH, cues, dvb_film, pgs_film, vobsub_film, word_accuracy  # noqa: E402

from cinecut.subtitles import build_dialogue  # noqa: E402

MORE = [
    "Bring the maps, the radio and two days of water.",
    "If the bridge is gone, we go around by the quarry.",
    "She said the lights would come back at midnight.",
    "You were right about the generator,\nit only needed fuel.",
    "Don't open that door until I tell you.",
    "How many of them are still out there?",
    "We leave at six, with or without the captain.",
    "The river was frozen the whole winter.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="parallel tesseract processes")
    args = parser.parse_args()
    truth = cues(ENGLISH + MORE)
    duration = truth[-1].end + 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        films = {"PGS (mkv, 1920x1080)": pgs_film(folder / "pgs.mkv", [("eng", truth)], duration=duration)}
        films["PGS, small letters (mkv)"] = pgs_film(folder / "small.mkv", [("eng", truth)], duration, size=28)
        films["VobSub (mkv, 720x576)"] = vobsub_film(folder / "vobsub.mkv", truth, duration=duration)
        films["VobSub (MPEG-PS)"] = vobsub_film(folder / "vobsub.mpg", truth, duration=duration)
        films["DVB (MPEG-TS)"] = dvb_film(folder / "dvb.ts", films["VobSub (mkv, 720x576)"])
        for name, film in films.items():
            began = time.perf_counter()
            dialogue = build_dialogue(None, duration, film, workers=args.workers)
            seconds = time.perf_counter() - began
            read = " ".join(line.text for line in dialogue.lines)
            accuracy = word_accuracy(" ".join(c.text for c in truth), read)
            pairs = list(zip(truth, dialogue.lines, strict=False))
            start_error = max(abs(c.start - line.start) for c, line in pairs)
            end_error = max(abs(c.end - line.end) for c, line in pairs)
            rows.append(
                f"| {name} | {len(truth)} | {len(dialogue.lines)} | {accuracy:.1%} | {1000 * start_error:.1f}"
                f" | {1000 * end_error:.1f} | {1000 * seconds / len(truth):.0f} |"
            )
            print(rows[-1], flush=True)
    words = sum(len(c.text.split()) for c in truth)
    body = "\n".join(
        [
            f"{len(truth)} cues, {words} words of English, read with `tesseract` (eng) through pytesseract,"
            f" {args.workers} process(es) at a time. Largest timing errors over all lines;"
            " ms per bitmap: the whole `build_dialogue` (probe, decode, OCR) over the cues.",
            "",
            *table_head(
                "format", "cues", "lines", "words right", "start error (ms)", "end error (ms)", "ms per bitmap"
            ),
            *rows,
        ]
    )
    write_section("OCR of bitmap subtitles", body)


if __name__ == "__main__":
    main()
