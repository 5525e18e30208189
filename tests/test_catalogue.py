"""The film catalogue without Snakemake: the main film or the demo, a folder glob with the
subtitles beside each film, the sheet with its defaults and its errors, one name per film."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO

from cinecut.catalogue import DEMO, CatalogueError, read_films

SHEET_SCHEMA = yaml.safe_load((REPO / "schemas" / "sheet.schema.yaml").read_text())


def config(**values) -> dict:
    base = {"film": "", "subtitles": "", "vibe": "thriller", "title": "", "tagline": "", "film_glob": "", "sheet": ""}
    return {**base, "trailer": {"length": 0}, **values}


def test_without_a_film_the_demo_is_the_main_film():
    films, main = read_films(config(), SHEET_SCHEMA)
    assert main == "demo" and list(films) == ["demo"]
    demo = films["demo"]
    assert (demo.film, demo.subtitles, demo.title, demo.vibe) == (
        DEMO["film"],
        DEMO["subtitles"],
        "The Keeper",
        "thriller",
    )


def test_a_film_is_titled_from_its_name_unless_the_config_says():
    films, main = read_films(config(film="films/the_last-lighthouse.mkv"), SHEET_SCHEMA)
    assert main == "the_last-lighthouse" and films[main].title == "The Last Lighthouse"
    assert films[main].subtitles == ""  # a film the user names brings no demo subtitles
    films, _ = read_films(config(film="films/x.mkv", title="Keeper", tagline="Wait."), SHEET_SCHEMA)
    assert (films["x"].title, films["x"].tagline) == ("Keeper", "Wait.")


def test_a_glob_finds_films_and_the_subtitles_beside_them(tmp_path):
    for name in ("a/one.mkv", "a/one.srt", "b/two.MP4", "b/two.vtt", "b/two.ass", "b/notes.txt", "three.webm"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    films, main = read_films(config(film=str(tmp_path / "three.webm"), film_glob=f"{tmp_path}/**/*"), SHEET_SCHEMA)
    assert main == "three" and sorted(films) == ["one", "three", "two"]
    assert films["one"].subtitles == str(tmp_path / "a/one.srt")
    assert films["two"].subtitles == str(tmp_path / "b/two.ass")  # .ass comes before .vtt
    assert films["three"].subtitles == ""
    with pytest.raises(CatalogueError, match=r"config film_glob: .*/\*\.mkv: no film matches \(mkv, mp4"):
        read_films(config(film_glob=f"{tmp_path}/none/*.mkv"), SHEET_SCHEMA)


def test_empty_sheet_cells_take_the_config_values(tmp_path):
    sheet = tmp_path / "films.tsv"
    sheet.write_text(
        "film\tsubtitles\tvibe\ttitle\ttagline\tlength\n"
        "films/one.mkv\t\t\t\t\t\n"
        "films/two.mp4\tfilms/two.srt\tcomedy\tTwo\tHa.\t45\n"
    )
    films, _ = read_films(config(sheet=str(sheet), tagline="Soon."), SHEET_SCHEMA)
    one, two = films["one"], films["two"]
    assert (one.subtitles, one.vibe, one.title, one.tagline, one.length) == ("", "thriller", "One", "Soon.", 0)
    assert (two.subtitles, two.vibe, two.title, two.tagline, two.length) == (
        "films/two.srt",
        "comedy",
        "Two",
        "Ha.",
        45.0,
    )


@pytest.mark.parametrize(
    "rows, message",
    [
        ("films/one.mkv\t\tnoir\t\t\t\n", r"films.tsv: line 2: vibe: 'noir' is not valid"),
        ("films/one.mkv\t\t\t\t\t\nfilms/two.mkv\t\t\t\t\tlong\n", r"films.tsv: line 3: length: 'long' is not valid"),
        ("\t\t\t\t\t\n", r"films.tsv: line 2: film: '' should be non-empty"),
    ],
)
def test_a_bad_sheet_row_is_named_by_line_and_field(tmp_path, rows, message):
    sheet = tmp_path / "films.tsv"
    sheet.write_text("film\tsubtitles\tvibe\ttitle\ttagline\tlength\n" + rows)
    with pytest.raises(CatalogueError, match=message):
        read_films(config(sheet=str(sheet)), SHEET_SCHEMA)


def test_an_unreadable_sheet_and_two_films_of_one_name_are_refused(tmp_path):
    with pytest.raises(CatalogueError, match=r"missing.tsv: cannot read the film sheet"):
        read_films(config(sheet=str(tmp_path / "missing.tsv")), SHEET_SCHEMA)
    sheet = tmp_path / "films.tsv"
    sheet.write_text("film\nsummer/film.mkv\nwinter/film.mkv\n")
    with pytest.raises(CatalogueError, match=r"winter/film.mkv: another film has the same name \(summer/film.mkv\)"):
        read_films(config(sheet=str(sheet)), SHEET_SCHEMA)
    sheet.write_text("film\nsummer/film.mkv\nsummer/film.mkv\n")  # the same film twice is one film
    assert list(read_films(config(sheet=str(sheet)), SHEET_SCHEMA)[0]) == ["demo", "film"]
