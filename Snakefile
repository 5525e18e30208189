# cinecut: a feature film in, a trailer out. Every stage is a file target.
# Stages (rules/*.smk): demo film -> source stamp + dialogue + speech -> analysis -> scene
# descriptions -> structure -> narrative -> music bed -> manifest -> conform -> QC -> report figures
# and the editor's timeline.
from snakemake.utils import min_version

min_version("9.27")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/source.smk"
include: "rules/speech.smk"
include: "rules/analysis.smk"
include: "rules/vision.smk"
include: "rules/story.smk"
include: "rules/music.smk"
include: "rules/conform.smk"
include: "rules/report.smk"
include: "rules/timeline.smk"


rule all:
    default_target: True
    input:
        get_final_output(),
