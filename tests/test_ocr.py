"""Dialogue from bitmap subtitle streams (issue 18): PGS, VobSub and DVB films made here
from known sentences (tests/bitmap_subtitles.py) are read back by OCR, word for word and
on time; a subtitle file or a text stream still wins; the language picks the stream."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from bitmap_subtitles import ENGLISH, GERMAN, Cue, cues, dvb_film, pgs_film, render, vobsub_film, word_accuracy
from conftest import copy_workflow, planned_jobs, snakemake
from PIL import Image

from cinecut import ocr
from cinecut.errors import CinecutError
from cinecut.subtitles import build_dialogue

# The times a bitmap is shown are stored to 1/90000 s in PGS and DVB, 1 ms in Matroska, and
# 1024/90000 s (11.4 ms) in a DVD subpicture's stop date: 20 ms (half a frame at 25 fps)
# holds them all, and a bitmap one frame early or late (40 ms) fails.
TIME_TOLERANCE = 0.02
CUES = cues(ENGLISH)  # 8 cues, 0.5 s to 20 s
DURATION = 21.0


@pytest.fixture(scope="module")
def films(tmp_path_factory) -> dict[str, Path]:
    """The same cues as PGS in Matroska, VobSub in Matroska and in MPEG-PS, DVB in MPEG-TS."""
    folder = tmp_path_factory.mktemp("bitmaps")
    made = {"pgs": pgs_film(folder / "pgs.mkv", [("eng", CUES)], duration=DURATION)}
    made["vobsub"] = vobsub_film(folder / "vobsub.mkv", CUES, duration=DURATION)
    made["vobsub_ps"] = vobsub_film(folder / "vobsub_ps.mpg", CUES, duration=DURATION)
    made["dvb"] = dvb_film(folder / "dvb.ts", made["vobsub"])
    return made


@pytest.mark.parametrize("kind", ["pgs", "vobsub", "vobsub_ps", "dvb"])
def test_bitmap_subtitles_read_word_for_word_on_time(films, kind):
    dialogue = build_dialogue(None, DURATION, films[kind])
    assert dialogue.origin == "ocr" and "OCR eng" in (dialogue.source or "")
    assert len(dialogue.lines) == len(CUES), [ln.text for ln in dialogue.lines]
    truth = " ".join(c.text for c in CUES)
    accuracy = word_accuracy(truth, " ".join(ln.text for ln in dialogue.lines))
    assert accuracy >= 0.95, (accuracy, [ln.text for ln in dialogue.lines])
    for cue, line in zip(CUES, dialogue.lines, strict=True):
        assert abs(line.start - cue.start) <= TIME_TOLERANCE, (cue, line)
        assert abs(line.end - cue.end) <= TIME_TOLERANCE, (cue, line)
        assert line.kind == "speech" and "\n" not in line.text


def test_a_subtitle_file_then_a_text_stream_win_over_ocr(tmp_path, films, monkeypatch):
    """OCR runs only when there is neither: a film with both a text and a bitmap stream
    gives the text stream's lines without starting Tesseract."""
    srt = tmp_path / "film.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nFrom the file.\n")
    both = tmp_path / "both.mkv"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(films["pgs"]), "-i", str(srt), "-map", "0:v", "-map", "0:s",
         "-map", "1:s", "-c", "copy", "-c:s:1", "srt", str(both)],
        check=True,
    )  # fmt: skip

    def no_ocr(*args, **kwargs):
        raise AssertionError("OCR ran although there were text subtitles")

    monkeypatch.setattr(ocr, "read_stream", no_ocr)
    from_file = build_dialogue(str(srt), DURATION, films["pgs"])
    assert from_file.origin == "file" and [ln.text for ln in from_file.lines] == ["From the file."]
    from_stream = build_dialogue(None, DURATION, both)
    assert from_stream.origin == "stream" and [ln.text for ln in from_stream.lines] == ["From the file."]


def _two_languages(path: Path) -> Path:
    return pgs_film(path, [("eng", cues(ENGLISH[:3])), ("ger", cues(GERMAN))], duration=8.0)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("", "eng"), ("ger", "ger"), ("de", "ger"), ("deu", "ger"), ("en", "eng"), ("fra", "eng")],
)
def test_the_subtitle_language_picks_the_stream(tmp_path, language, expected, caplog):
    film = _two_languages(tmp_path / "two.mkv")
    with caplog.at_level(logging.INFO, logger="cinecut"):
        dialogue = build_dialogue(None, 8.0, film, language=language)
    truth = " ".join(GERMAN if expected == "ger" else ENGLISH[:3])
    read = " ".join(ln.text for ln in dialogue.lines)
    # German is read with the English data when German's is not installed: umlauts may go.
    assert word_accuracy(truth, read) >= (0.95 if expected == "eng" else 0.7), read
    assert dialogue.language == expected
    if expected == "ger" and "deu" not in ocr._installed_languages():
        assert "no Tesseract language data for 'ger' (deu; install tesseract-ocr-deu)" in caplog.text
    if language == "fra":
        assert "no subtitle stream in 'fra'" in caplog.text


def test_unreadable_bitmaps_are_dropped_and_logged(tmp_path, caplog):
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 2, (60, 300), dtype=np.uint8) * 255
    blob = Image.fromarray(np.dstack([noise, noise, noise, noise]), "RGBA")
    film = pgs_film(tmp_path / "noise.mkv", [("eng", [Cue(0.5, 2.0, ENGLISH[0]), Cue(2.5, 4.0, "", blob)])], 5.0)
    with caplog.at_level(logging.INFO, logger="cinecut"):
        dialogue = build_dialogue(None, 5.0, film)
    assert [ln.text for ln in dialogue.lines] == [ENGLISH[0]]
    assert "dropped the bitmap at 2.50 s" in caplog.text
    assert "2 bitmaps, 1 lines (1 dropped as unreadable)" in caplog.text


def test_without_tesseract_one_line_says_what_to_install(tmp_path, films, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("ffmpeg", "ffprobe"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bin_dir))
    with pytest.raises(CinecutError) as err:
        build_dialogue(None, DURATION, films["pgs"])
    message = str(err.value)
    assert message.startswith(f"{films['pgs']}: ") and "\n" not in message
    assert "install tesseract-ocr and tesseract-ocr-eng" in message


@pytest.mark.parametrize("inverted", [False, True])
def test_prepared_bitmaps_have_dark_letters_on_white(inverted):
    """Whatever the palette (a DVD stream without one gets guessed greys, the outline may
    come out lighter than the letters), Tesseract gets dark letters on a white ground."""
    image = np.asarray(render("Hello", 30, 3))
    luma, alpha = image[..., 0].copy(), image[..., 3].copy()
    letters = (luma >= 200) & (alpha >= 200)  # the white fill, inside the outline
    if inverted:
        luma = 255 - luma
    prepared = np.asarray(ocr.prepare(luma, alpha))
    pad = ocr.PAD
    assert prepared[:pad].min() == 255 and prepared[-pad:].min() == 255, "a white margin"
    inside = np.asarray(Image.fromarray(prepared[pad:-pad, pad:-pad]).resize(luma.shape[::-1]))
    assert inside[letters].mean() < 100, "the letters are dark"
    assert inside[alpha == 0].mean() > 200, "the ground is light"


@pytest.mark.parametrize(
    ("tag", "code"),
    [("ger", "deu"), ("de", "deu"), ("de-AT", "deu"), ("deu", "deu"), ("fre", "fra"), ("pt_BR", "por"),
     ("und", None), ("", None), (None, None)],
)  # fmt: skip
def test_language_tags_normalise(tag, code):
    assert ocr.normalise_language(tag) == code


def test_tesseract_language_falls_back_to_english(caplog):
    assert ocr.tesseract_language("ger", {"eng", "deu"}) == "deu"
    assert ocr.tesseract_language("chi", {"eng", "chi_sim"}) == "chi_sim"
    with caplog.at_level(logging.INFO, logger="cinecut"):
        assert ocr.tesseract_language("fre", {"eng"}) == "eng"
        assert ocr.tesseract_language(None, {"eng"}) == "eng"
    assert "install tesseract-ocr-fra" in caplog.text


def test_the_dialogue_rule_reads_bitmaps_and_reruns_when_the_language_changes(tmp_path):
    work = copy_workflow(tmp_path / "w", film="films/two.mkv")
    (work / "films").mkdir()
    _two_languages(work / "films" / "two.mkv")
    snakemake(work, "results/two/dialogue.json")
    written = json.loads((work / "results/two/dialogue.json").read_text())
    assert written["origin"] == "ocr" and written["language"] == "eng"
    assert word_accuracy(" ".join(ENGLISH[:3]), " ".join(ln["text"] for ln in written["lines"])) >= 0.95
    assert "mean OCR confidence" in (work / "logs/dialogue/two.log").read_text()
    assert planned_jobs(snakemake(work, "-n", "results/two/dialogue.json")) == {}
    again = snakemake(work, "-n", "results/two/dialogue.json", "--config", "subtitle_language=ger")
    assert planned_jobs(again) == {"dialogue": 1}, "a new language re-reads the dialogue, nothing before it"
    assert "Params have changed" in again.stdout + again.stderr
