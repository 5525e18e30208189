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
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import atomic, grade, media, segments, sound
from .errors import CinecutError
from .media import AUDIO_RATE
from .models import Manifest, Stamp
from .placement import PEAK_LIMIT, Placement, fit_transitions, place_segments
from .vibes import get_vibe

log = logging.getLogger(__name__)

FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu")


def font_path(name: str, font_dir: str = "") -> str:
    for folder in ((font_dir,) if font_dir else ()) + FONT_DIRS:
        path = Path(folder) / name
        if path.is_file():
            return str(path)
    raise CinecutError(name, "font not found; install fonts-dejavu-core or set font_dir in config.yaml")


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
                segments.Source.at(outgoing, 2 * half, stamp.seek_points),
                segments.Source.at(incoming, 2 * half, stamp.seek_points),
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
            parts["sources"] = (segments.Source.at(start, frames, stamp.seek_points),)
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
    joined by stream copy; beside it, the four stems (sound.py), the mix, and the loudness
    pass; then both muxed by copy. Stems go to `stems_dir` when given. Memory stays that of
    one or two decoders and one encoder per worker, whatever the trailer's length."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    vibe = get_vibe(manifest.vibe)
    with (
        atomic.atomic_path(out, suffix=".mp4") as tmp,
        tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as scratch_dir,
    ):
        scratch = Path(scratch_dir)
        lut = grade.write_cube(vibe.grade, scratch / segments.GRADE, title=vibe.name)
        font = font_path(vibe.title_font, font_dir)
        (scratch / segments.FONT).symlink_to(Path(font).resolve())
        look = segments.Look(
            film=str(Path(manifest.film).resolve()),
            fingerprint=stamp.fingerprint,
            width=width,
            height=height,
            fps=fps,
            lut_digest=hashlib.sha256(lut.read_bytes()).hexdigest()[:16],
            font=font,
            title_colour=vibe.title_colour,
            preset=preset,
            grade_first=_scaled_up(stamp, width, height),
        )
        placements = place_segments(manifest, fps)
        _warn_past_picture(placements, stamp)
        pieces = plan_pieces(manifest, stamp, look, placements, vibe.title_capitals)
        cache = Path(cache_dir) if cache_dir is not None else scratch / "segments"
        log.info("conform: %d segments in %d pieces at %dx%d %s fps", len(placements), len(pieces), width, height, fps)
        # The sound is built beside the picture: it needs none of it, and fills the
        # cores the pieces leave idle (the last piece, the join).
        with ThreadPoolExecutor(max_workers=1) as beside:
            sound_job = beside.submit(build_sound, manifest, stamp, placements, fps, scratch, vibe.loudness)
            clock = time.perf_counter()
            stats = segments.render_pieces(pieces, look, cache, scratch, workers=threads)
            picture = scratch / "picture.mov"
            segments.join(pieces, look, cache, picture)
            log.info("conform: %s; picture joined (%.1f s)", stats, time.perf_counter() - clock)
            audio, paths, ducked = sound_job.result()
        mux(picture, audio, tmp)
        if stems_dir is not None:
            _write_stems(paths, ducked, Path(stems_dir))
    return stats


def build_sound(
    manifest: Manifest, stamp: Stamp, placements: list[Placement], fps: Fraction, scratch: Path, target: float
) -> tuple[Path, dict[str, Path], Path]:
    """The four stems (sound.py), their mix, and the mix brought to `target` LUFS as AAC:
    the encoded sound, the stems' paths and the ducked music's."""
    clock = time.perf_counter()
    dialogue = sound.film_sound(manifest, stamp, placements)
    if manifest.music is not None:
        bed = media.decode_audio(manifest.music.file, AUDIO_RATE, 2)
    else:
        log.warning("conform: the manifest has no music; the music stem is silent")
        bed = np.zeros((AUDIO_RATE, 2), np.float32)
    timeline = sound.spans(manifest, fps, fit_transitions(placements, stamp, fps))
    paths = sound.build_stems(manifest, timeline, dialogue, bed, scratch, stamp.seek_points)
    del dialogue, bed  # the mix and the loudness pass read the stems' files
    mix, ducked = scratch / "mix.wav", scratch / "music_ducked.wav"
    media.run(sound.mix_command(paths, mix, ducked), manifest.film, "mixing the stems")
    audio = scratch / "sound.m4a"
    normalise_loudness(mix, audio, target)
    log.info("conform: the four stems, their mix and its loudness (%.1f s)", time.perf_counter() - clock)
    return audio, paths, ducked


def mux(picture: Path, audio: Path, out: Path) -> None:
    """The trailer: the joined picture and the encoded sound, both copied."""
    media.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(picture), "-i", str(audio)]
        + ["-map", "0:v:0", "-map", "1:a:0", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", str(out)],
        picture,
        "joining picture and sound",
    )


def _scaled_up(stamp: Stamp, width: int, height: int) -> bool:
    film_width, film_height = stamp.display_size
    return min(width / film_width, height / film_height) > 1


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


def normalise_loudness(mix: Path, out: Path, target: float) -> None:
    """Second pass over the mix: linear gain to the target, a limiter for the peaks,
    encoded to AAC in `out`. Sharp transients (a hit, a whoosh) can overshoot the limiter
    by 2 dB or more once AAC-encoded, so the encoded peak is measured, and the sound
    encoded again with the ceiling lowered by the excess when it is over PEAK_LIMIT."""
    m = measure_loudnorm(mix, target)
    ceiling = LIMITER_CEILING
    for _ in range(3):
        _encode_normalised(mix, out, target, m, ceiling)
        peak = media.loudness(out)[1]
        if not peak > PEAK_LIMIT:  # also when silent (-inf) or unmeasurable (nan)
            return
        excess = peak - PEAK_LIMIT + 0.5
        log.info("conform: true peak %.1f dBTP once encoded; the limiter %.1f dB lower", peak, excess)
        ceiling -= excess


def _encode_normalised(mix: Path, out: Path, target: float, m: dict[str, str], ceiling: float) -> None:
    if m.get("input_i") in (None, "-inf"):  # silence: nothing to normalise
        chain = "anull"
    else:
        chain = (
            f"loudnorm=I={target}:TP={TRUE_PEAK}:LRA=11:measured_I={m['input_i']}:measured_TP={m['input_tp']}"
            f":measured_LRA={m['input_lra']}:measured_thresh={m['input_thresh']}:offset={m['target_offset']}"
            f":linear=true,alimiter=limit={10 ** (ceiling / 20):.4f}:level=false:latency=1"
        )
    media.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(mix), "-map", "0:a:0"]
        + ["-af", f"aformat=channel_layouts=stereo,{chain},aresample={AUDIO_RATE}"]
        + ["-c:a", "aac", "-b:a", "192k", "-ac", "2", "-ar", str(AUDIO_RATE), "-f", "mp4", str(out)],
        mix,
        "normalising loudness",
    )
