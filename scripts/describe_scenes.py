"""Snakemake script: describe every keyframe -> {film}.scenedesc.msgpack."""

from cinecut import models, scenes
from cinecut.runner import run_script


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    analysis = models.load(models.Analysis, sm.input.analysis)
    scenes.save(scenes.describe_all(analysis, stamp.fingerprint), sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
