# Scene descriptions per keyframe: the most expensive target, journaled frame by frame. The
# journal stays: a rerun asks the model only for keyframes it has not answered well.


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
        "../envs/models.yaml"
    threads: get_model_threads(config["vision"])
    resources:
        gpu=get_model_gpu(config["vision"]["backend"]),
        mem_mb=get_model_mem_mb(config["vision"]),
        runtime=120,
    params:
        backend=config["vision"]["backend"],
        model=get_vision_model,
        prompt=get_vision_prompt,
        repair=get_scenedesc_repair,
        journal=lambda wildcards, output: f"{output[0]}.journal",
    script:
        "../scripts/describe_scenes.py"
