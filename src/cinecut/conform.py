"""Conform: render the manifest into trailer.mp4, one piece of picture at a time.

Every segment is brought to one frame rate, size, sample aspect, pixel format and
audio layout, and trimmed to a whole number of frames with exactly the matching
number of audio samples, so concatenation cannot drift.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import atomic, grade, media, segments, sound
from .errors import CinecutError
from .manifest import Manifest, Segment
from .models import Stamp
from .vibes import get_vibe

log = logging.getLogger(__name__)

AUDIO_RATE = 48000
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")


@dataclass(frozen=True)
class Placement:
    """Where a segment lands in the trailer, in frames and audio samples."""

    segment: Segment
    first_frame: int
    frames: int
    first_sample: int
    samples: int


def place_segments(manifest: Manifest, fps: Fraction) -> list[Placement]:
    """Frame counts per segment; sample counts from the cumulative frame position."""
    placements, frame = [], 0
    for seg in manifest.segments:
        frames = max(round(seg.length * fps), 1)
        s0 = round(Fraction(frame) / fps * AUDIO_RATE)
        s1 = round(Fraction(frame + frames) / fps * AUDIO_RATE)
        placements.append(Placement(seg, frame, frames, s0, s1 - s0))
        frame += frames
    return placements


STANDARD_RATES = [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
                  Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60)]  # fmt: skip


def output_rate(stamp: Stamp, configured: float) -> Fraction:
    """The configured rate, else the film's: snapped to the standard rate within 1.5% (a
    variable-rate film's average, e.g. 29.83 from a phone, becomes 29.97), else 25."""
    if configured > 0:
        return Fraction(configured).limit_denominator(1001)
    rate = Fraction(stamp.fps)
    nearest = min(STANDARD_RATES, key=lambda r: abs(r - rate))
    if abs(nearest - rate) <= Fraction(15, 1000) * rate:
        return nearest
    return rate.limit_denominator(1001) if 12 <= rate <= 60 else Fraction(25)


def output_size(stamp: Stamp, width: int, height: int) -> tuple[int, int]:
    """The configured size; 0 for both = the film's own, 0 for one = keep the film's aspect."""
    if width and height:
        return width, height
    film_width = stamp.display_width
    if not width and not height:
        width, height = film_width, stamp.display_height
    elif not width:
        width = round(height * film_width / stamp.display_height)
    else:
        height = round(width * stamp.display_height / film_width)
    return max(width // 2 * 2, 2), max(height // 2 * 2, 2)


def font_path(name: str, font_dir: str = "") -> str:
    for folder in ((font_dir,) if font_dir else ()) + FONT_DIRS:
        path = Path(folder) / name
        if path.is_file():
            return str(path)
    raise CinecutError(name, "font not found; install fonts-dejavu-core or set font_dir in config.yaml")


def fit_transitions(placements: list[Placement], stamp: Stamp, fps: Fraction) -> list[tuple[str, int]]:
    """(kind, frames) of the transition into each segment, fitted to what is there:
    a dissolve needs film beyond both clips' in/out points (its handles, half the
    dissolve each side) and becomes a cut where there is none; a dip fits both segments."""
    first = placements[0]
    dip = min(round(first.segment.transition_seconds / 2 * fps), first.frames // 2)
    out: list[tuple[str, int]] = [
        (first.segment.transition, dip) if first.segment.transition.startswith("fade_") else ("cut", 0)
    ]
    for prev, p in zip(placements, placements[1:], strict=False):
        seg, before = p.segment, prev.segment
        half = round(seg.transition_seconds / 2 * fps)
        half = min(half, prev.frames // 2, p.frames // 2)
        if seg.transition == "dissolve":
            if seg.kind == "clip" and before.kind == "clip":
                lead = int(float(seg.source_in) * fps)  # type: ignore[arg-type]
                after = int((stamp.duration - float(before.source_out)) * fps) - 1  # type: ignore[arg-type]
                half = min(half, lead, after)
            else:
                half = 0
        out.append((seg.transition, half) if half > 0 else ("cut", 0))
    return out


def plan_pieces(
    manifest: Manifest, stamp: Stamp, look: segments.Look, placements: list[Placement], title_capitals: bool
) -> list[segments.Piece]:
    """The trailer's picture as pieces in timeline order: each segment's body (its frames
    less the halves of any dissolve at its ends, with its dips), and between two clips
    joined by a dissolve, the overlap of their handles. Every piece starts on the frame
    place_segments gives it."""
    fps = look.fps
    transitions = fit_transitions(placements, stamp, fps) + [("cut", 0)]
    pieces: list[segments.Piece] = []
    for i, p in enumerate(placements):
        seg = p.segment
        (into, half), (out_of, half_out) = transitions[i], transitions[i + 1]
        cut_in = half if into == "dissolve" else 0
        cut_out = half_out if out_of == "dissolve" else 0
        if cut_in:
            prev = placements[i - 1]
            outgoing = float(prev.segment.source_in) + float((prev.frames - half) / fps)  # type: ignore[arg-type]
            incoming = float(seg.source_in) - float(half / fps)  # type: ignore[arg-type]
            sources = (
                segments.Source(segments.seconds(outgoing), 2 * half),
                segments.Source(segments.seconds(incoming), 2 * half),
            )
            pieces.append(segments.make_piece(look, "dissolve", p.first_frame - half, 2 * half, sources=sources))
        frames = p.frames - cut_in - cut_out
        if frames <= 0:
            continue
        parts: dict = {
            "fade_in": segments.Fade(into[5:], half) if into.startswith("fade_") and half else None,
            "fade_out": segments.Fade(out_of[5:], half_out) if out_of.startswith("fade_") and half_out else None,
        }
        if seg.kind == "clip":
            start = float(seg.source_in) + float(cut_in / fps)  # type: ignore[arg-type]
            parts["sources"] = (segments.Source(segments.seconds(start), frames),)
        elif seg.kind == "title":
            text = seg.text or ""
            parts["lines"] = tuple((text.upper() if title_capitals else text).splitlines())
        pieces.append(segments.make_piece(look, seg.kind, p.first_frame + cut_in, frames, **parts))
    return pieces


def check_against_film(manifest: Manifest, stamp: Stamp, manifest_path: str) -> None:
    """Hand edits may point outside the film: say which segment."""
    for i, seg in enumerate(manifest.segments):
        if seg.kind == "clip" and (seg.source_out or 0) > stamp.duration + 0.05:
            raise CinecutError(
                manifest_path,
                f"segments.{i}.source_out: {seg.source_out} s is past the film's end ({stamp.duration:.2f} s)",
            )


def render(
    manifest: Manifest,
    stamp: Stamp,
    out: str | Path,
    width: int,
    height: int,
    fps: Fraction,
    preset: str = "fast",
    font_dir: str = "",
    stems_dir: str | Path | None = None,
    cache_dir: str | Path | None = None,
    threads: int = 2,
) -> segments.RenderStats:
    """The picture piece by piece (segments.py; pieces already in `cache_dir` are reused),
    joined by stream copy; then the four stems (sound.py), the mix, and the loudness pass.
    Stems go to `stems_dir` when given. Memory stays that of one or two decoders and one
    encoder per worker, whatever the trailer's length."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    vibe = get_vibe(manifest.vibe)
    with (
        atomic.atomic_path(out, suffix=".mp4") as tmp,
        tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as scratch_dir,
    ):
        scratch = Path(scratch_dir)
        lut = grade.write_cube(vibe.grade, scratch / f"{vibe.name}.cube", title=vibe.name)
        look = segments.Look(
            film=manifest.film,
            fingerprint=stamp.fingerprint,
            width=width,
            height=height,
            fps=fps,
            lut=lut,
            lut_digest=hashlib.sha256(lut.read_bytes()).hexdigest()[:16],
            font=font_path(vibe.title_font, font_dir),
            title_colour=vibe.title_colour,
            preset=preset,
        )
        placements = place_segments(manifest, fps)
        _warn_past_picture(placements, stamp)
        pieces = plan_pieces(manifest, stamp, look, placements, vibe.title_capitals)
        cache = Path(cache_dir) if cache_dir is not None else scratch / "segments"
        log.info("conform: %d segments in %d pieces at %dx%d %s fps", len(placements), len(pieces), width, height, fps)
        stats = segments.render_pieces(pieces, look, cache, scratch, workers=threads)
        log.info("conform: %s", stats)
        picture = scratch / "picture.mov"
        segments.join(pieces, look, cache, picture)
        dialogue = sound.film_sound(manifest, stamp, placements)
        if manifest.music is not None:
            bed = media.decode_audio(manifest.music.file, AUDIO_RATE, 2)
        else:
            log.warning("conform: the manifest has no music; the music stem is silent")
            bed = np.zeros((AUDIO_RATE, 2), np.float32)
        timeline = sound.spans(manifest, fps, fit_transitions(placements, stamp, fps))
        paths = sound.build_stems(manifest, timeline, dialogue, bed, scratch)
        mix, ducked = scratch / "mix.wav", scratch / "music_ducked.wav"
        media.run(sound.mix_command(paths, mix, ducked), manifest.film, "mixing the stems")
        normalise_loudness(picture, mix, tmp, vibe.loudness)
        if stems_dir is not None:
            _write_stems(paths, ducked, Path(stems_dir))
    return stats


def _warn_past_picture(placements: list[Placement], stamp: Stamp) -> None:
    """A clip reaching past the film's last frame gets that frame repeated: say so."""
    for p in placements:
        seg = p.segment
        if seg.kind == "clip" and float(seg.source_out) > stamp.duration:  # type: ignore[arg-type]
            log.warning(
                "conform: the clip at %.2f-%.2f s reaches past the film's picture (%.2f s); its last frame is repeated",
                seg.source_in,
                seg.source_out,
                stamp.duration,
            )


def _write_stems(paths: dict[str, Path], ducked: Path, stems_dir: Path) -> None:
    for name in sound.STEMS:
        src = ducked if name == "music" else paths[name]
        with atomic.atomic_path(stems_dir / f"{name}.wav") as stem_tmp:
            media.run(
                ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c:a", "pcm_s24le", "-f", "wav", str(stem_tmp)],
                src,
                f"writing the {name} stem",
            )


TRUE_PEAK = -2.0  # dBTP asked of loudnorm
PEAK_LIMIT = -1.0  # dBTP the delivered trailer must not exceed (what QC checks)
# The limiter runs on loudnorm's 192 kHz output, so it limits (nearly) true peaks; its
# ceiling sits 1 dB lower still because AAC encoding adds overshoot.
LIMITER_CEILING = TRUE_PEAK - 1.0


def measure_loudnorm(path: Path, target: float) -> dict[str, str]:
    """First loudnorm pass: the audio's measured loudness, range, peak and threshold."""
    err = media.audio_report(path, f"loudnorm=I={target}:TP={TRUE_PEAK}:LRA=11:print_format=json", "measuring loudness")
    start, end = err.rfind("{"), err.rfind("}")
    try:
        return json.loads(err[start : end + 1])
    except ValueError as exc:
        raise CinecutError(path, "loudness measurement gave no result") from exc


def normalise_loudness(picture: Path, mix: Path, out: Path, target: float) -> None:
    """Second pass over the mix: linear gain to the target, a limiter for the peaks; the
    picture's video copied. Sharp transients (a hit, a whoosh) can overshoot the limiter by
    2 dB or more once AAC-encoded, so the encoded peak is measured, and the audio encoded
    again with the ceiling lowered by the excess when it is over PEAK_LIMIT."""
    m = measure_loudnorm(mix, target)
    ceiling = LIMITER_CEILING
    for _ in range(3):
        _encode_normalised(picture, mix, out, target, m, ceiling)
        peak = media.loudness(out)[1]
        if not peak > PEAK_LIMIT:  # also when silent (-inf) or unmeasurable (nan)
            return
        excess = peak - PEAK_LIMIT + 0.5
        log.info("conform: true peak %.1f dBTP once encoded; the limiter %.1f dB lower", peak, excess)
        ceiling -= excess


def _encode_normalised(picture: Path, mix: Path, out: Path, target: float, m: dict[str, str], ceiling: float) -> None:
    if m.get("input_i") in (None, "-inf"):  # silence: nothing to normalise
        chain = "anull"
    else:
        chain = (
            f"loudnorm=I={target}:TP={TRUE_PEAK}:LRA=11:measured_I={m['input_i']}:measured_TP={m['input_tp']}"
            f":measured_LRA={m['input_lra']}:measured_thresh={m['input_thresh']}:offset={m['target_offset']}"
            f":linear=true,alimiter=limit={10 ** (ceiling / 20):.4f}:level=false"
        )
    media.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-i",
            str(picture),
            "-i",
            str(mix),
            "-map",
            "0:v:0",
            "-map",
            "1:a:0",
            "-c:v",
            "copy",
            "-af",
            f"aformat=channel_layouts=stereo,{chain},aresample={AUDIO_RATE}",
            "-c:a",
            "aac",
            "-b:a",
            "192k",
            "-ac",
            "2",
            "-ar",
            str(AUDIO_RATE),
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(out),
        ],
        picture,
        "normalising loudness",
    )
