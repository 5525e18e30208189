# The source stamp (film identity) and the parsed dialogue.


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
    group:
        "story"
    conda:
        "../envs/story.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../scripts/parse_dialogue.py"
