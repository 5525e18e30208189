# The two commands of the README: `make demo` and `make test`. Both install first.
.PHONY: setup models embeddings dev demo test lint clean

setup:
	./tools/setup.sh

models:
	./tools/setup.sh --models

embeddings:
	./tools/setup.sh --embeddings

dev:
	./tools/setup.sh --dev

demo: setup
	.venv/bin/snakemake --cores 4 trailer.mp4

test: dev
	.venv/bin/pytest -v

lint: dev
	.venv/bin/snakemake --lint
	.venv/bin/snakefmt --check Snakefile rules/*.smk
	.venv/bin/ruff check src scripts tests benchmarks tools
	.venv/bin/ruff format --check src scripts tests benchmarks tools

clean:
	rm -rf results resources logs .snakemake trailer.mp4
