"""The trailer's sound as four stems on the trailer timeline, mixed at the end.

- dialogue: the film's own sound of each clip (rendered with the picture), lowered
  under the voice-over;
- voiceover: lines of the film's dialogue heard over other pictures (manifest.voiceover);
- music: the bed, shaped per act (quiet set-up, building escalation, silent beat, full
  climax), ducked under dialogue and voice-over by a sidechain compressor;
- sfx: synthesised hits on the climax's hard cuts and the cards, risers into the act
  boundaries, whooshes on dissolves and dips.

Each stem is levelled (pyloudnorm, BS.1770) before the mix; the mix is then brought to
the vibe's loudness by conform's two-pass loudnorm. Stems are written beside the trailer
so an editor can remix them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyloudnorm
from scipy import signal

from . import media
from .media import AUDIO_RATE as RATE
from .models import Manifest, Stamp
from .placement import place_segments

log = logging.getLogger(__name__)

STEMS = ("dialogue", "voiceover", "music", "sfx")
# Loudness of each stem going into the mix (LUFS). Speech leads; the music sits under it
# and is ducked further while someone speaks; effects punctuate.
STEM_LUFS = {"dialogue": -20.0, "voiceover": -19.0, "music": -23.0, "sfx": -24.0}
# Music level per part of the trailer, dB: it builds with the acts.
ACT_MUSIC_DB = {1: -8.0, 2: -4.0, 3: 0.0}
CARD_MUSIC_DB = -3.0
UNDER_VOICEOVER_DB = -10.0  # the film's own sound while a voice-over line plays
# The music's sidechain compressor, keyed by dialogue and voice-over: it reacts to speech
# from -36 dBFS, fast enough to clear the first syllable, and lets go within a breath.
DUCKING = "sidechaincompress=threshold=0.016:ratio=12:attack=8:release=350:knee=2:makeup=1"


@dataclass(frozen=True)
class Span:
    """A segment on the trailer timeline, seconds, with how it begins."""

    start: float
    end: float
    kind: str
    act: int | None
    transition: str
    has_line: bool  # the clip plays its own dialogue line


def spans(manifest: Manifest, fps: Fraction, transitions: list[tuple[str, int]]) -> list[Span]:
    out = []
    for p, (into, _) in zip(place_segments(manifest, fps), transitions, strict=True):
        seg = p.segment
        start, end = float(p.first_frame / fps), float((p.first_frame + p.frames) / fps)
        has_line = seg.kind == "clip" and bool(seg.dialogue) and seg.film_audio
        out.append(Span(start, end, seg.kind, seg.act, into, has_line))
    return out


def _index(t: float) -> int:
    return max(int(round(t * RATE)), 0)


def _gain_curve(points: list[tuple[float, float, float]], n: int, ramp: float = 0.15, base: float = 1.0) -> np.ndarray:
    """Piecewise-constant gain (start, end, dB) over `base`, smoothed by a `ramp`-long moving average."""
    gain = np.full(n, base, np.float32)
    for start, end, db in points:
        gain[_index(start) : _index(end)] = 10 ** (db / 20)
    width = max(int(ramp * RATE), 1)
    padded = np.concatenate([np.full(width, gain[0]), gain, np.full(width, gain[-1])])
    cumsum = np.cumsum(padded, dtype=np.float64)
    smooth = (cumsum[width:] - cumsum[:-width]) / width
    return smooth[width // 2 : width // 2 + n].astype(np.float32)


def _place(out: np.ndarray, at: float, sound: np.ndarray, gain: float = 1.0, pan: float = 0.0) -> None:
    i = _index(at)
    if i >= len(out):
        return
    piece = sound[: len(out) - i] * gain
    out[i : i + len(piece), 0] += piece * np.sqrt(1 - pan)
    out[i : i + len(piece), 1] += piece * np.sqrt(1 + pan)


def music_stem(bed: np.ndarray, timeline: list[Span], n: int) -> np.ndarray:
    """The bed looped to the trailer's length and shaped: act levels, silence for the black
    beat (fading out just before it), full for the climax, a fade over the closing card."""
    if len(bed) < n:
        bed = np.tile(bed, (-(-n // len(bed)), 1))
    points = []
    for s in timeline:
        if s.kind == "black":
            points.append((s.start - 0.1, s.end, -120.0))
        elif s.kind == "title":
            points.append((s.start, s.end, CARD_MUSIC_DB))
        else:
            points.append((s.start, s.end, ACT_MUSIC_DB.get(s.act or 2, -4.0)))
    curve = _gain_curve(points, n)
    end = n / RATE
    fade = np.clip((end - np.arange(n) / RATE) / 2.5, 0.0, 1.0).astype(np.float32)  # last 2.5 s
    return bed[:n] * (curve * fade)[:, None]


def _hit(seconds: float = 1.2) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    body = np.sin(2 * np.pi * (40 * t + 50 * 0.08 * (1 - np.exp(-t / 0.08)))) * np.exp(-t / 0.35)
    rng = np.random.default_rng(7)
    crack = rng.normal(0, 1, len(t)) * np.exp(-t / 0.02)
    crack = signal.sosfilt(signal.butter(2, 3000, "low", fs=RATE, output="sos"), crack)
    return (0.9 * body + 0.5 * crack).astype(np.float32)


def _riser(seconds: float = 2.5) -> np.ndarray:
    """Noise and a tone that climb in pitch and level, stopping dead at the boundary."""
    t = np.arange(int(seconds * RATE)) / RATE
    freq = 150 * (1800 / 150) ** (t / seconds)
    tone = np.sin(2 * np.pi * np.cumsum(freq) / RATE)
    rng = np.random.default_rng(11)
    noise = signal.sosfilt(signal.butter(2, [500, 6000], "band", fs=RATE, output="sos"), rng.normal(0, 1, len(t)))
    env = (t / seconds) ** 2.5
    env[-int(0.01 * RATE) :] *= np.linspace(1, 0, int(0.01 * RATE))
    return ((0.5 * tone + 0.6 * noise) * env).astype(np.float32)


def _whoosh(seconds: float = 0.8) -> np.ndarray:
    rng = np.random.default_rng(5)
    noise = signal.sosfilt(
        signal.butter(2, [300, 4000], "band", fs=RATE, output="sos"), rng.normal(0, 1, int(seconds * RATE))
    )
    return (noise * np.hanning(len(noise))).astype(np.float32)


def sfx_stem(timeline: list[Span], n: int) -> np.ndarray:
    """Hits on hard cuts (louder in the climax, biggest on the climax's first frame) and on
    the cards; a riser into the title card and into the silent beat; a whoosh centred on
    every dissolve and dip."""
    out = np.zeros((n, 2), np.float32)
    hit, riser, whoosh = _hit(), _riser(), _whoosh()
    first_title = next((s for s in timeline if s.kind == "title"), None)
    after_black = False
    for s in timeline:
        if s.kind == "black":
            _place(out, s.start - len(riser) / RATE, riser, 0.6)
            after_black = True
            continue
        if s is first_title:
            _place(out, s.start - len(riser) / RATE, riser, 0.45)
        if s.kind == "title":
            _place(out, s.start, hit, 0.7)
        elif s.transition in ("dissolve", "fade_black", "fade_white") and s.start > 0:
            _place(out, s.start - len(whoosh) / RATE / 2, whoosh, 0.25, pan=-0.3)
        elif s.transition == "cut" and s.start > 0 and s.act in (2, 3):
            _place(out, s.start, hit, 1.0 if after_black else (0.35 if s.act == 3 else 0.15))
        after_black = False
    return out


def film_sound(manifest: Manifest, stamp: Stamp, placements: list) -> np.ndarray:
    """The film's own sound of each clip that plays it, on the trailer's timeline: read
    clip by clip (never the whole soundtrack), each exactly as many samples as its place,
    with 10 ms / 30 ms ramps so no join clicks."""
    total = placements[-1].first_sample + placements[-1].samples if placements else 0
    out = np.zeros((total, 2), np.float32)
    if not stamp.has_audio:
        return out
    for p in placements:
        seg = p.segment
        if seg.kind != "clip" or not seg.film_audio:
            continue
        audio = media.decode_audio(
            manifest.film,
            RATE,
            2,
            start=float(seg.source_in),
            duration=p.samples / RATE + 0.1,
            keyframes=stamp.seek_points,
        )
        audio = np.pad(audio[: p.samples], ((0, max(p.samples - len(audio), 0)), (0, 0)))
        ramp_in, ramp_out = min(int(0.01 * RATE), p.samples), min(int(0.03 * RATE), p.samples)
        audio[:ramp_in] *= np.linspace(0, 1, ramp_in, dtype=np.float32)[:, None]
        audio[p.samples - ramp_out :] *= np.linspace(1, 0, ramp_out, dtype=np.float32)[:, None]
        out[p.first_sample : p.first_sample + p.samples] = audio
    return out


def voiceover_stem(manifest: Manifest, n: int, keyframes: Sequence[float] = ()) -> np.ndarray:
    out = np.zeros((n, 2), np.float32)
    for line in manifest.voiceover:
        audio = media.decode_audio(
            manifest.film,
            RATE,
            2,
            start=line.source_in,
            duration=line.source_out - line.source_in,
            keyframes=keyframes,
        )
        if len(audio) == 0:
            continue
        ramp = min(int(0.02 * RATE), len(audio) // 2)
        audio[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)[:, None]
        audio[len(audio) - ramp :] *= np.linspace(1, 0, ramp, dtype=np.float32)[:, None]
        _place(out, line.at, audio.mean(axis=1))  # a voice is mono, centred
    return out


def level(stem: np.ndarray, lufs: float, meter: pyloudnorm.Meter) -> tuple[np.ndarray, float]:
    """Gain the stem to `lufs`, in place; a silent stem stays silent. Returns (stem,
    measured LUFS). Measured in float32: the same figure as in float64 (to 1e-6 LU), with
    no double-width copy of a trailer-length stem."""
    if not np.any(np.abs(stem) > 1e-5) or len(stem) < RATE // 2:
        return stem, float("-inf")
    measured = meter.integrated_loudness(stem)
    if not np.isfinite(measured):
        return stem, measured
    stem *= np.float32(10 ** ((lufs - measured) / 20))
    return stem, measured


def build_stems(
    manifest: Manifest,
    timeline: list[Span],
    dialogue: np.ndarray,
    bed: np.ndarray,
    scratch: Path,
    keyframes: Sequence[float] = (),
) -> dict[str, Path]:
    """Dialogue, voice-over, (unducked) music, effects and the ducking key as WAV files in
    `scratch`, each levelled; returns their paths. Each stem is built, levelled, written
    and let go in turn: beside the film's sound and the bed, only the key and one stem
    are held at a time."""
    n = len(dialogue)
    meter = pyloudnorm.Meter(RATE)
    under_voice = [(ln.at, ln.at + (ln.source_out - ln.source_in), UNDER_VOICEOVER_DB) for ln in manifest.voiceover]
    builders: dict[str, Callable[[], np.ndarray]] = {
        "dialogue": lambda: dialogue * _gain_curve(under_voice, n)[:, None],
        "voiceover": lambda: voiceover_stem(manifest, n, keyframes),
        "music": lambda: music_stem(bed, timeline, n),
        "sfx": lambda: sfx_stem(timeline, n),
    }
    # The ducking key: speech only (clips that play their line, and the voice-over).
    speech = _gain_curve([(s.start, s.end, 0.0) for s in timeline if s.has_line], n, ramp=0.02, base=0.0)
    key = np.zeros((n, 2), np.float32)
    paths = {}
    for name, build in builders.items():
        stem, measured = level(build(), STEM_LUFS[name], meter)
        log.info(
            "stem %s: %.1f LUFS -> %.1f LUFS", name, measured, STEM_LUFS[name] if np.isfinite(measured) else measured
        )
        if name == "dialogue":
            key += stem * speech[:, None]
        elif name == "voiceover":
            key += stem
        paths[name] = scratch / f"{name}.wav"
        media.write_wav(paths[name], stem, RATE, subtype="FLOAT")
        del stem
    paths["key"] = scratch / "key.wav"
    media.write_wav(paths["key"], key, RATE, subtype="FLOAT")
    return paths


def mix_command(paths: dict[str, Path], out_mix: Path, out_music: Path) -> list[str]:
    """ffmpeg: the music ducked by the key (sidechain), then the four stems summed."""
    graph = (
        f"[2:a][4:a]{DUCKING}[ducked];[ducked]asplit=2[m1][m2];"
        "[0:a][1:a][m1][3:a]amix=inputs=4:normalize=0:duration=first[mix]"
    )
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y"]
    for name in ("dialogue", "voiceover", "music", "sfx", "key"):
        cmd += ["-i", str(paths[name])]
    cmd += ["-filter_complex", graph]
    cmd += ["-map", "[mix]", "-c:a", "pcm_f32le", str(out_mix)]
    cmd += ["-map", "[m2]", "-c:a", "pcm_s24le", str(out_music)]
    return cmd
