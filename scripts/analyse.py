"""Snakemake script: one decode pass -> analysis.json + keyframes/."""

from pathlib import Path

from cinecut import atomic, models
from cinecut.analysis import analyse
from cinecut.runner import run_script


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    with atomic.atomic_dir(sm.output.keyframes) as keyframes:
        result = analyse(stamp, Path(keyframes))
    models.save(result, sm.output.analysis)


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
