# The source stamp (film identity) and the parsed dialogue.


# The stamp is a quick read: it runs beside Snakemake, never queued on a cluster. The
# dialogue may OCR a film's bitmap subtitles, so it is a job of its own (it feeds the
# analysis too, so it cannot join the story group).
localrules:
    stamp,


rule stamp:
    input:
        get_stamp_input,
    output:
        f"{RESULTS}/{{film}}/source.json",
    log:
        "logs/stamp/{film}.log",
    conda:
        "../envs/media.yaml"
    params:
        film=get_film_path,
        signature=get_film_signature,
    script:
        "../scripts/stamp.py"


rule dialogue:
    input:
        unpack(get_subtitles),
        stamp=f"{RESULTS}/{{film}}/source.json",
    output:
        f"{RESULTS}/{{film}}/dialogue.json",
    log:
        "logs/dialogue/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/dialogue/{{film}}.tsv"
    conda:
        "../envs/story.yaml"
    # Bitmap subtitles are read by OCR, one tesseract process per thread (~0.3 s a
    # bitmap: a feature's 1,500 take minutes, so this runs as a job, not on the head node).
    threads: 2
    resources:
        mem_mb=1000,
        runtime=60,
    params:
        language=config["subtitle_language"],
    script:
        "../scripts/parse_dialogue.py"
