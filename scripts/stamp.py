"""Snakemake script: write the film's source stamp (mtime, size, probe)."""

from cinecut import models
from cinecut.runner import run_script
from cinecut.source import make_stamp


def main(sm):
    models.save(make_stamp(sm.params.film), sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
