"""Conform: render the manifest into trailer.mp4 with one ffmpeg invocation.

Every segment is brought to one frame rate, size, sample aspect, pixel format and
audio layout, and trimmed to a whole number of frames with exactly the matching
number of audio samples, so concatenation cannot drift.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import ffmpeg as ffm  # ffmpeg-python: builds the filter graph and escapes its values
import numpy as np

from . import atomic, grade, media, sound
from .errors import CinecutError
from .manifest import Manifest, Segment
from .models import Stamp
from .vibes import Vibe, get_vibe

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


def _picture(stream, w: int, h: int, fps: Fraction, frames: int):
    return (
        stream.filter("fps", fps=str(fps))
        .filter("trim", end_frame=frames)
        .filter("setpts", "PTS-STARTPTS")
        .filter("scale", "trunc(iw*sar/2)*2", "ih")  # square pixels first
        .filter("scale", w, h, force_original_aspect_ratio="decrease")
        .filter("pad", w, h, "(ow-iw)/2", "(oh-ih)/2", color="black")
        .filter("setsar", "1")
    )


def _input(source: str, key: int, **options):
    """An input of its own for one segment. ffmpeg-python merges inputs with equal
    arguments into one node, which two equal cards, silences or duplicated clips would
    then share; a distinct (and harmless) thread_queue_size per segment keeps them apart."""
    return ffm.input(source, thread_queue_size=512 + key, **options)


def _generated(source: str, key: int):
    return _input(source, key, f="lavfi")


def _silence(samples: int, key: int):
    return _generated(f"anullsrc=r={AUDIO_RATE}:cl=stereo", key).filter("atrim", end_sample=samples)


def _card(p: Placement, w: int, h: int, fps: Fraction, font: str, vibe: Vibe, text_dir: Path):
    video = _generated(f"color=c=black:s={w}x{h}:r={fps}", p.first_frame).filter("trim", end_frame=p.frames)
    colour = vibe.title_colour
    if p.segment.kind == "title":
        text = p.segment.text or ""
        lines = (text.upper() if vibe.title_capitals else text).splitlines()
        size = h // 11
        for i, line in enumerate(lines):
            text_file = text_dir / f"card{p.first_frame}_{i}.txt"
            text_file.write_text(line, encoding="utf-8")
            line_size = size if i == 0 else size // 2
            y = f"(h-{line_size})/2+{(i - (len(lines) - 1) / 2) * size * 1.2:.0f}"
            video = video.drawtext(
                textfile=str(text_file),
                fontfile=font,
                fontsize=line_size,
                fontcolor=colour,
                x="(w-text_w)/2",
                y=y,
            )
        seconds = p.frames / float(fps)
        fade = min(0.5, seconds / 4)
        video = video.filter("fade", t="in", st=0, d=fade).filter("fade", t="out", st=seconds - fade, d=fade)
    return video.filter("setsar", "1"), _silence(p.samples, p.first_frame)


def _sec(t: Fraction) -> str:
    """Seconds as ffmpeg's duration options read them (they take no fractions)."""
    return f"{float(t):.6f}"


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


def build_command(
    manifest: Manifest,
    stamp: Stamp,
    out: Path,
    text_dir: Path,
    width: int,
    height: int,
    fps: Fraction,
    preset: str = "fast",
    font_dir: str = "",
) -> list[str]:
    vibe = get_vibe(manifest.vibe)
    font = font_path(vibe.title_font, font_dir)
    placements = place_segments(manifest, fps)
    transitions = fit_transitions(placements, stamp, fps) + [("cut", 0)]
    lut = grade.write_cube(vibe.grade, text_dir / f"{vibe.name}.cube", title=vibe.name)
    videos, audios, lengths = [], [], []
    for i, p in enumerate(placements):
        seg = p.segment
        (into, half), (out_of, half_out) = transitions[i], transitions[i + 1]
        head = half if into == "dissolve" else 0  # film before the in point, under the dissolve
        tail = half_out if out_of == "dissolve" else 0  # film after the out point
        if seg.kind != "clip":
            video, audio = _card(p, width, height, fps, font, vibe, text_dir)
        else:
            # Accurate input seek per clip; one decoder thread each keeps memory down
            # (48 clips from a 720p film: 0.77 GB instead of 1.1 GB, same speed).
            frames = p.frames + head + tail
            src = _input(
                manifest.film,
                p.first_frame,
                ss=f"{float(seg.source_in) - head / fps:.6f}",  # type: ignore[arg-type]
                t=f"{frames / fps + 1.0:.6f}",
                threads=1,
            )
            video = _picture(src.video, width, height, fps, frames).filter("lut3d", file=str(lut), interp="tetrahedral")
            if stamp.has_audio and seg.film_audio:
                skip = round(Fraction(head) / fps * AUDIO_RATE)
                audio = (
                    src.audio.filter("aresample", AUDIO_RATE)
                    .filter("aformat", sample_fmts="fltp", channel_layouts="stereo")
                    .filter("apad")
                    .filter("atrim", start_sample=skip, end_sample=skip + p.samples)
                    .filter("asetpts", "N/SR/TB")
                    .filter("afade", t="in", d=0.01)
                    .filter("afade", t="out", st=max(p.samples / AUDIO_RATE - 0.03, 0), d=0.03)
                )
            else:
                audio = _silence(p.samples, p.first_frame)
        # Dips through black or white: this segment fades in, the previous one fades out.
        length = p.frames + head + tail
        if into.startswith("fade_"):
            video = video.filter("fade", t="in", st=0, d=_sec(half / fps), color=into[5:])
        if out_of.startswith("fade_"):
            video = video.filter(
                "fade", t="out", st=_sec((length - half_out) / fps), d=_sec(half_out / fps), color=out_of[5:]
            )
        videos.append(video.filter("format", "yuv420p"))
        audios.append(audio)
        lengths.append(length)
    # Picture: concatenated, or cross-faded over the two handles where a dissolve joins
    # two clips; either way every segment starts on the frame place_segments gave it.
    picture, total = videos[0], lengths[0]
    for (into, half), video, length in zip(transitions[1:], videos[1:], lengths[1:], strict=False):
        if into == "dissolve":
            overlap = 2 * half
            picture = picture.filter("settb", str(1 / fps))  # concat leaves 1/1000000; xfade wants equal
            picture = ffm.filter(
                [picture, video],
                "xfade",
                transition="fade",
                duration=_sec(overlap / fps),
                offset=_sec((total - overlap) / fps),
            )
            total += length - overlap
        else:
            picture = ffm.concat(picture, video, v=1, a=0)
            total += length
    sound = ffm.concat(*audios, v=0, a=1)
    # Picture final, sound as PCM: loudness is normalised afterwards in two passes.
    output = ffm.output(
        picture,
        sound,
        str(out),
        f="mov",
        vcodec="libx264",
        preset=preset,
        crf=18,
        pix_fmt="yuv420p",
        r=str(fps),
        acodec="pcm_s16le",
        ar=AUDIO_RATE,
        ac=2,
    )
    return ffm.compile(output.global_args("-hide_banner", "-nostdin", "-v", "error"), overwrite_output=True)


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
) -> None:
    """Picture and the film's sound in one ffmpeg pass; then the four stems (sound.py),
    the mix, and the loudness pass. Stems go to `stems_dir` when given."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    target = get_vibe(manifest.vibe).loudness
    with (
        atomic.atomic_path(out, suffix=".mp4") as tmp,
        tempfile.TemporaryDirectory(prefix=f".{out.name}.", dir=out.parent) as scratch_dir,
    ):
        scratch = Path(scratch_dir)
        picture = scratch / "picture.mov"
        cmd = build_command(manifest, stamp, picture, scratch, width, height, fps, preset, font_dir)
        log.info("conform: %d segments at %dx%d %s fps", len(manifest.segments), width, height, fps)
        media.run(cmd, manifest.film, "rendering the trailer")
        placements = place_segments(manifest, fps)
        total = placements[-1].first_sample + placements[-1].samples
        dialogue = media.decode_audio(picture, AUDIO_RATE, 2)
        dialogue = np.pad(dialogue, ((0, max(total - len(dialogue), 0)), (0, 0)))[:total]
        if manifest.music is not None:
            bed = media.decode_audio(manifest.music.file, AUDIO_RATE, 2)
        else:
            log.warning("conform: the manifest has no music; the music stem is silent")
            bed = np.zeros((AUDIO_RATE, 2), np.float32)
        timeline = sound.spans(manifest, fps, fit_transitions(placements, stamp, fps))
        paths = sound.build_stems(manifest, timeline, dialogue, bed, scratch)
        mix, ducked = scratch / "mix.wav", scratch / "music_ducked.wav"
        media.run(sound.mix_command(paths, mix, ducked), manifest.film, "mixing the stems")
        normalise_loudness(picture, mix, tmp, target)
        if stems_dir is not None:
            stems_dir = Path(stems_dir)
            for name in sound.STEMS:
                src = ducked if name == "music" else paths[name]
                with atomic.atomic_path(stems_dir / f"{name}.wav") as stem_tmp:
                    media.run(
                        [
                            "ffmpeg",
                            "-v",
                            "error",
                            "-y",
                            "-i",
                            str(src),
                            "-c:a",
                            "pcm_s24le",
                            "-f",
                            "wav",
                            str(stem_tmp),
                        ],
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
