# Render the manifest, measure the result, deliver the main film's trailer.


rule conform:
    input:
        manifest=f"{RESULTS}/{{film}}/TRAILER_MANIFEST.json",
        stamp=f"{RESULTS}/{{film}}/source.json",
        bed=f"{RESULTS}/{{film}}/music.wav",
    output:
        trailer=f"{RESULTS}/{{film}}/trailer.mp4",
        stems=multiext(
            f"{RESULTS}/{{film}}/stems/",
            "dialogue.wav",
            "voiceover.wav",
            "music.wav",
            "sfx.wav",
        ),
    log:
        "logs/conform/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/conform/{{film}}.tsv"
    conda:
        "../envs/media.yaml"
    threads: 8
    resources:
        mem_mb=get_conform_mem_mb,
        runtime=60,
    params:
        segments=f"{RESULTS}/{{film}}/segments",
        width=config["trailer"]["width"],
        height=config["trailer"]["height"],
        fps=config["trailer"]["fps"],
        preset=config["trailer"]["preset"],
        font_dir=config["font_dir"],
    script:
        "../scripts/conform.py"


rule qc:
    input:
        trailer=f"{RESULTS}/{{film}}/trailer.mp4",
        manifest=f"{RESULTS}/{{film}}/TRAILER_MANIFEST.json",
        stamp=f"{RESULTS}/{{film}}/source.json",
        stems=multiext(
            f"{RESULTS}/{{film}}/stems/",
            "dialogue.wav",
            "voiceover.wav",
            "music.wav",
            "sfx.wav",
        ),
    output:
        f"{RESULTS}/{{film}}/qc.json",
    log:
        "logs/qc/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/qc/{{film}}.tsv"
    conda:
        "../envs/media.yaml"
    resources:
        mem_mb=500,
        runtime=10,
    params:
        width=config["trailer"]["width"],
        height=config["trailer"]["height"],
    script:
        "../scripts/qc.py"


localrules:
    deliver_trailer,
    gather_trailer,


# Delivery: copies made only after QC passed and the report figures and timeline exist. The main
# film's trailer goes to ./trailer.mp4 and trailers/<film>.mp4 in one job (so
# `snakemake trailer.mp4` leaves nothing for `rule all` to do); every other film's
# to trailers/<film>.mp4.
rule deliver_trailer:
    input:
        trailer=f"{RESULTS}/{MAIN_FILM}/trailer.mp4",
        qc=f"{RESULTS}/{MAIN_FILM}/qc.json",
        figures=f"{RESULTS}/{MAIN_FILM}/report/contact_sheet.png",
        timeline=f"{RESULTS}/{MAIN_FILM}/timeline/{MAIN_FILM}.otio",
    output:
        main="trailer.mp4",
        delivered=f"trailers/{MAIN_FILM}.mp4",
    log:
        "logs/deliver_trailer.log",
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/deliver.py"


rule gather_trailer:
    input:
        trailer=f"{RESULTS}/{{film}}/trailer.mp4",
        qc=f"{RESULTS}/{{film}}/qc.json",
        figures=f"{RESULTS}/{{film}}/report/contact_sheet.png",
        timeline=f"{RESULTS}/{{film}}/timeline/{{film}}.otio",
    output:
        "trailers/{film}.mp4",
    log:
        "logs/gather_trailer/{film}.log",
    wildcard_constraints:
        film=f"(?!{re.escape(MAIN_FILM)}$)[^/]+",
    conda:
        "../envs/media.yaml"
    script:
        "../scripts/deliver.py"
