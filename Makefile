# The two commands of the README: `make demo` and `make test`. Both install first.
.PHONY: setup demo test lint clean

setup:
	./tools/setup.sh

demo: setup
	.venv/bin/snakemake --cores 4 trailer.mp4

test: setup
	.venv/bin/pytest -v

lint: setup
	.venv/bin/snakemake --lint
	.venv/bin/snakefmt --check Snakefile rules/*.smk
	.venv/bin/ruff check src scripts tests benchmarks tools
	.venv/bin/ruff format --check src scripts tests benchmarks tools

clean:
	rm -rf results resources logs .snakemake trailer.mp4
