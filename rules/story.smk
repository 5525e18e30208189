# Structure anchors, scored candidate clips, and the editable cut plan.


rule structure:
    input:
        analysis=f"{RESULTS}/{{film}}/analysis.json",
        scenedesc=f"{RESULTS}/{{film}}/{{film}}.scenedesc.msgpack",
        dialogue=f"{RESULTS}/{{film}}/dialogue.json",
    output:
        f"{RESULTS}/{{film}}/structure.json",
    log:
        "logs/structure/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/structure/{{film}}.tsv"
    group:
        "story"
    conda:
        "../envs/models.yaml"
    threads: get_model_threads(config["structure"])
    resources:
        gpu=get_model_gpu(config["structure"]["backend"]),
        mem_mb=get_model_mem_mb(config["structure"]),
        runtime=30,
    params:
        backend=config["structure"]["backend"],
        model=get_structure_model,
        prompt=get_structure_prompt,
    script:
        "../scripts/find_structure.py"


rule narrative:
    input:
        analysis=f"{RESULTS}/{{film}}/analysis.json",
        scenedesc=f"{RESULTS}/{{film}}/{{film}}.scenedesc.msgpack",
        dialogue=f"{RESULTS}/{{film}}/dialogue.json",
        speech=f"{RESULTS}/{{film}}/speech.json",
        structure=f"{RESULTS}/{{film}}/structure.json",
    output:
        f"{RESULTS}/{{film}}/narrative.json",
    log:
        "logs/narrative/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/narrative/{{film}}.tsv"
    group:
        "story"
    conda:
        "../envs/story.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        vibe=get_vibe_name,
        meaning=get_zone_meaning,
    script:
        "../scripts/build_narrative.py"


rule manifest:
    input:
        narrative=f"{RESULTS}/{{film}}/narrative.json",
        stamp=f"{RESULTS}/{{film}}/source.json",
        dialogue=f"{RESULTS}/{{film}}/dialogue.json",
        speech=f"{RESULTS}/{{film}}/speech.json",
        music=f"{RESULTS}/{{film}}/music.json",
        bed=f"{RESULTS}/{{film}}/music.wav",
    output:
        f"{RESULTS}/{{film}}/TRAILER_MANIFEST.json",
    log:
        "logs/manifest/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/manifest/{{film}}.tsv"
    group:
        "story"
    conda:
        "../envs/story.yaml"
    resources:
        mem_mb=500,
        runtime=5,
    params:
        vibe=get_vibe_name,
        title=get_title,
        tagline=get_tagline,
        length=get_length,
        fps=config["trailer"]["fps"],
        snap=config["music"]["snap"],
        voiceover=config["sound"]["voiceover"],
    script:
        "../scripts/write_manifest.py"
