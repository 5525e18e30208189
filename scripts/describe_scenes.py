"""Snakemake script: describe every keyframe -> {film}.scenedesc.msgpack (journaled)."""

from cinecut import models, scenes, vision
from cinecut.runner import run_script


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    analysis = models.load(models.Analysis, sm.input.analysis)
    desc = vision.describe_all(
        analysis,
        sm.input.keyframes,
        stamp.fingerprint,
        sm.config["vision"],
        sm.params.journal,
        models_dir=sm.config["models_dir"],
        threads=sm.threads,
    )
    scenes.save(desc, sm.output[0])  # the journal stays: the answers of later runs (rules/vision.smk)


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
