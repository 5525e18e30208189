# The music bed per film: a track of the user's music folder (tempo found once per
# folder) or a bed synthesised for the vibe; its beats on the trailer timeline.


rule music_library:
    output:
        f"{RESULTS}/music_library.json",
    log:
        "logs/music_library.log",
    benchmark:
        f"{RESULTS}/benchmarks/music_library.tsv"
    conda:
        "../envs/story.yaml"
    resources:
        mem_mb=1500,
        runtime=30,
    params:
        folder=config["music"]["folder"],
        signature=get_music_signature,
    script:
        "../scripts/scan_music.py"


rule music:
    input:
        unpack(get_music_library),
        stamp=f"{RESULTS}/{{film}}/source.json",
    output:
        plan=f"{RESULTS}/{{film}}/music.json",
        bed=f"{RESULTS}/{{film}}/music.wav",
    log:
        "logs/music/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/music/{{film}}.tsv"
    group:
        "story"
    conda:
        "../envs/story.yaml"
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        vibe=get_vibe_name,
        length=get_length,
        folder=config["music"]["folder"],
    script:
        "../scripts/plan_music.py"
