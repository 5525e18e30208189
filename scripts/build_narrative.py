"""Snakemake script: score candidate clips, assign zones and beats."""

from cinecut import models, scenes, zones
from cinecut.errors import CinecutError
from cinecut.runner import run_script
from cinecut.story import build_narrative
from cinecut.vibes import get_vibe


def main(sm):
    desc = scenes.load(sm.input.scenedesc)
    if desc is None:
        raise CinecutError(sm.input.scenedesc, "unreadable scene descriptions; run again to rebuild them")
    narrative = build_narrative(
        models.load(models.Analysis, sm.input.analysis),
        desc,
        models.load(models.Dialogue, sm.input.dialogue),
        models.load(models.Structure, sm.input.structure),
        get_vibe(sm.params.vibe),
        zones.open_meaning(sm.params.meaning),
        heard=models.load(models.Speech, sm.input.speech),
    )
    models.save(narrative, sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
