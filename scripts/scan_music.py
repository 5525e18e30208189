"""Snakemake script: the music folder -> music_library.json (tempo and beats per track)."""

from cinecut import models, music
from cinecut.runner import run_script


def main(sm):
    library = music.scan_library(sm.params.folder)
    models.save(library, sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
