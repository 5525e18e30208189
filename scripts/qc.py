"""Snakemake script: measure trailer.mp4 -> qc.json; fail the rule on a defect."""

import logging

from cinecut import models
from cinecut.conform import output_size
from cinecut.errors import CinecutError
from cinecut.manifest import load_manifest
from cinecut.qc import measure
from cinecut.runner import run_script
from cinecut.vibes import get_vibe


def main(sm):
    manifest = load_manifest(sm.input.manifest)
    stamp = models.load(models.Stamp, sm.input.stamp)
    target = get_vibe(manifest.vibe).loudness
    width, height = output_size(stamp, sm.params.width, sm.params.height)
    report = measure(sm.input.trailer, manifest, stamp, width, height, target)
    for check in report.checks:
        logging.info("%s %s: %s (expected %s)", "ok  " if check.ok else "FAIL", check.name, check.value, check.expected)
    failed = [c.name for c in report.checks if not c.ok]
    if failed:
        raise CinecutError(sm.input.trailer, "QC failed: " + ", ".join(failed) + f" (see {sm.log[0]})")
    models.save(report, sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
