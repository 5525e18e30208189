"""Snakemake script: TRAILER_MANIFEST.json -> timeline/{film}.otio, .edl, .xml, .cube."""

from cinecut import grade, models, timeline
from cinecut.placement import output_rate
from cinecut.runner import run_script
from cinecut.vibes import get_vibe


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    manifest = models.load(models.Manifest, sm.input.manifest)
    cut = timeline.build_timeline(manifest, stamp, sm.params.film, output_rate(stamp, sm.params.fps))
    timeline.write_timeline(cut, sm.output.otio, sm.output.edl, sm.output.xml)
    vibe = get_vibe(manifest.vibe)
    grade.write_cube(vibe.grade, sm.output.lut, title=f"cinecut {vibe.name}")


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
