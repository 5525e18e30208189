# Scene descriptions per keyframe: the most expensive target, cached in msgpack.


rule scenedesc:
    input:
        stamp=f"{RESULTS}/{{film}}/source.json",
        analysis=f"{RESULTS}/{{film}}/analysis.json",
        keyframes=f"{RESULTS}/{{film}}/keyframes",
    output:
        f"{RESULTS}/{{film}}/{{film}}.scenedesc.msgpack",
    log:
        "logs/scenedesc/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/scenedesc/{{film}}.tsv"
    conda:
        "../envs/story.yaml"
    resources:
        gpu=get_model_gpu(config["vision"]["backend"]),
        mem_mb=1000,
        runtime=120,
    params:
        backend=config["vision"]["backend"],
        repair=get_scenedesc_repair,
    script:
        "../scripts/describe_scenes.py"
