"""Snakemake script: copy a checked trailer to where it is delivered.

A copy, not a hard link: a link shares the source's mtime, which is older than
qc.json, and Snakemake would plan this job again on every run.
"""

import shutil

from cinecut import atomic
from cinecut.runner import run_script


def main(sm):
    for target in sm.output:
        with atomic.atomic_path(target) as tmp:
            shutil.copyfile(sm.input.trailer, tmp)


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
