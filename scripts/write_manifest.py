"""Snakemake script: choose the cut -> TRAILER_MANIFEST.json."""

from cinecut import models
from cinecut.manifest import plan_manifest
from cinecut.placement import output_rate
from cinecut.runner import run_script
from cinecut.speech import story_lines
from cinecut.vibes import get_vibe


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    manifest = plan_manifest(
        models.load(models.Narrative, sm.input.narrative),
        stamp,
        get_vibe(sm.params.vibe),
        sm.params.title,
        sm.params.tagline,
        sm.params.length,
        fps=output_rate(stamp, sm.params.fps),
        music=models.load(models.MusicPlan, sm.input.music),
        music_file=sm.input.bed,
        snap=sm.params.snap,
        lines=story_lines(
            models.load(models.Dialogue, sm.input.dialogue).lines, models.load(models.Speech, sm.input.speech)
        ),
        voiceover=sm.params.voiceover,
    )
    models.save(manifest, sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
