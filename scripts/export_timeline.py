"""Snakemake script: TRAILER_MANIFEST.json -> timeline/{film}.otio, .edl, .xml."""

from cinecut import models, timeline
from cinecut.conform import output_rate
from cinecut.manifest import load_manifest
from cinecut.runner import run_script


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    manifest = load_manifest(sm.input.manifest)
    cut = timeline.build_timeline(manifest, stamp, sm.params.film, output_rate(stamp, sm.params.fps))
    timeline.write_timeline(cut, sm.output.otio, sm.output.edl, sm.output.xml)


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
