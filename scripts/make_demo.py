"""Snakemake script: render the demo film, its subtitles and ground truth."""

from cinecut.demo import build_demo
from cinecut.runner import run_script


def main(sm):
    build_demo(
        sm.output.film,
        sm.output.subtitles,
        sm.output.truth,
        duration=sm.params.duration,
        width=sm.params.width,
        height=sm.params.height,
        fps=sm.params.fps,
    )


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
