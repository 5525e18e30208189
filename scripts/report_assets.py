"""Snakemake script: contact sheet, anchors timeline, QC table and the trailer for the report."""

from pathlib import Path

from cinecut import models, report
from cinecut.runner import run_script


def main(sm):
    manifest = models.load(models.Manifest, sm.input.manifest)
    qc = models.load(models.QCReport, sm.input.qc)
    report.contact_sheet(Path(sm.input.trailer), manifest, Path(sm.output.sheet))
    report.anchors_svg(models.load(models.Structure, sm.input.structure), manifest, Path(sm.output.timeline))
    report.qc_page(qc, Path(sm.output.qc))
    report.trailer_page(Path(sm.input.trailer), Path(sm.output.trailer), qc.duration)


run_script(snakemake, main)  # noqa: F821 - injected by Snakemake
