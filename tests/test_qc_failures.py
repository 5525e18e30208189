"""QC fails, for the right reason, on a trailer with one defect: the demo's real trailer
(session fixture `demo_build`) altered with ffmpeg: too quiet, a clipped peak, its sound
three frames late, a stretch of frozen picture, the wrong size, no audio stream, a clip
whose picture is not the film's. Each test asserts exactly which checks fail, so every
other check is shown to pass on the same trailer."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from conftest import ffprobe

from cinecut import models
from cinecut import qc as qc_module
from cinecut.models import Manifest, QCReport
from cinecut.placement import PEAK_LIMIT, Placement, place_segments
from cinecut.qc import film_is_still, match_offset, measure, without_other_stems
from cinecut.vibes import get_vibe

STEMS = ("dialogue", "voiceover", "music", "sfx")
LOUDNESS = "integrated loudness (LUFS)"
PEAK = "true peak (dBTP)"
SYNC = "sound more than 1 frame off the picture"
FROZEN = "frozen stretches the film does not have"
SIZE = "resolution"
AUDIO = "audio stream"
AV_LENGTH = "A/V duration difference (s)"
FOUND = "clips found per act"


@dataclass
class Demo:
    trailer: Path
    manifest: Manifest
    stamp: models.Stamp
    stems: dict[str, Path]
    fps: Fraction
    width: int
    height: int
    samples: int  # of the trailer's audio, at 48 kHz

    def placements(self) -> list[Placement]:
        return place_segments(self.manifest, self.fps)


@pytest.fixture(scope="module")
def film_frames_once(demo_build):
    """QC reads the film's frames at every clip for each trailer; the film is the same for
    every test here, so each read is made once (the trailers' own frames are always read)."""
    film = str(demo_build / "resources/demo/demo.mp4")
    read, cache = qc_module._thumbs, {}

    def thumbs(path, crop="", start=0.0, frames=None, keyframes=()):
        if str(path) != film:
            return read(path, crop, start, frames, keyframes)
        key = (crop, start, frames, tuple(keyframes))
        if key not in cache:
            cache[key] = read(path, crop, start, frames, keyframes)
        return cache[key].copy()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(qc_module, "_thumbs", thumbs)
        yield


@pytest.fixture(scope="module")
def demo(demo_build, film_frames_once) -> Demo:
    res = demo_build / "results/demo"
    manifest = models.load(Manifest, res / "TRAILER_MANIFEST.json")
    # The manifest names the film relative to the workflow; QC reads it from anywhere.
    manifest = manifest.model_copy(update={"film": str(demo_build / manifest.film)})
    info = ffprobe(demo_build / "trailer.mp4")
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    return Demo(
        trailer=demo_build / "trailer.mp4",
        manifest=manifest,
        stamp=models.load(models.Stamp, res / "source.json"),
        stems={name: res / "stems" / f"{name}.wav" for name in STEMS},
        fps=Fraction(video["r_frame_rate"]),
        width=video["width"],
        height=video["height"],
        samples=round(float(audio["duration"]) * 48000),
    )


def altered(demo: Demo, out: Path, *args: str) -> Path:
    """The demo trailer through ffmpeg with `args` (filters, maps, codecs) into `out`."""
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-i", str(demo.trailer), *args, str(out)], check=True)
    return out


def new_sound(audio_filter: str) -> list[str]:
    """Picture copied, sound through `audio_filter` and encoded as conform encodes it."""
    return ["-map", "0", "-c:v", "copy", "-af", audio_filter, "-c:a", "aac", "-b:a", "192k", "-ar", "48000"]


def new_picture(video_filter: str, complex_graph: bool = False) -> list[str]:
    """Sound copied, picture through `video_filter`, encoded quickly."""
    picture = (
        ["-filter_complex", video_filter, "-map", "[v]"] if complex_graph else ["-map", "0:v", "-vf", video_filter]
    )
    return [*picture, "-map", "0:a", "-c:a", "copy", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16",
            "-pix_fmt", "yuv420p"]  # fmt: skip


def qc(demo: Demo, trailer: Path) -> tuple[QCReport, set[str]]:
    target = get_vibe(demo.manifest.vibe).loudness
    report = measure(trailer, demo.manifest, demo.stamp, demo.width, demo.height, target, stems=demo.stems)
    failed = {c.name for c in report.checks if not c.ok}
    assert report.passed == (not failed)
    return report, failed


def check(report: QCReport, name: str):
    return next(c for c in report.checks if c.name == name)


def measured_sync(report: QCReport) -> list[float]:
    return [s.frames for s in report.sync if s.frames is not None]


def test_too_quiet_fails_loudness_only(demo, tmp_path):
    report, failed = qc(demo, altered(demo, tmp_path / "quiet.mp4", *new_sound("volume=-4dB")))
    assert failed == {LOUDNESS}, report.checks
    target = get_vibe(demo.manifest.vibe).loudness
    assert check(report, LOUDNESS).value == pytest.approx(target - 4, abs=0.8)
    # The sound check is not vacuous: the film's sound is found at the clip starts, in sync.
    frames = measured_sync(report)
    assert len(frames) >= 5 and all(abs(f) < 0.5 for f in frames), report.sync


def test_a_clipped_peak_fails_true_peak_only(demo, tmp_path):
    """A 5 ms click at full scale in the climax: over the peak limit, the loudness the same."""
    climax = next(p for p in demo.placements() if p.segment.kind == "clip" and p.segment.act == 3)
    t = float(climax.first_frame / demo.fps) + 0.2
    click = f"aeval='val(ch)+between(t,{t:.3f},{t + 0.005:.3f})':c=same"
    report, failed = qc(demo, altered(demo, tmp_path / "peak.mp4", *new_sound(click)))
    assert failed == {PEAK}, report.checks
    # The click alone is over the limit: the trailer without it passed QC (<= -1 dBTP). Through
    # AAC a 5 ms full-scale click measures 0 dBTP or a little under (-0.4 seen), never the limit.
    assert check(report, PEAK).value >= PEAK_LIMIT + 0.3


def test_sound_three_frames_late_fails_the_sync_check_only(demo, tmp_path):
    """The whole sound 3 frames late and cut to the same length: every length still agrees."""
    delay_ms = 3 * 1000 / float(demo.fps)
    late = altered(
        demo, tmp_path / "late.mp4", *new_sound(f"adelay={delay_ms:.3f}:all=1,atrim=end_sample={demo.samples}")
    )
    report, failed = qc(demo, late)
    assert failed == {SYNC}, report.checks
    frames = measured_sync(report)
    assert len(frames) >= 5 and all(2.5 <= f <= 3.5 for f in frames), report.sync
    assert check(report, SYNC).value.count("segment") == len(frames)


def test_a_frozen_stretch_fails_the_freeze_check_only(demo, tmp_path):
    """Two seconds of one repeated frame inside the longest clip, where the film moves."""
    clip = max((p for p in demo.placements() if p.segment.kind == "clip"), key=lambda p: p.frames)
    hold = round(2 * demo.fps)
    assert clip.frames >= hold * 1.25, clip
    first = clip.first_frame + clip.frames // 6
    span = (float(first / demo.fps), float((first + hold) / demo.fps))
    assert not film_is_still(demo.manifest, demo.stamp, demo.placements(), demo.fps, span), "the film moves there"
    graph = f"[0:v]split[a][b];[a][b]freezeframes=first={first}:last={first + hold - 1}:replace={first}[v]"
    report, failed = qc(demo, altered(demo, tmp_path / "frozen.mp4", *new_picture(graph, complex_graph=True)))
    assert failed == {FROZEN}, report.checks
    assert any(a <= span[0] + 0.1 and b >= span[1] - 0.1 for a, b in report.frozen), (report.frozen, span)


def test_the_wrong_size_fails_the_resolution_check_only(demo, tmp_path):
    """16 and 8 pixels too many (a padding bug): the picture itself stays where it was."""
    w, h = demo.width + 16, demo.height + 8
    report, failed = qc(demo, altered(demo, tmp_path / "size.mp4", *new_picture(f"pad={w}:{h}:0:0")))
    assert failed == {SIZE}, report.checks
    assert check(report, SIZE).value == f"{w}x{h}"


def test_a_missing_audio_stream_fails_qc(demo, tmp_path):
    report, failed = qc(demo, altered(demo, tmp_path / "mute.mp4", "-map", "0:v", "-c", "copy"))
    # Without a sound stream nothing about the sound can pass: its length, loudness, peak.
    assert failed == {AUDIO, AV_LENGTH, LOUDNESS, PEAK}, report.checks
    assert report.sync == []


def test_a_clip_not_in_the_trailer_fails_the_clips_found_check_only(demo, tmp_path):
    """One act-2 clip's picture negated (not the film's frames any more), all else intact."""
    placements = demo.placements()
    i, clip = next(
        (i, p)
        for i, p in enumerate(placements[:-1])
        if p.segment.kind == "clip" and p.segment.act == 2 and p.segment.transition == "cut"
        and placements[i + 1].segment.transition == "cut"
    )  # fmt: skip
    last = clip.first_frame + clip.frames - 1
    report, failed = qc(
        demo,
        altered(demo, tmp_path / "negated.mp4", *new_picture(f"negate=enable='between(n,{clip.first_frame},{last})'")),
    )
    assert failed == {FOUND}, report.checks
    acts = [s.act for s in demo.manifest.segments if s.kind == "clip"]
    assert check(report, FOUND).value == f"{acts.count(1)}/{acts.count(1)} {acts.count(2) - 1}/{acts.count(2)} " + (
        f"{acts.count(3)}/{acts.count(3)}"
    )
    assert next(t for t in report.timings if t.segment == i).distance >= 0.6


def test_other_stems_do_not_decide_the_sound_offset():
    """The voice-over is the film's own sound from elsewhere, so it resembles the dialogue
    stem: a periodic sound (a chord) matched against a mix where a louder copy of it plays at
    another phase. Without the other stems taken out, the match lands on the voice-over's
    phase; with them, on the dialogue's true offset."""
    rate, width, search, frame = 16000, 16000, 8000, 667
    rng = np.random.default_rng(1)
    t = np.arange(60000) / rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220, 277.2, 329.6)) + 0.05 * rng.standard_normal(len(t))
    dialogue = chord * (t > 1.25)  # the clip starts at 1.25 s
    voiceover = 3 * np.roll(chord, 1400)  # the same sound 87.5 ms away, louder
    true_delay = 48  # samples: 3 ms
    mix = np.roll(dialogue + voiceover, true_delay) + 0.01 * rng.standard_normal(len(t))
    start = 16000  # the window: 1.0 s to 2.0 s
    heard = mix[start - search : start + width + search]
    ref = dialogue[start : start + width]
    naive, _, _ = match_offset(ref, heard, search, frame)
    assert abs(naive - true_delay) > frame, "the voice-over would decide the offset"
    cleaned = without_other_stems(heard, [dialogue, voiceover], start, width)
    shift, corr, other = match_offset(ref, cleaned, search, frame)
    assert shift == true_delay and corr > 0.9 and other < corr - 0.01, (shift, corr, other)
