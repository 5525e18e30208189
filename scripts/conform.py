"""Snakemake script: render TRAILER_MANIFEST.json -> trailer.mp4."""

from cinecut import conform, models
from cinecut.manifest import load_manifest
from cinecut.runner import run_script


def main(sm):
    manifest = load_manifest(sm.input.manifest)
    stamp = models.load(models.Stamp, sm.input.stamp)
    conform.check_against_film(manifest, stamp, sm.input.manifest)
    fps = conform.output_rate(stamp, sm.params.fps)
    conform.render(
        manifest,
        stamp,
        sm.output[0],
        sm.params.width,
        sm.params.height,
        fps,
        preset=sm.params.preset,
        font_dir=sm.params.font_dir,
    )


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
