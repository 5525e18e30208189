"""Snakemake script: subtitles (the file, else the film's own subtitle stream: text, or
bitmaps read by OCR) to dialogue lines with emotion labels."""

from cinecut import models
from cinecut.runner import run_script
from cinecut.subtitles import build_dialogue


def main(sm):
    stamp = models.load(models.Stamp, sm.input.stamp)
    dialogue = build_dialogue(
        sm.input.get("subtitles"), stamp.duration, stamp.film, language=sm.params.language, workers=sm.threads
    )
    models.save(dialogue, sm.output[0])


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
