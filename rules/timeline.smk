# The cut as a timeline for editors: OTIO, CMX 3600 EDL and FCP 7 XML of the manifest,
# and the vibe's grade as a .cube LUT to apply to the source clips.


localrules:
    timeline,


rule timeline:
    input:
        manifest=f"{RESULTS}/{{film}}/TRAILER_MANIFEST.json",
        stamp=f"{RESULTS}/{{film}}/source.json",
    output:
        otio=f"{RESULTS}/{{film}}/timeline/{{film}}.otio",
        edl=f"{RESULTS}/{{film}}/timeline/{{film}}.edl",
        xml=f"{RESULTS}/{{film}}/timeline/{{film}}.xml",
        lut=f"{RESULTS}/{{film}}/timeline/{{film}}.cube",
    log:
        "logs/timeline/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/timeline/{{film}}.tsv"
    conda:
        "../envs/media.yaml"
    params:
        film=get_film_path,
        fps=config["trailer"]["fps"],
    script:
        "../scripts/export_timeline.py"
