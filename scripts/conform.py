"""Snakemake script: render TRAILER_MANIFEST.json -> trailer.mp4."""

from pathlib import Path

from cinecut import conform, models, placement
from cinecut.runner import run_script


def main(sm):
    manifest = models.load(models.Manifest, sm.input.manifest)
    stamp = models.load(models.Stamp, sm.input.stamp)
    conform.check_against_film(manifest, stamp, sm.input.manifest)
    fps = placement.output_rate(stamp, sm.params.fps)
    width, height = placement.output_size(stamp, sm.params.width, sm.params.height)
    conform.render(
        manifest,
        stamp,
        sm.output.trailer,
        width,
        height,
        fps,
        preset=sm.params.preset,
        font_dir=sm.params.font_dir,
        stems_dir=Path(sm.output.stems[0]).parent,
        cache_dir=sm.params.segments,
        threads=sm.threads,
    )


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
