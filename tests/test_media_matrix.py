"""Conform and QC on the media a user brings: 23.976, 24, 25, 29.97 and variable frame
rate, 8- and 10-bit, stereo, 5.1 and silent films, letterboxed into a 16:9 trailer. QC's
own checks are proven to fail on a misplaced clip and on stray black."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import ffprobe, stream_durations

from cinecut import conform, models, music, placement, qc
from cinecut.models import Manifest, MusicCue, Segment, VoiceLine
from cinecut.source import make_stamp
from cinecut.vibes import get_vibe

W, H = 320, 180  # the trailer; sources are 4:3 and get pillarboxed
VARIANTS = {
    # name: (frame rate, pixel format, audio channels or 0, variable frame rate)
    "23.976": ("24000/1001", "yuv420p", 2, False),
    "24": ("24", "yuv420p", 2, False),
    "25": ("25", "yuv420p", 2, False),
    "29.97": ("30000/1001", "yuv420p", 2, False),
    "vfr": ("30", "yuv420p", 2, True),
    "10-bit": ("24", "yuv420p10le", 2, False),
    "5.1": ("25", "yuv420p", 6, False),
    "silent": ("25", "yuv420p", 0, False),
}


def make_film(path: Path, rate: str, pix_fmt: str, channels: int, vfr: bool, black: tuple | None = None) -> Path:
    """14 s of moving test pattern at 320x240 with a tone that changes every 2 s."""
    video = f"testsrc2=s=320x240:r={rate}:d=14"
    vf = []
    if vfr:  # drop every 5th frame and keep the gaps in the timestamps
        vf.append("select='not(eq(mod(n\\,5)\\,3))'")
    if black:
        vf.append(f"drawbox=c=black:t=fill:enable='between(t,{black[0]},{black[1]})'")
    cmd = ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", video]
    if channels:
        layout = "5.1" if channels == 6 else "stereo"
        tone = "sine=f=220:r=48000:d=14,volume='0.3+0.2*mod(floor(t/2),2)':eval=frame"
        cmd += ["-f", "lavfi", "-i", f"{tone},aformat=channel_layouts={layout}"]
    cmd += ["-vf", ",".join(vf)] if vf else []
    cmd += ["-fps_mode", "vfr"] if vfr else []
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", pix_fmt]
    cmd += ["-c:a", "aac", "-ac", str(channels)] if channels else ["-an"]
    subprocess.run([*cmd, str(path)], check=True)
    return path


def plan(film: Path, bed: Path, bed_plan: models.MusicPlan, voice: bool) -> Manifest:
    segments = [
        Segment(kind="title", duration=1.5, text="MATRIX", transition="fade_black"),
        Segment(kind="clip", act=1, source_in=1.0, source_out=3.0, dialogue="hello", transition="fade_black"),
        Segment(kind="clip", act=1, source_in=4.0, source_out=5.5, transition="dissolve"),
        Segment(kind="clip", act=2, source_in=6.0, source_out=7.5, transition="fade_black"),
        Segment(kind="black", duration=0.5),
        Segment(kind="clip", act=3, source_in=8.0, source_out=9.0),
        Segment(kind="clip", act=3, source_in=9.5, source_out=10.5),
        Segment(kind="title", duration=2.0, text="MATRIX\nsoon", transition="fade_black"),
    ]
    cue = MusicCue(file=str(bed), source="synthesised", bpm=bed_plan.bpm, beats=bed_plan.beats)
    vo = [VoiceLine(text="a line", source_in=11.0, source_out=12.0, at=3.7)] if voice else []
    return Manifest(
        film=str(film), fingerprint="x", title="MATRIX", vibe="thriller", target_seconds=10,
        segments=segments, music=cue, voiceover=vo,
    )  # fmt: skip


@pytest.fixture(scope="module")
def bed(tmp_path_factory):
    samples, bed_plan = music.synthesised_bed(get_vibe("thriller"), 20.0)
    path = tmp_path_factory.mktemp("bed") / "music.wav"
    music.write_bed(samples, path)
    return path, bed_plan


@pytest.mark.parametrize("variant", VARIANTS)
def test_qc_passes_on_every_kind_of_source(variant, bed, tmp_path):
    rate, pix_fmt, channels, vfr = VARIANTS[variant]
    film = make_film(tmp_path / f"film_{variant}.mp4", rate, pix_fmt, channels, vfr)
    stamp = make_stamp(film)
    if vfr:
        info = next(s for s in ffprobe(film)["streams"] if s["codec_type"] == "video")
        assert info["avg_frame_rate"] != info["r_frame_rate"], "the source really is variable-rate"
    manifest = plan(film, *bed, voice=bool(channels))
    fps = placement.output_rate(stamp, 0)
    out = tmp_path / "trailer.mp4"
    conform.render(manifest, stamp, out, W, H, fps, preset="ultrafast", stems_dir=tmp_path / "stems")
    report = qc.measure(out, manifest, stamp, W, H, get_vibe("thriller").loudness)
    failed = [f"{c.name}: {c.value} (expected {c.expected})" for c in report.checks if not c.ok]
    assert not failed, failed
    video, audio, out_fps = stream_durations(out)
    # The film's rate; a variable one becomes the standard rate nearest its average (24 here).
    assert out_fps == (Fraction(24) if vfr else Fraction(rate))
    assert abs(video - audio) <= 1 / out_fps
    streams = ffprobe(out)["streams"]
    v = next(s for s in streams if s["codec_type"] == "video")
    a = next(s for s in streams if s["codec_type"] == "audio")
    assert (v["codec_name"], v["pix_fmt"], v["width"], v["height"]) == ("h264", "yuv420p", W, H)
    assert (a["codec_name"], a["channels"], a["sample_rate"]) == ("aac", 2, "48000")
    lufs, peak = (c.value for c in report.checks if c.name in ("integrated loudness (LUFS)", "true peak (dBTP)"))
    assert abs(lufs - get_vibe("thriller").loudness) <= 1.0 and peak <= -1.0  # a silent film gets music and effects
    # 4:3 into 16:9: black bars left and right, picture in the middle.
    frame = qc._thumbs(out)[int(2.0 * float(out_fps))]
    assert frame[:, :4].max() < 20 and frame[:, 30:34].std() > 5


@pytest.fixture(scope="module")
def rendered(bed, tmp_path_factory):
    """A 25 fps film with 1 s of black at 4.2-5.2 s (inside the second clip) and its trailer."""
    tmp = tmp_path_factory.mktemp("qc")
    film = make_film(tmp / "film.mkv", "25", "yuv420p", 2, False, black=(4.2, 5.2))
    stamp = make_stamp(film)
    manifest = plan(film, *bed, voice=False)
    out = tmp / "trailer.mp4"
    conform.render(manifest, stamp, out, W, H, Fraction(25), preset="ultrafast")
    return out, manifest, stamp


def test_qc_finds_black_the_plan_does_not_have(rendered):
    out, manifest, stamp = rendered
    report = qc.measure(out, manifest, stamp, W, H, -16)
    check = next(c for c in report.checks if c.name.startswith("black stretches"))
    assert not check.ok and not report.passed
    # The film's black (4.2-5.2 s of the film) lands at 1.5 + 2.0 + 0.2 = 3.7 s of the trailer.
    assert any(abs(a - 3.7) < 0.1 and abs(b - 4.7) < 0.1 for a, b in eval(check.value)), check.value


def test_qc_finds_a_clip_that_starts_off_its_frame(rendered):
    """QC against a manifest whose last clip starts 3 frames later in the film than the one
    rendered: the film frame it expects shows 3 frames late, and QC says which segment."""
    out, manifest, stamp = rendered
    moved = manifest.model_copy(deep=True)
    moved.segments[6] = moved.segments[6].model_copy(update={"source_in": 9.62, "source_out": 10.62})
    good = {t.segment: t.offset for t in qc.clip_timings(out, manifest, stamp, Fraction(25), W, H)}
    bad = {t.segment: t.offset for t in qc.clip_timings(out, moved, stamp, Fraction(25), W, H)}
    assert all(o in (0, None) for o in good.values()), good
    assert bad[6] == 3, bad
    report = qc.measure(out, moved, stamp, W, H, -16)
    check = next(c for c in report.checks if c.name.startswith("clips starting"))
    assert not check.ok and "segment 6: +3" in check.value


def test_vibe_luts_make_their_look(tmp_path):
    """Each vibe's .cube through ffmpeg's lut3d: teal shadows and orange highlights for
    action, lifted blacks for drama, drained colour for war, and for every vibe a real
    change that keeps a grey ramp in order."""
    import cv2

    from cinecut import grade
    from cinecut.vibes import VIBES

    ramp = np.repeat(np.linspace(0, 255, 256, dtype=np.uint8)[None, :, None], 3, axis=2)
    red = np.zeros((1, 256, 3), np.uint8)
    red[..., 2] = 200  # BGR for OpenCV: a saturated red
    image = np.repeat(np.concatenate([ramp, red]), 8, axis=0)  # 16 x 256
    src = tmp_path / "chart.png"
    cv2.imwrite(str(src), image)

    def through(name: str) -> np.ndarray:
        cube = grade.write_cube(VIBES[name].grade, tmp_path / f"{name}.cube")
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(src), "-vf", f"format=rgb24,lut3d=file={cube}",
             "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
            capture_output=True, check=True,
        ).stdout  # fmt: skip
        return np.frombuffer(raw, np.uint8).reshape(16, 256, 3).astype(float)

    original = image[..., ::-1].astype(float)
    for name in VIBES:
        out = through(name)
        assert np.abs(out - original).mean() > 2, f"{name}: the LUT changes the picture"
        luma = out[4] @ grade.REC709
        assert np.all(np.diff(luma) >= -1.0), f"{name}: greys stay in order"
        if name == "action":
            shadow, highlight = out[4, 50], out[4, 210]
            assert shadow[2] > shadow[0] + 8 and highlight[0] > highlight[2] + 8, (shadow, highlight)
        if name == "drama":
            assert out[4, 0].mean() >= 10, out[4, 0]  # black is lifted
        if name == "war":
            r, g, b = out[12, 128]
            assert (r - min(g, b)) < 0.7 * 200, (r, g, b)  # the red patch loses a third of its colour
    identity = grade.lattice(grade.Grade())
    axis = np.linspace(0, 1, grade.SIZE)
    assert np.allclose(identity[:3, 0], axis[:3]) and np.allclose(identity[grade.SIZE, 1], axis[1])  # red fastest
