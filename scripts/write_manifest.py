"""Snakemake script: choose the cut -> TRAILER_MANIFEST.json."""

from cinecut import models
from cinecut.manifest import plan_manifest
from cinecut.runner import run_script
from cinecut.vibes import get_vibe


def main(sm):
    manifest = plan_manifest(
        models.load(models.Narrative, sm.input.narrative),
        models.load(models.Stamp, sm.input.stamp),
        get_vibe(sm.params.vibe),
        sm.params.title,
        sm.params.tagline,
        sm.params.length,
    )
    models.save(manifest, sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
