"""Real films (tests/media) through the whole workflow, and a real film's own fades.

One Snakemake run over a film sheet of a few real films (the corpus benchmark's fast
subset) asserts what every trailer must hold: delivered, QC passed, three acts with
clips, no clip past the end of the picture. A film made from a real clip by fading it
to black and to white within one shot checks that clips never use those frames.
"""

from __future__ import annotations

import json
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import copy_workflow, snakemake

from cinecut import models, scenes
from cinecut.analysis import analyse
from cinecut.manifest import plan_manifest
from cinecut.music import plan_music
from cinecut.source import make_stamp
from cinecut.story import build_narrative, heuristic_structure
from cinecut.vibes import VIBES, target_length

MEDIA = Path(__file__).parent / "media"
APOLLO = MEDIA / "apollo15_hammer_feather_480x360_vp9_opus.webm"
MKV = MEDIA / "tears_of_steel_opening_500x208_h264_ru_nl_fa_subs.mkv"  # container 42.5 s, picture 41.667 s
MKV_PICTURE_END = 41.667
CORPUS = [MKV, MEDIA / "whitehouse_obama_statement_2015_320x240_vfr_aac_mono.mp4", APOLLO]

# The faded film: 14 s of the Apollo 15 shot (one continuous take), faded out to black at
# 4 s (1 s), held black 0.6 s, faded in (1 s); faded out to white at 9 s (0.5 s), held
# white 0.4 s, faded in (0.6 s). Each piece keeps the film's own time: nothing is cut out.
FADES = {  # colour: (fade out starts, blank from, blank to, fade in ends)
    "black": (4.0, 5.0, 5.6, 6.6),
    "white": (9.0, 9.5, 9.9, 10.5),
}


def make_faded_film(dest: Path) -> Path:
    (o1, b1, e1, i1), (o2, b2, e2, i2) = FADES["black"], FADES["white"]
    graph = (
        f"[0:v]trim=0:{b1},setpts=PTS-STARTPTS,fade=t=out:st={o1}:d={b1 - o1}[a];"
        f"[0:v]trim={b1}:{b2},setpts=PTS-STARTPTS,fade=t=in:st={e1 - b1}:d={i1 - e1},"
        f"fade=t=out:st={o2 - b1}:d={b2 - o2}:color=white[b];"
        f"[0:v]trim={b2}:14,setpts=PTS-STARTPTS,fade=t=in:st={e2 - b2}:d={i2 - e2}:color=white[c];"
        "[a][b][c]concat=n=3:v=1:a=0[v]"
    )
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(APOLLO), "-filter_complex", graph, "-map", "[v]", "-map", "0:a",
         "-t", "14", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-b:a", "96k", str(dest)],
        check=True,
    )  # fmt: skip
    return dest


def half_gone() -> list[tuple[float, float]]:
    """Where each dip shows less than half of the picture: from halfway through the fade
    out to halfway through the fade in."""
    return [((o + b) / 2, (e + i) / 2) for o, b, e, i in FADES.values()]


def blackdetect(film: Path) -> list[tuple[float, float]]:
    """Black frames as QC's blackdetect sees them (pix_th 0.10), however short."""
    err = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(film), "-vf", "blackdetect=d=0:pix_th=0.10", "-f", "null",
         "-"],
        capture_output=True, text=True, check=True,
    ).stderr  # fmt: skip
    spans = []
    for line in err.splitlines():
        if "black_start" in line:
            fields = dict(part.split(":") for part in line.split() if part.startswith("black_"))
            spans.append((float(fields["black_start"]), float(fields["black_end"])))
    return spans


def overlapping(clips, spans) -> list:
    return [(c, span) for c in clips for span in spans if c[0] < span[1] and span[0] < c[1]]


@pytest.fixture(scope="module")
def faded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("faded")
    film = make_faded_film(folder / "apollo_faded.mp4")
    stamp = make_stamp(str(film))
    analysis = analyse(stamp, folder / "keyframes")
    desc = models.SceneDescFile(
        schema_version=models.SceneDescFile.VERSION, fingerprint=stamp.fingerprint, backend="heuristic", model="",
        prompt_hash="x", frames=[scenes.describe_heuristic(kf) for kf in analysis.keyframes],
    )  # fmt: skip
    return film, stamp, analysis, desc, blackdetect(film)


def test_the_analysis_knows_where_a_shot_fades(faded):
    """The fades are found where they are: the frames less than half there are outside
    every shot's clean part, and those parts keep most of the picture."""
    film, stamp, analysis, _, black = faded
    assert black and all(4.5 <= a and b <= 6.2 for a, b in black), black  # the test film is what it says
    clean = [(s.clean().start, s.clean().end) for s in analysis.shots if s.clean().end > s.clean().start]
    assert not overlapping(clean, half_gone() + black), analysis.shots
    usable = sum(b - a for a, b in clean)
    assert usable >= stamp.duration - 4.5, (usable, analysis.shots)


@pytest.mark.parametrize("vibe", sorted(VIBES))
def test_no_clip_shows_a_fade(faded, vibe):
    """For every vibe, the planned trailer (whole frames, cuts on the beats, clips grown to
    fill a short film) keeps every clip off the fades' dark and white frames."""
    film, stamp, analysis, desc, black = faded
    dialogue = models.Dialogue(source=None, lines=[])
    structure = heuristic_structure(analysis, desc, dialogue)
    narrative = build_narrative(analysis, desc, dialogue, structure, VIBES[vibe])
    target = target_length(VIBES[vibe], stamp.duration)
    _, music = plan_music(VIBES[vibe], target, None)
    manifest = plan_manifest(
        narrative, stamp, VIBES[vibe], "Fades", "", 0, fps=Fraction(stamp.fps).limit_denominator(1001), music=music
    )
    clips = [(s.source_in, s.source_out) for s in manifest.segments if s.kind == "clip"]
    assert len(clips) >= 3, manifest.segments
    assert not overlapping(clips, half_gone() + black), (vibe, clips)


def test_a_clip_ending_at_the_end_of_the_picture_stays_inside_it_on_whole_frames():
    """The .mkv's last shot ends at 41.666 s and its line with it: rounding the clip up to
    whole frames to keep the line took it to 41.675 s, past the picture (a frozen frame)."""
    from cinecut.manifest import snap_to_beats
    from cinecut.models import Segment

    clip = Segment(kind="clip", act=3, source_in=40.8, source_out=41.666)
    (out,), _ = snap_to_beats([clip], [(41.666 - 40.8, 41.666 - 40.8)], [], Fraction(24))
    assert out.source_out <= 41.666 and out.source_out - out.source_in == pytest.approx(20 / 24), out


# ---------------------------------------------------------------- the corpus, one Snakemake run


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    # Zone meaning by word lists: sentence embeddings cost ~40 s a film to load here, and
    # are tested on their own (test_story.py); everything else is the default config.
    work = copy_workflow(tmp_path_factory.mktemp("corpus"), sheet="films.tsv", narrative={"meaning": "lexical"})
    films = [*CORPUS, make_faded_film(work / "apollo_faded.mp4")]
    sheet = ["film\tsubtitles\tvibe\ttitle\ttagline"] + [f"{film}\t\t\t\t" for film in films]
    (work / "films.tsv").write_text("\n".join(sheet) + "\n")
    proc = snakemake(work, "--keep-going", *(f"trailers/{film.stem}.mp4" for film in films), check=False)
    return work, films, proc


def test_every_corpus_film_gets_a_trailer_that_passes_qc(corpus):
    work, films, proc = corpus
    failed = []
    for film in films:
        res = work / "results" / film.stem
        qc = json.loads((res / "qc.json").read_text()) if (res / "qc.json").exists() else None
        if not (work / "trailers" / f"{film.stem}.mp4").is_file() or not qc or not qc["passed"]:
            bad = [c["name"] for c in qc["checks"] if not c["ok"]] if qc else "no qc.json"
            failed.append((film.name, bad))
    assert not failed, f"{failed}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"


def test_every_act_has_clips_and_no_clip_passes_the_picture(corpus):
    work, films, _ = corpus
    for film in films:
        res = work / "results" / film.stem
        stamp = models.load(models.Stamp, res / "source.json")
        segments = json.loads((res / "TRAILER_MANIFEST.json").read_text())["segments"]
        clips = [s for s in segments if s["kind"] == "clip"]
        per_act = [sum(1 for s in clips if s["act"] == act) for act in (1, 2, 3)]
        if stamp.duration >= 20:
            assert min(per_act) >= 1, (film.name, per_act)
        assert all(s["source_out"] <= stamp.duration + 1e-3 for s in clips), (film.name, clips)
        if film == MKV:
            assert stamp.container_duration and stamp.container_duration > 42
            assert max(s["source_out"] for s in clips) <= MKV_PICTURE_END, clips
        if film.stem == "apollo_faded":
            assert not overlapping([(s["source_in"], s["source_out"]) for s in clips], half_gone()), clips


def test_structure_says_why_each_anchor_is_where_it_is(corpus):
    work, films, _ = corpus
    for film in films:
        structure = models.load(models.Structure, work / "results" / film.stem / "structure.json")
        lines = structure.notes.splitlines()
        for anchor in ("begin", "escalation", "climax", "resolution"):
            reason = next((ln for ln in lines if ln.startswith(f"{anchor} ")), "")
            assert reason.split(": ", 1)[-1].strip() and ": " in reason, (film.name, anchor, structure.notes)
