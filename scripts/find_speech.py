"""Snakemake script: where people speak in the film's sound -> speech.json."""

from cinecut import models
from cinecut.runner import run_script
from cinecut.speech import Settings, find_speech


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    models.save(find_speech(stamp, Settings.from_config(sm.params.settings)), sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
