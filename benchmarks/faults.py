"""The full SIGKILL sweep: 22 kills of the whole run, every stage at least once.

    .venv/bin/python benchmarks/faults.py

tests/test_faults.py runs a sample of six kills (the moments most likely to tear a result);
this runs the sweep the sample is taken from (test_faults.full_sweep: each of the 14 stages
once in the order the reference run started them, conform while ffmpeg writes a segment,
the describing job the instant it publishes, then the longer stages again), with the same
checks after every kill and at the end, and prints and writes the ledger: per kill, what it
was aimed at, what it took, and whether every result still loaded.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from common import REPO, load_note, table_head, write_section

sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "src"))

from test_faults import KILLS, check_trial, full_sweep, sigkill_trial  # noqa: E402


def main() -> None:
    note = load_note()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        trial = sigkill_trial(Path(tmp), full_sweep)
        took = time.perf_counter() - start
        failure = ""
        try:
            check_trial(trial)  # prints the ledger
            missed = set(trial.order) - set(trial.by_stage())
            if missed:
                failure = f"no kill took a job of {sorted(missed)}"
        except AssertionError as err:
            failure = str(err)[:300]
    rows = table_head("aimed at", "killed", "results load", "handled")
    for name, last, ok, _, broken in trial.trials:
        rows.append(f"| {name} | {last.hit_text()} | {'yes' if not broken else 'NO: ' + broken[0]} | {ok} |")
    landed = len(trial.landed)
    summary = (
        f"The demo-like film (30 s, 320x180), the OpenAI stub describing; {KILLS} kills aimed, "
        f"{len(trial.trials)} tried, {landed} landed while a job ran; stages hit: {len(trial.by_stage())} "
        f"of {len(trial.order)}; frames asked again: {trial.asked_again} of {trial.frames}; "
        f"{took:.0f} s in all; {note}. " + ("Every check held." if not failure else f"FAILED: {failure}")
    )
    print(summary)
    write_section("SIGKILL sweep", summary + "\n\n" + "\n".join(rows))
    if failure:
        raise SystemExit(failure)


if __name__ == "__main__":
    main()
