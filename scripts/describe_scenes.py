"""Snakemake script: describe every keyframe -> {film}.scenedesc.msgpack (journaled)."""

from pathlib import Path

from cinecut import models, scenes, vision
from cinecut.runner import run_script


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    analysis = models.load(models.Analysis, sm.input.analysis)
    journal = Path(sm.params.journal)
    desc = vision.describe_all(
        analysis,
        sm.input.keyframes,
        stamp.fingerprint,
        sm.config["vision"],
        journal,
        models_dir=sm.config["models_dir"],
        threads=sm.threads,
    )
    scenes.save(desc, sm.output[0])
    journal.unlink(missing_ok=True)  # only once the result is safely in place


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
