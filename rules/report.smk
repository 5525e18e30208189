# Figures for `snakemake --report report.html`.


rule report_assets:
    input:
        trailer=f"{RESULTS}/{{film}}/trailer.mp4",
        manifest=f"{RESULTS}/{{film}}/TRAILER_MANIFEST.json",
        structure=f"{RESULTS}/{{film}}/structure.json",
        qc=f"{RESULTS}/{{film}}/qc.json",
    output:
        sheet=report(
            f"{RESULTS}/{{film}}/report/contact_sheet.png",
            caption="../report/contact_sheet.rst",
            category="{film}",
            labels={"film": "{film}", "figure": "chosen shots per act"},
        ),
        timeline=report(
            f"{RESULTS}/{{film}}/report/anchors.svg",
            caption="../report/anchors.rst",
            category="{film}",
            labels={"film": "{film}", "figure": "story anchors"},
        ),
        qc=report(
            f"{RESULTS}/{{film}}/report/qc.html",
            caption="../report/qc.rst",
            category="{film}",
            labels={"film": "{film}", "figure": "QC"},
        ),
        trailer=report(
            f"{RESULTS}/{{film}}/report/trailer.html",
            caption="../report/trailer.rst",
            category="{film}",
            labels={"film": "{film}", "figure": "trailer"},
        ),
    log:
        "logs/report_assets/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/report_assets/{{film}}.tsv"
    conda:
        "../envs/media.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    script:
        "../scripts/report_assets.py"
