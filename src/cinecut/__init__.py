"""cinecut: feature film in, trailer out, as a Snakemake DAG of file targets."""

__version__ = "0.1.0"
