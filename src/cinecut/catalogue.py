"""The films a run makes trailers of: the main film (config `film`, or the demo), every
film `film_glob` matches, and every row of the film sheet. rules/common.smk turns the
catalogue into the DAG; this module holds the rules of it, testable without Snakemake."""

from __future__ import annotations

import csv
import glob
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from .source import FILM_SUFFIXES, SUBTITLE_SUFFIXES

#: The demo: a film, its subtitles and ground truth, made by a rule (rules/demo.smk).
DEMO = {
    "film": "resources/demo/demo.mp4",
    "subtitles": "resources/demo/demo.srt",
    "truth": "resources/demo/demo.truth.json",
    "title": "The Keeper",
}
SHEET_COLUMNS = ("film", "subtitles", "vibe", "title", "tagline", "length")


class CatalogueError(ValueError):
    """A film list that cannot be read; the message names the file (and line)."""


@dataclass(frozen=True)
class Film:
    film: str
    subtitles: str  # "" for none
    vibe: str
    title: str
    tagline: str
    length: float  # target trailer length, seconds (0: the vibe's)

    @property
    def name(self) -> str:
        """The film's name in results/, trailers/ and the wildcards: its file name's stem."""
        return Path(self.film).stem


def film_entry(
    config: Mapping[str, Any], film: str, subtitles: str = "", vibe: str = "", title: str = "", tagline: str = "",
    length: str = "",
) -> Film:  # fmt: skip
    """A film with the config's values where its own are empty; the title defaults to the
    file's name, words split at `_` and `-`."""
    stem = Path(film).stem
    return Film(
        film=film,
        subtitles=subtitles,
        vibe=vibe or config["vibe"],
        title=title or config["title"] or stem.replace("_", " ").replace("-", " ").title(),
        tagline=tagline or config["tagline"],
        length=float(length) if length else config["trailer"]["length"],
    )


def read_sheet(path: str | Path, schema: Mapping[str, Any]) -> list[dict[str, str]]:
    """Rows of the film sheet (TSV), each checked against `schema` (sheet.schema.yaml).

    One validator for the whole sheet (not one schema load per row: that was a third of
    `snakemake -n` on 1,000 films); errors name the sheet, the row and the field."""
    validator = jsonschema.validators.validator_for(schema)(schema)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CatalogueError(f"{path}: cannot read the film sheet ({exc})") from exc
    for number, row in enumerate(rows, start=2):
        for error in validator.iter_errors(row):
            field = ".".join(map(str, error.path)) or "row"
            raise CatalogueError(f"{path}: line {number}: {field}: {error.message}")
    return [{k: row.get(k) or "" for k in SHEET_COLUMNS} for row in rows]


def glob_films(pattern: str) -> Iterator[tuple[str, str]]:
    """Films matching `pattern` (`**` spans folders), each with the first subtitles beside
    it that share its name (in the order of SUBTITLE_SUFFIXES), or ""."""
    films = [path for path in sorted(glob.glob(pattern, recursive=True)) if Path(path).suffix.lower() in FILM_SUFFIXES]
    if not films:
        kinds = ", ".join(suffix[1:] for suffix in FILM_SUFFIXES)
        raise CatalogueError(f"config film_glob: {pattern}: no film matches ({kinds})")
    for film in films:
        beside = (Path(film).with_suffix(s) for s in SUBTITLE_SUFFIXES)
        yield film, next((str(p) for p in beside if p.is_file()), "")


def read_films(config: Mapping[str, Any], sheet_schema: Mapping[str, Any]) -> tuple[dict[str, Film], str]:
    """Every film of the run by name, and the main film's name. Two films of one name
    (in different folders) are refused: their results would overwrite each other."""
    main = config["film"] or DEMO["film"]
    subtitles = config["subtitles"] if config["film"] else DEMO["subtitles"]
    demo_title = "" if config["film"] else config["title"] or DEMO["title"]
    entries = [film_entry(config, main, subtitles, title=demo_title)]
    if config["film_glob"]:
        entries += [film_entry(config, film, subs) for film, subs in glob_films(config["film_glob"])]
    if config["sheet"]:
        entries += [film_entry(config, **row) for row in read_sheet(config["sheet"], sheet_schema)]
    films: dict[str, Film] = {}
    for entry in entries:
        known = films.get(entry.name)
        if known is not None and known.film != entry.film:
            raise CatalogueError(f"{entry.film}: another film has the same name ({known.film}); rename one")
        films[entry.name] = entry
    return films, Path(main).stem
