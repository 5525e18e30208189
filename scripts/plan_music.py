"""Snakemake script: choose or synthesise the bed -> music.json + music.wav."""

from cinecut import models, music
from cinecut.runner import run_script
from cinecut.vibes import get_vibe, target_length


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    vibe = get_vibe(sm.params.vibe)
    library = models.load(models.Library, sm.input.library) if "library" in sm.input.keys() else None
    samples, plan = music.plan_music(vibe, target_length(vibe, stamp.duration, sm.params.length), library)
    music.write_bed(samples, sm.output.bed)
    models.save(plan, sm.output.plan)


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
