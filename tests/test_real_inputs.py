"""Inputs as real films and real subtitles bring them (issue 17): SDH sound descriptions,
lyrics and speaker labels are not dialogue; a full film's subtitles given with an excerpt
say so; an empty config value or sheet cell means none (or the default)."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import copy_workflow, planned_jobs, snakemake
from test_story import synthetic_film

from cinecut import models
from cinecut.errors import CinecutError
from cinecut.story import build_narrative, heuristic_structure, shot_intensity
from cinecut.subtitles import clean_text, parse_subtitles, split_cue
from cinecut.vibes import VIBES

MEDIA = Path(__file__).parent / "media"


@pytest.mark.parametrize(
    "cue, said, kind",
    [
        ("[barking and roaring]", "[barking and roaring]", "sound"),
        ("(door slams)", "(door slams)", "sound"),
        ("(SIREN WAILING)", "(SIREN WAILING)", "sound"),
        ("<i>(thunder rumbling)</i>", "(thunder rumbling)", "sound"),
        ("[gunfire continues]\n[man screaming]", "[gunfire continues] [man screaming]", "sound"),
        ("♪ Hush, little baby, don't say a word ♪", "♪ Hush, little baby, don't say a word ♪", "sound"),
        ("♪ Mama's gonna buy you\na mockingbird", "♪ Mama's gonna buy you a mockingbird", "sound"),
        ("♪ ♪", "♪ ♪", "sound"),
        ("# Singing in the rain #", "# Singing in the rain #", "sound"),
        ("JOHN: Get down!", "Get down!", "speech"),
        ("- MAN: Over here!\n- WOMAN: Where?", "- Over here! - Where?", "speech"),
        ("MAN (ON RADIO): Mayday, mayday.", "Mayday, mayday.", "speech"),
        ("DR. O'BRIEN: Hold still.", "Hold still.", "speech"),
        ("[gunshots]\nGet down!", "Get down!", "speech"),
        ("(whispering) I know where it is.", "I know where it is.", "speech"),
        ("[Thom] Celia!", "Celia!", "speech"),
        ("Listen: we go at dawn.", "Listen: we go at dawn.", "speech"),  # not a label: not in capitals
        ("10:30. Be there.", "10:30. Be there.", "speech"),
        ("Wait... (sighs) fine.", "Wait... fine.", "speech"),
    ],
)
def test_sdh_cues_split_into_speech_and_sound(cue, said, kind):
    assert split_cue(cue) == (said, kind)


@pytest.mark.parametrize("name", ["tears_of_steel.nl.vtt", "tears_of_steel.fa.vtt"])
def test_real_subtitles_stay_speech_word_for_word(name):
    """Plain subtitles (Dutch; Persian, whose parentheses are mirrored) are all speech, unchanged."""
    import pysubs2

    lines = parse_subtitles(MEDIA / name)
    cues = [c for c in pysubs2.load(str(MEDIA / name)) if c.plaintext.strip()]  # the Persian has 4 empty cues
    assert len(lines) == len(cues) > 65
    assert {ln.kind for ln in lines} == {"speech"}
    assert [ln.text for ln in lines] == [clean_text(c.plaintext) for c in cues]


SDH = """1
00:00:01,000 --> 00:00:02,500
[birds chirping]

2
00:00:03,000 --> 00:00:05,000
JOHN: Did you hear that?

3
00:00:06,000 --> 00:00:07,000
[explosion]

4
00:00:08,000 --> 00:00:10,000
♪ Hush, little baby ♪
"""


def test_sound_cues_are_marked_and_loud_ones_are_intense(tmp_path):
    path = tmp_path / "sdh.srt"
    path.write_text(SDH, encoding="utf-8")
    lines = parse_subtitles(path, film_duration=60)
    assert [(ln.text, ln.kind) for ln in lines] == [
        ("[birds chirping]", "sound"),
        ("Did you hear that?", "speech"),
        ("[explosion]", "sound"),
        ("♪ Hush, little baby ♪", "sound"),
    ]
    quiet, _, loud, _ = lines
    assert loud.intensity >= 0.75 > quiet.intensity
    back = models.Dialogue.model_validate_json(models.Dialogue(source=str(path), lines=lines).model_dump_json())
    assert [ln.kind for ln in back.lines] == [ln.kind for ln in lines]


def _as(dialogue: models.Dialogue, kind: str, text: str | None = None) -> models.Dialogue:
    lines = [ln.model_copy(update={"kind": kind, "text": text or ln.text}) for ln in dialogue.lines]
    return dialogue.model_copy(update={"lines": lines})


def test_a_clip_carries_speech_never_a_sound_cue():
    """The same cues, once as lines and once as sound descriptions: only lines are carried,
    scored as dialogue or protected from being cut; sound cues still raise intensity."""
    analysis, scenes, dialogue = synthetic_film(600, 200, 420, 530)
    structure = heuristic_structure(analysis, scenes, dialogue)
    spoken = build_narrative(analysis, scenes, dialogue, structure, VIBES["drama"])
    sounds = build_narrative(analysis, scenes, _as(dialogue, "sound", "[explosion]"), structure, VIBES["drama"])
    assert sum(c.dialogue is not None for c in spoken.candidates) >= 10
    assert all(c.dialogue is None for c in sounds.candidates)
    assert all(c.film_audio for c in sounds.candidates), "a sound cue is no line to keep whole"
    assert not any(r.startswith("dialogue") for c in sounds.candidates for r in c.reasons)
    shot = next(s for s in analysis.shots if any(s.start <= ln.start < s.end for ln in dialogue.lines))
    bang = _as(dialogue, "sound", "[explosion]").lines
    assert shot_intensity(shot, 0.2, bang) > shot_intensity(shot, 0.2, [])


def test_the_story_begins_at_the_first_line_not_the_first_sound():
    analysis, scenes, dialogue = synthetic_film(600, 200, 420, 530)
    first = dialogue.lines[0]
    late = [ln.model_copy(update={"start": ln.start + 90, "end": ln.end + 90}) for ln in dialogue.lines[:1]]
    birds = first.model_copy(update={"text": "[birds chirping]", "kind": "sound", "start": 2.0, "end": 4.0})
    with_birds = models.Dialogue(source="x.srt", lines=[birds, *late])
    begin = heuristic_structure(analysis, scenes, with_birds).begin
    assert begin == pytest.approx(late[0].start - 1.0), begin


def test_subtitles_of_the_whole_film_with_an_excerpt_say_so():
    """Tears of Steel's cues run from 23 s to 567 s: a 10 s excerpt holds none of them."""
    path = MEDIA / "tears_of_steel.nl.vtt"
    with pytest.raises(CinecutError) as err:
        parse_subtitles(path, film_duration=10.0)
    message = str(err.value)
    assert message.startswith(str(path)), message
    assert "no cue falls inside the film: the first cue is at 23.0 s, the film ends at 10.0 s" in message
    assert "do not parse" not in message
    assert [ln.start for ln in parse_subtitles(path, film_duration=30.0)] == [23.0, 25.0, 27.0]


# ---------------------------------------------------------------- empty means none

KEYS = ["film", "subtitles", "subtitle_language", "vibe", "title", "tagline", "sheet", "film_glob", "models_dir"]
KEYS += ["font_dir", "results"]
# The real Snakefile, included by a probe that prints what the workflow made of the config.
PROBE = f"""import dataclasses
import json


include: "Snakefile"


films = {{name: dataclasses.asdict(film) for name, film in FILMS.items()}}
print("PROBE " + json.dumps({{"films": films, "config": {{k: config[k] for k in {KEYS!r}}}}}))
"""


def _film(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x36:d=1", "-c:v", "libx264", "-preset",
         "ultrafast", str(path)],
        check=True,
    )  # fmt: skip


def _plan(work: Path, *args: str) -> tuple[dict, dict]:
    """`snakemake -n` of the real workflow, included by a probe that prints what it parsed."""
    (work / "probe.smk").write_text(PROBE)
    proc = snakemake(work, "-s", "probe.smk", "-n", "all", *args)  # an included default_target is not the default
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("PROBE "))
    return json.loads(line[len("PROBE ") :]), planned_jobs(proc)


def test_empty_config_values_on_the_command_line_mean_none(tmp_path):
    work = copy_workflow(tmp_path / "w", film="films/night_train.mp4", subtitles="films/night_train.srt")
    _film(work / "films/night_train.mp4")
    (work / "films/night_train.srt").write_text("1\n00:00:00,100 --> 00:00:00,900\nAll aboard!\n")
    parsed, jobs = _plan(
        work, "--config", "subtitles=", "subtitle_language=", "title=", "tagline=", "models_dir=", "font_dir="
    )
    assert parsed["config"]["subtitles"] == parsed["config"]["title"] == parsed["config"]["tagline"] == ""
    assert parsed["config"]["subtitle_language"] == ""
    film = parsed["films"]["night_train"]
    assert film["subtitles"] == "", "an empty subtitles= is no subtitles, not config.yaml's file"
    assert film["title"] == "Night Train", "the default title: the film's name"
    assert film["tagline"] == ""
    assert jobs.get("dialogue") == 1 and jobs.get("conform") == 1, jobs


def test_empty_values_in_config_yaml_and_the_sheet_mean_the_defaults(tmp_path):
    work = copy_workflow(
        tmp_path / "w",
        film="films/night_train.mp4",
        subtitles=None,
        vibe=None,
        title=None,
        tagline=None,
        subtitle_language=None,
        film_glob=None,
        models_dir=None,
        font_dir=None,
        results=None,
        sheet="films.tsv",
    )
    assert "title: null" in (work / "config.yaml").read_text()
    _film(work / "films/night_train.mp4")
    shutil.copy2(work / "films/night_train.mp4", work / "films/the-last-ferry.mp4")
    shutil.copy2(work / "films/night_train.mp4", work / "films/cargo.mp4")
    (work / "films.tsv").write_text(
        "film\tsubtitles\tvibe\ttitle\ttagline\tlength\n"
        "films/the-last-ferry.mp4\t\t\t\t\t\n"
        "films/cargo.mp4\n"  # the cells after the film left out altogether
    )
    parsed, jobs = _plan(work)
    assert parsed["config"]["vibe"] == "thriller" and parsed["config"]["results"] == "results"
    assert {k: v for k, v in parsed["config"].items() if k not in ("film", "sheet", "vibe", "results")} == {
        "subtitles": "", "subtitle_language": "", "title": "", "tagline": "", "film_glob": "", "models_dir": "",
        "font_dir": "",
    }  # fmt: skip
    films = parsed["films"]
    assert {stem: f["title"] for stem, f in films.items()} == {
        "night_train": "Night Train", "the-last-ferry": "The Last Ferry", "cargo": "Cargo"
    }  # fmt: skip
    assert {f["vibe"] for f in films.values()} == {"thriller"}
    assert {f["subtitles"] for f in films.values()} == {""}
    assert {f["length"] for f in films.values()} == {0}
    assert jobs.get("conform") == 3, jobs
    assert yaml.safe_load((work / "config.yaml").read_text())["title"] is None, "the dry run changed nothing"


# ---------------------------------------------------------------- a container without an index

TS = MEDIA / "tears_of_steel_opening_500x208_h264_noaudio.ts"  # keyframes 3.7 to 10.4 s apart


def test_a_transport_stream_seeks_to_the_frame_asked_for(tmp_path):
    """ffmpeg 5.1 seeks in an MPEG-TS by bisecting timestamps and can land on the keyframe
    after the time asked for: at 9.5 s this film's picture came from 13.5 s. The stamp
    keeps the keyframes; every reader (QC's thumbnails, a rendered segment) seeks to one
    before its start and decodes from there, and gets the frames a decode from the
    beginning gives."""
    from cinecut import segments
    from cinecut.qc import _thumbs
    from cinecut.source import make_stamp

    stamp = make_stamp(TS)
    assert stamp.seek_points[:3] == pytest.approx([0.0, 1.542, 5.25], abs=0.001)
    every = _thumbs(TS)  # decoded from the start: frame n is at n/24 s
    fps = Fraction(24)

    def where(frames) -> list[int]:
        return [int(np.abs(every - f).mean(axis=(1, 2)).argmin()) for f in frames]

    for start in (9.5, 20.0, 31.42):
        first = math.ceil(start * 24 - 0.001)  # the first frame at or after `start`
        assert where(_thumbs(TS, start=start, frames=3, keyframes=stamp.seek_points)) == [first, first + 1, first + 2]

    # One clip segment from 31.42 s, rendered as conform renders it, at the film's own size.
    (tmp_path / segments.GRADE).write_text(
        "LUT_3D_SIZE 2\n" + "".join(f"{i & 1} {i >> 1 & 1} {i >> 2} \n" for i in range(8))
    )
    look = segments.Look(
        film=str(TS), fingerprint=stamp.fingerprint, width=500, height=208, fps=fps,
        lut_digest="identity", font="", title_colour="white", preset="ultrafast",
    )  # fmt: skip
    piece = segments.make_piece(look, "clip", 0, 12, sources=(segments.Source.at(31.42, 12, stamp.seek_points),))
    segments.render_pieces([piece], look, tmp_path / "cache", tmp_path, workers=1)
    rendered = _thumbs(tmp_path / "cache" / f"{piece.key}{segments.SUFFIX}")
    first = math.ceil(31.42 * 24)
    assert where(rendered) == list(range(first, first + 12))
