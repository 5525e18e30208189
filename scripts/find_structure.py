"""Snakemake script: three story anchors for the whole film (heuristic or a text LLM)."""

from cinecut import anchors, models, scenes
from cinecut.errors import CinecutError
from cinecut.runner import run_script


def main(sm):
    desc = scenes.load(sm.input.scenedesc)
    if desc is None:
        raise CinecutError(sm.input.scenedesc, "unreadable scene descriptions; run again to rebuild them")
    analysis = models.load(models.Analysis, sm.input.analysis)
    dialogue = models.load(models.Dialogue, sm.input.dialogue)
    structure = anchors.find_structure(
        analysis, desc, dialogue, sm.config["structure"], models_dir=sm.config["models_dir"], threads=sm.threads
    )
    models.save(structure, sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
