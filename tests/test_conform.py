"""Transitions rendered for real: a dissolve's middle frame is a blend of both shots, a
dip to black passes through black, and every segment still starts on its frame."""

from __future__ import annotations

import subprocess
from fractions import Fraction

import numpy as np
import pytest
from conftest import stream_durations

from cinecut import conform
from cinecut.models import Manifest, Segment
from cinecut.source import make_stamp

W, H, FPS = 320, 180, 24


@pytest.fixture(scope="module")
def red_then_blue(tmp_path_factory):
    """4 s of red, then 4 s of blue, with a tone: two shots whose blend is unmistakable."""
    film = tmp_path_factory.mktemp("film") / "red_blue.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"color=c=red:s={W}x{H}:r={FPS}:d=4",
         "-f", "lavfi", "-i", f"color=c=blue:s={W}x{H}:r={FPS}:d=4",
         "-f", "lavfi", "-i", "sine=f=440:d=8:r=48000",
         "-filter_complex", "[0:v][1:v]concat=n=2:v=1:a=0[v]", "-map", "[v]", "-map", "2:a",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", str(film)],
        check=True,
    )  # fmt: skip
    return film


def frame_at(video, index: int) -> np.ndarray:
    """Frame number `index` of the video (frame-exact, unlike a seek), as RGB."""
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(video), "-vf", f"select=eq(n\\,{index})", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.uint8).reshape(H, W, 3).astype(float)


def render(film, tmp_path, transition: str, card: bool = False) -> tuple:
    lead = [Segment(kind="title", duration=1.0, text="T")] if card else []
    segments = lead + [
        Segment(kind="clip", act=1, source_in=1.0, source_out=3.0, zone="BEGINNING"),
        Segment(kind="clip", act=1, source_in=5.0, source_out=7.0, zone="BEGINNING", transition=transition,
                transition_seconds=1.0),
    ]  # fmt: skip
    manifest = Manifest(film=str(film), fingerprint="1:2", title="T", vibe="drama", target_seconds=4, segments=segments)
    out = tmp_path / f"{transition}{'_card' if card else ''}.mp4"
    conform.render(manifest, make_stamp(film), out, W, H, Fraction(FPS), preset="ultrafast")
    return out, manifest


def test_dissolve_frames_are_blends_of_both_shots(red_then_blue, tmp_path):
    out, _ = render(red_then_blue, tmp_path, "dissolve")
    video, audio, _ = stream_durations(out)
    assert abs(video - 4.0) <= 1 / FPS and abs(video - audio) <= 1 / FPS, "the dissolve keeps the cut's length"
    before, middle, after = (frame_at(out, n).mean(axis=(0, 1)) for n in (29, 48, 67))  # edit at frame 48
    assert before[0] > 200 and before[2] < 60, before  # still red
    assert after[2] > 200 and after[0] < 60, after  # already blue
    assert 70 < middle[0] < 190 and 70 < middle[2] < 190, middle  # half red, half blue


def test_dissolve_after_concatenated_segments(red_then_blue, tmp_path):
    """A card, then a cut, then a dissolve: the concatenated part must meet xfade's timebase."""
    out, _ = render(red_then_blue, tmp_path, "dissolve", card=True)
    assert abs(stream_durations(out)[0] - 5.0) <= 1 / FPS
    middle = frame_at(out, 24 + 48).mean(axis=(0, 1))
    assert 70 < middle[0] < 190 and 70 < middle[2] < 190, middle


def test_dip_to_black_passes_through_black(red_then_blue, tmp_path):
    out, _ = render(red_then_blue, tmp_path, "fade_black")
    assert abs(stream_durations(out)[0] - 4.0) <= 1 / FPS
    assert frame_at(out, 47).mean() < 40  # the last frame of the red shot, faded out
    assert frame_at(out, 48).mean() < 40  # the first frame of the blue one, fading in
    assert frame_at(out, 29).mean(axis=(0, 1))[0] > 200 and frame_at(out, 67).mean(axis=(0, 1))[2] > 200


def test_cut_is_a_cut(red_then_blue, tmp_path):
    out, _ = render(red_then_blue, tmp_path, "cut")
    assert frame_at(out, 47).mean(axis=(0, 1))[0] > 200 and frame_at(out, 48).mean(axis=(0, 1))[2] > 200


def test_title_card_shows_its_text(red_then_blue, tmp_path):
    """The card's middle frame is not uniform where the text is, and another title draws
    other pixels (the reference system rendered cards without text)."""
    frames = {}
    for title in ("THE KEEPER", "NIGHT TIDE"):
        segments = [
            Segment(kind="clip", act=1, source_in=1.0, source_out=2.0),
            Segment(kind="title", duration=2.0, text=f"{title}\nKeep the light on."),
        ]
        manifest = Manifest(
            film=str(red_then_blue),
            fingerprint="1:2",
            title=title,
            vibe="thriller",
            target_seconds=3,
            segments=segments,
        )
        out = tmp_path / f"{title.replace(' ', '_')}.mp4"
        conform.render(manifest, make_stamp(red_then_blue), out, W, H, Fraction(FPS), preset="ultrafast")
        frames[title] = frame_at(out, 24 + 24)  # the card's middle frame
    for frame in frames.values():
        band = frame[H // 3 : 2 * H // 3]
        assert band.std() > 20 and band.max() > 150, "text is drawn in the title band"
        assert frame[: H // 8].max() < 30, "the rest of the card stays black"
    assert np.abs(frames["THE KEEPER"] - frames["NIGHT TIDE"]).mean() > 2, "another title, other pixels"


def test_a_clip_past_the_films_last_frame_repeats_it(red_then_blue, tmp_path, caplog):
    """A source that ends a frame or two before the plan: the picture keeps its planned
    length (the last frame cloned), picture and sound stay equal, and the log says so."""
    stamp = make_stamp(red_then_blue)
    segments = [Segment(kind="clip", act=1, source_in=stamp.duration - 1.0, source_out=stamp.duration + 2 / FPS)]
    manifest = Manifest(film=str(red_then_blue), fingerprint="1:2", title="T", vibe="drama", target_seconds=1,
                        segments=segments)  # fmt: skip
    out = tmp_path / "past.mp4"
    with caplog.at_level("WARNING", logger="cinecut.conform"):
        conform.render(manifest, stamp, out, W, H, Fraction(FPS), preset="ultrafast")
    frames = int(
        subprocess.run(
            ["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
             "stream=nb_read_frames", "-of", "csv=p=0", str(out)],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip
    assert frames == FPS + 2
    video, audio, _ = stream_durations(out)
    assert abs(video - audio) <= 1 / FPS
    assert "its last frame is repeated" in caplog.text
    assert np.abs(frame_at(out, FPS + 1) - frame_at(out, FPS - 1)).mean() < 2  # blue, as the film's last frame


def test_the_grade_looks_the_same_before_or_after_scaling_and_leaves_the_bars_black(tmp_path):
    """A 4:3 film scaled up into the 16:9 trailer is graded at its own size (fewer pixels
    through the LUT): the picture matches grading after the scaling within a few levels,
    and the pillarbox bars stay black under a grade that lifts the blacks (drama's)."""
    from cinecut import grade, segments
    from cinecut.vibes import get_vibe

    film = tmp_path / "film.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=s=160x120:r={FPS}:d=2",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", str(film)],
        check=True,
    )  # fmt: skip
    drama = get_vibe("drama").grade
    assert drama.lift > 0  # the bars would come out grey if the letterbox were graded
    grade.write_cube(drama, tmp_path / segments.GRADE)
    frames = {}
    for first in (True, False):
        look = segments.Look(
            film=str(film), fingerprint="1:2", width=W, height=H, fps=Fraction(FPS), lut_digest="drama",
            font="", title_colour="white", preset="ultrafast", grade_first=first,
        )  # fmt: skip
        piece = segments.make_piece(look, "clip", 0, 12, sources=(segments.Source.at(0.5, 12),))
        segments.render_pieces([piece], look, tmp_path / "cache", tmp_path, workers=1)
        frames[first] = frame_at(tmp_path / "cache" / f"{piece.key}{segments.SUFFIX}", 6)
    bar = (W - 120 * 4 // 3 * H // 120) // 2  # 40 px of pillarbox each side at 320x180
    for frame in frames.values():
        assert frame[:, : bar - 2].max() <= 3 and frame[:, -(bar - 2) :].max() <= 3
        assert frame[:, bar + 2 : -bar - 2].mean() > 40  # the picture is there, graded
    picture = (slice(None), slice(bar + 2, -bar - 2))
    assert np.abs(frames[True][picture] - frames[False][picture]).mean() < 3
