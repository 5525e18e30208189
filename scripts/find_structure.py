"""Snakemake script: three story anchors for the whole film."""

from cinecut import models, scenes
from cinecut.errors import CinecutError
from cinecut.runner import run_script
from cinecut.story import heuristic_structure


def main(sm):
    desc = scenes.load(sm.input.scenedesc)
    if desc is None:
        raise CinecutError(sm.input.scenedesc, "unreadable scene descriptions; run again to rebuild them")
    analysis = models.load(models.Analysis, sm.input.analysis)
    dialogue = models.load(models.Dialogue, sm.input.dialogue)
    models.save(heuristic_structure(analysis, desc, dialogue), sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
