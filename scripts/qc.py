"""Snakemake script: measure trailer.mp4 -> qc.json; fail the rule on a defect."""

import logging
from pathlib import Path

from cinecut import models
from cinecut.errors import CinecutError
from cinecut.placement import output_size
from cinecut.qc import measure
from cinecut.runner import run_script
from cinecut.vibes import get_vibe


def main(sm):
    manifest = models.load(models.Manifest, sm.input.manifest)
    stamp = models.load(models.Stamp, sm.input.stamp)
    target = get_vibe(manifest.vibe).loudness
    width, height = output_size(stamp, sm.params.width, sm.params.height)
    # The stems (input `stems`: .../stems/dialogue.wav and the others) let QC measure the
    # sound against the picture; without the dialogue stem that check is not measured.
    stems = {Path(path).stem: path for path in sm.input.get("stems", [])}
    if "dialogue" not in stems:
        logging.warning("no dialogue stem among the inputs: sound against picture not measured")
        stems = {}
    report = measure(sm.input.trailer, manifest, stamp, width, height, target, stems=stems)
    for check in report.checks:
        logging.info("%s %s: %s (expected %s)", "ok  " if check.ok else "FAIL", check.name, check.value, check.expected)
    for sync in report.sync:
        offset = f"{sync.offset_ms:+.0f} ms ({sync.frames:+.2f} frames)" if sync.offset_ms is not None else sync.note
        logging.info(
            "sound at segment %d (%.2f s, stem %.0f dBFS): %s", sync.segment, sync.start, sync.level_db, offset
        )
    failed = [c.name for c in report.checks if not c.ok]
    if failed:
        raise CinecutError(sm.input.trailer, "QC failed: " + ", ".join(failed) + f" (see {sm.log[0]})")
    models.save(report, sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
