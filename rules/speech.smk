# Where people speak: voice activity in the film's sound, once per film. The narrative and
# the manifest treat its regions like subtitle lines; the analysis does not read it.


rule speech:
    input:
        stamp=f"{RESULTS}/{{film}}/source.json",
    output:
        f"{RESULTS}/{{film}}/speech.json",
    log:
        "logs/speech/{film}.log",
    benchmark:
        f"{RESULTS}/benchmarks/speech/{{film}}.tsv"
    conda:
        "../envs/media.yaml"
    resources:
        mem_mb=400,
        runtime=30,
    params:
        model=get_speech_model,
        settings=config["speech"],
    script:
        "../scripts/find_speech.py"
