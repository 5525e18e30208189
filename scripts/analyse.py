"""Snakemake script: one decode pass -> analysis.json + keyframes/ (lines of dialogue add
keyframes where they are said in long shots)."""

from pathlib import Path

from cinecut import atomic, models
from cinecut.analysis import analyse
from cinecut.runner import run_script


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    dialogue = models.load(models.Dialogue, sm.input.dialogue)
    with atomic.atomic_dir(sm.output.keyframes) as keyframes:
        result = analyse(stamp, Path(keyframes), dialogue.lines)
    models.save(result, sm.output.analysis)


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
