"""The trailer's sound, measured: tempo found by librosa, cuts on the beats of the
*trailer* timeline, music ducked under speech, voice-over lines, effects, the silent beat."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml
from conftest import clone_build, snakemake

from cinecut import media, models, music, qc, sound
from cinecut.models import Manifest, Narrative, Segment, Stamp, Structure
from cinecut.placement import fit_transitions, place_segments
from cinecut.vibes import get_vibe

RATE = 48000


def click_track(path: Path, bpm: float, seconds: float, first: float = 0.5) -> list[float]:
    """A click every beat from `first` on, over quiet noise; returns the true beat times."""
    rng = np.random.default_rng(1)
    y = rng.normal(0, 0.002, int(seconds * RATE)).astype(np.float32)
    tick = np.arange(int(0.01 * RATE))
    click = (np.sin(2 * np.pi * 1500 * tick / RATE) * np.exp(-tick / (0.002 * RATE))).astype(np.float32)
    beats = list(np.arange(first, seconds - 0.1, 60 / bpm))
    for b in beats:
        i = int(round(b * RATE))
        y[i : i + len(click)] += 0.8 * click
    soundfile.write(path, np.stack([y, y], axis=1), RATE)
    return beats


def db(x: np.ndarray) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


def test_library_tempo_and_choice(tmp_path):
    slow = click_track(tmp_path / "slow.wav", 70, 40)
    fast = click_track(tmp_path / "fast.flac", 100, 40)
    library = music.scan_library(tmp_path)
    bpm = {Path(t.path).name: t for t in library.tracks}
    assert abs(bpm["slow.wav"].bpm - 70) < 1 and abs(bpm["fast.flac"].bpm - 100) < 1
    for track, truth in ((bpm["slow.wav"], slow), (bpm["fast.flac"], fast)):
        err = [min(abs(b - t) for t in truth) for b in track.beats]
        assert max(err) < 0.02, "every beat within 20 ms of a click"
    assert Path(music.choose_track(library, get_vibe("thriller"), 30)[0].path).name == "fast.flac"  # 90-120
    assert Path(music.choose_track(library, get_vibe("drama"), 30)[0].path).name == "slow.wav"  # 60-90
    (tmp_path / "notes.mp3").write_text("not audio")
    again = music.scan_library(tmp_path)
    assert len(again.tracks) == 2 and any("notes.mp3" in s for s in again.skipped)


def test_cuts_fall_on_the_beats_of_a_click_track(demo_build, tmp_path):
    """The music folder holds one 100 BPM click track: the hard cuts seen in the trailer
    (a jump between two frames) fall within a frame of a click, on the trailer timeline,
    and no clip's in-point in the film moved."""
    work = clone_build(demo_build, tmp_path / "w")
    (work / "music").mkdir()
    truth = click_track(work / "music" / "click.wav", 100, 120)
    config = yaml.safe_load((work / "config.yaml").read_text())
    config["music"] = {"folder": "music", "snap": True}
    (work / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(work, "trailer.mp4")
    film = "demo"
    manifest = models.load(Manifest, work / f"results/{film}/TRAILER_MANIFEST.json")
    plan = models.MusicPlan.model_validate_json((work / f"results/{film}/music.json").read_text())
    assert manifest.music is not None and manifest.music.source.endswith("click.wav")
    assert abs(manifest.music.bpm - 100) < 1
    beats = np.array([t - plan.offset for t in truth if t >= plan.offset])  # the clicks, in trailer time
    fps = Fraction(24)
    frame = 1 / 24
    # Film timestamps never move to music time: every clip starts where the narrative put it.
    narrative = Narrative.model_validate_json((work / f"results/{film}/narrative.json").read_text())
    starts = {round(c.start, 4) for c in narrative.candidates}
    assert all(round(s.source_in, 4) in starts for s in manifest.segments if s.kind == "clip")
    # Cuts in the picture itself.
    frames = qc._thumbs(work / "trailer.mp4")
    jump = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))
    # A cut: a frame far from the one before it, where frames had been alike (the demo's
    # flickering shots make some inside clips too: only those at the manifest's edges count).
    jumps = [(i + 1) / 24 for i in range(1, len(jump)) if jump[i] > 40 and jump[i] > 2 * jump[i - 1]]
    edges = [float(p.first_frame / fps) for p in place_segments(manifest, fps)]
    cuts = [c for c in jumps if min(abs(c - e) for e in edges) <= frame + 1e-6]
    assert len(cuts) >= 8, (cuts, jumps)
    on_beat = [c for c in cuts if np.abs(beats - c).min() <= frame + 1e-6]
    assert len(on_beat) >= 0.8 * len(cuts), (len(on_beat), len(cuts), manifest.music.snapped)
    assert json.loads((work / f"results/{film}/qc.json").read_text())["passed"]


def test_sidechain_ducks_music_under_speech(tmp_path):
    """Music alone, then a clip with a line: the music is at least 6 dB lower under it and
    comes back after it."""
    n = 14 * RATE  # the last 2.5 s fade out: measured before them
    t = np.arange(n) / RATE
    bed = (0.2 * np.sin(2 * np.pi * 110 * t) + 0.1 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    bed = np.stack([bed, bed], axis=1)
    rng = np.random.default_rng(3)
    syllables = (np.sin(2 * np.pi * 4 * t) > 0).astype(np.float32)  # speech-like bursts, 4 per second
    voice = rng.normal(0, 0.1, n).astype(np.float32) * syllables * ((t >= 3) & (t < 6))
    dialogue = np.stack([voice, voice], axis=1) + rng.normal(0, 0.001, (n, 2)).astype(np.float32)
    timeline = [
        sound.Span(0, 3, "clip", 1, "cut", False),
        sound.Span(3, 6, "clip", 1, "cut", True),
        sound.Span(6, 14, "clip", 1, "cut", False),
    ]
    manifest = Manifest(
        film="none.mp4", fingerprint="x", title="T", vibe="thriller", target_seconds=14,
        segments=[Segment(kind="clip", act=1, source_in=0, source_out=3)] * 3,
    )  # fmt: skip
    paths = sound.build_stems(manifest, timeline, dialogue, bed, tmp_path)
    media.run(sound.mix_command(paths, tmp_path / "mix.wav", tmp_path / "ducked.wav"), tmp_path, "mixing")
    ducked, _ = soundfile.read(tmp_path / "ducked.wav")
    before, under, after = (db(ducked[int(a * RATE) : int(b * RATE)]) for a, b in ((0.5, 2.8), (3.5, 5.8), (6.6, 10.0)))
    assert before - under >= 6.0, (before, under)
    assert abs(after - before) < 1.0, (before, after)


def test_demo_music_is_ducked_under_dialogue_and_voiceover(demo_build):
    """The music stem against the same music before the sidechain (rebuilt from the bed as
    conform builds it): at least 6 dB less while a clip speaks its line or a voice-over
    line plays, and less than 1.5 dB less where nobody has spoken for a second."""
    import pyloudnorm

    film = demo_build / "results/demo"
    manifest = models.load(Manifest, film / "TRAILER_MANIFEST.json")
    stamp = Stamp.model_validate_json((film / "source.json").read_text())
    ducked, rate = soundfile.read(film / "stems/music.wav", dtype="float32")
    assert rate == RATE
    fps = Fraction(24)
    placements = place_segments(manifest, fps)
    timeline = sound.spans(manifest, fps, fit_transitions(placements, stamp, fps))
    bed = media.decode_audio(film / "music.wav", RATE, 2)
    meter = pyloudnorm.Meter(RATE)
    before, _ = sound.level(sound.music_stem(bed, timeline, len(ducked)), sound.STEM_LUFS["music"], meter)
    speech = np.zeros(len(ducked), bool)
    voice = [(v.at, v.at + v.source_out - v.source_in) for v in manifest.voiceover]
    for a, b in [(s.start, s.end) for s in timeline if s.has_line] + voice:
        speech[int(a * RATE) : int(b * RATE)] = True
    assert speech.sum() > 2 * RATE, "the demo speaks"
    near = np.convolve(speech, np.ones(RATE), mode="full")[: len(speech)] > 0  # within a second after speech
    music_on = np.abs(before).max(axis=1) > 1e-4
    inner = speech & np.roll(speech, int(0.15 * RATE))  # past the compressor's attack
    clear = ~near & music_on
    assert clear.sum() > 2 * RATE
    under = db(before[inner & music_on]) - db(ducked[inner & music_on])
    elsewhere = db(before[clear]) - db(ducked[clear])
    assert under >= 6.0, (under, elsewhere)
    assert elsewhere < 1.5, (under, elsewhere)


def test_demo_voiceover_and_effects(demo_build):
    film = demo_build / "results/demo"
    manifest = models.load(Manifest, film / "TRAILER_MANIFEST.json")
    structure = Structure.model_validate_json((film / "structure.json").read_text())
    lines = {ln["text"]: ln for ln in json.loads((film / "dialogue.json").read_text())["lines"]}
    spoken = {s.dialogue for s in manifest.segments if s.kind == "clip" and s.film_audio}
    assert 1 <= len(manifest.voiceover) <= 2
    voice, _ = soundfile.read(film / "stems/voiceover.wav")
    covered = np.zeros(len(voice), bool)
    for line in manifest.voiceover:
        assert line.text in lines and line.text not in spoken, "a film line not already heard"
        assert lines[line.text]["end"] <= structure.climax, "nothing from the climax on"
        a, b = int(line.at * RATE), int((line.at + line.source_out - line.source_in) * RATE)
        assert db(voice[a:b]) > -40
        covered[a:b] = True
    assert db(voice[~covered]) < -80, "silent outside its lines"
    fps = Fraction(24)
    spans = {p.segment.kind: p for p in place_segments(manifest, fps) if p.segment.kind == "black"}
    black = spans["black"]
    start, end = float(black.first_frame / fps), float((black.first_frame + black.frames) / fps)
    sfx, _ = soundfile.read(film / "stems/sfx.wav")
    riser = sfx[int((start - 2.5) * RATE) : int(start * RATE)]
    assert db(riser[-RATE // 2 :]) > db(riser[: RATE // 2]) + 10, "the riser climbs into the silent beat"
    hit = sfx[int(end * RATE) : int((end + 0.3) * RATE)]
    assert db(hit) > -30, "a hit on the climax's first frame"
    mix = media.decode_audio(demo_build / "trailer.mp4", RATE, 2)
    assert db(mix[int((start + 0.15) * RATE) : int((end - 0.05) * RATE)]) < -45, "the beat before the climax is silent"


@pytest.mark.parametrize("vibe", ["action", "drama", "horror"])
def test_synthesised_bed_keeps_its_tempo(vibe):
    """librosa hears the tempo the bed was made at, and its beats where the plan says."""
    import librosa

    samples, plan = music.synthesised_bed(get_vibe(vibe), 30.0)
    mono = librosa.resample(samples.mean(axis=1), orig_sr=RATE, target_sr=music.ANALYSIS_RATE)
    bpm, beats = music.detect_beats(mono)
    assert min(abs(bpm - plan.bpm * k) for k in (0.5, 1, 2)) < 0.03 * plan.bpm, (bpm, plan.bpm)
    grid = np.array(plan.beats)
    assert np.median([np.abs(grid - b).min() for b in beats]) < 0.03
