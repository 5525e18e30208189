# One decode pass: shots, per-shot signals, keyframes (also where lines are said in long
# shots: new subtitles re-analyse the film).


rule analysis:
    input:
        stamp=f"{RESULTS}/{{film}}/source.json",
        dialogue=f"{RESULTS}/{{film}}/dialogue.json",
    output:
        analysis=f"{RESULTS}/{{film}}/analysis.json",
        keyframes=directory(f"{RESULTS}/{{film}}/keyframes"),
    log:
        "logs/analysis/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/analysis/{{film}}.tsv"
    conda:
        "../envs/media.yaml"
    threads: 2
    resources:
        mem_mb=1500,
        runtime=60,
    script:
        "../scripts/analyse.py"
