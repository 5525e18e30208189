# The source stamp (film identity) and the parsed dialogue.


# Both are quick reads of small files: run beside Snakemake, never queued on a cluster.
# (The dialogue feeds the analysis too, so it cannot join the story group.)
localrules:
    stamp,
    dialogue,


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
    conda:
        "../envs/story.yaml"
    script:
        "../scripts/parse_dialogue.py"
