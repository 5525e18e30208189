"""The trailer's picture, one piece at a time, each piece cached under the hash of what
decides its frames.

A piece is what one ffmpeg process renders: the body of a clip (seek, rate, scale/pad,
grade LUT, dips), a title card, the black beat, or the overlap of a dissolve (the two
clips' handles, cross-faded). One process holds one or two decoders and one encoder, so
memory does not grow with the trailer. Pieces are encoded with identical x264 settings
into NUT files (exact timestamps at any rate) and joined by ffmpeg's concat demuxer with
stream copy, so the join costs no encode.

Each piece's file name is the hash of its spec: film fingerprint, source range, output
size and rate, grade, fades, card text and font, encoder settings and ffmpeg's version.
Editing one clip in the manifest changes one key (and a dissolve beside it); every other
piece is reused byte for byte. Keys no longer used are pruned after a render.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from . import atomic, media
from .errors import CinecutError

log = logging.getLogger(__name__)

SUFFIX = ".nut"
CRF = 18
# Bumped whenever a piece's filter chain changes, so that no cache holds pieces of two recipes.
RECIPE = 2
# Files a piece's filter graph reads, by names that need no escaping: every ffmpeg runs in
# the scratch folder that holds them (a film or folder named "a: b, [c]" is fine).
GRADE = "grade.cube"
FONT = "title.ttf"


@dataclass(frozen=True)
class Fade:
    """A dip's half on this piece: fade in from / out to `colour` over `frames`."""

    colour: str
    frames: int


@dataclass(frozen=True)
class Source:
    """A stretch of the film: `frames` output frames from `start` seconds."""

    start: str  # seconds, 6 decimals: the first frame's time, and what the key hashes
    frames: int
    seek: str = ""  # where the input seeks when not `start` (media.seek_point): a keyframe

    @classmethod
    def at(cls, start: float, frames: int, keyframes: Sequence[float] = ()) -> Source:
        seek = media.seek_point(start, keyframes)
        return cls(seconds(start), frames, seconds(seek) if seek != start else "")


@dataclass(frozen=True)
class Piece:
    """One stretch of the trailer's picture, rendered by one ffmpeg process."""

    kind: str  # clip, title, black or dissolve
    first_frame: int  # where it lands on the trailer timeline
    frames: int
    sources: tuple[Source, ...] = ()  # clip: one; dissolve: the outgoing and the incoming handle
    lines: tuple[str, ...] = ()  # title card text, already cased
    fade_in: Fade | None = None
    fade_out: Fade | None = None
    spec: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.spec, sort_keys=True).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Look:
    """What every piece shares: output geometry, rate, grade, card style, encoder."""

    film: str  # absolute: pieces render in the scratch folder
    fingerprint: str  # the film's mtime and size: a new film, new keys
    width: int
    height: int
    fps: Fraction
    lut_digest: str  # the grade's .cube, in the scratch folder as GRADE
    font: str  # the title font's own path (for the key); in the scratch folder as FONT
    title_colour: str
    preset: str
    # Grade the film's frames before scaling them up (the LUT then runs on fewer pixels);
    # false when the film is scaled down, or kept, to the trailer's size.
    grade_first: bool = False

    def identity(self) -> dict[str, Any]:
        return {
            "size": [self.width, self.height],
            "fps": str(self.fps),
            "encoder": {"codec": "libx264", "preset": self.preset, "crf": CRF, "pix_fmt": "yuv420p"},
            "ffmpeg": ffmpeg_version(),
            "recipe": RECIPE,
        }


@functools.cache
def ffmpeg_version() -> str:
    """Another ffmpeg may encode other bits: it must not join them with ours."""
    try:
        out = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unknown"
    return out.splitlines()[0] if out else "unknown"


def seconds(t: Fraction | float) -> str:
    return f"{float(t):.6f}"


def make_piece(look: Look, kind: str, first_frame: int, frames: int, **parts: Any) -> Piece:
    """A piece with its spec: everything that decides its frames, and nothing else."""
    piece = Piece(kind, first_frame, frames, **parts)
    spec: dict[str, Any] = {"kind": kind, "frames": frames, **look.identity()}
    if piece.sources:
        spec["film"] = look.fingerprint
        spec["grade"] = [look.lut_digest, "first" if look.grade_first else "after scaling"]
        spec["sources"] = [[s.start, s.frames, *([s.seek] if s.seek else [])] for s in piece.sources]
    if kind == "title":
        spec["text"] = list(piece.lines)
        spec["font"] = [look.font, look.title_colour]
    for name in ("fade_in", "fade_out"):
        fade = getattr(piece, name)
        if fade is not None:
            spec[name] = [fade.colour, fade.frames]
    return Piece(kind, first_frame, frames, **parts, spec=spec)


# --- ffmpeg invocations -----------------------------------------------------------------


def _picture_chain(look: Look, source: Source) -> str:
    """Film frames onto the trailer's grid: from the source's start (when the input seeks
    to a keyframe before it), rate, exact length (the last frame cloned if the film ends
    a frame or two early), square pixels, the grade at the smaller of the film's and the
    fitted size, then the letterbox (its bars stay black, ungraded)."""
    w, h, frames = look.width, look.height, source.frames
    skip = media.decode_skip(float(source.start), float(source.seek)) if source.seek else 0.0
    # The grade in 16-bit planar RGB: ffmpeg's lut3d has SIMD code there (1/5 of its cost
    # on 8-bit RGB, and finer steps). Each swscale step converts size and format at once.
    grade = f"format=gbrp16le,lut3d=file={GRADE}:interp=tetrahedral"
    fit = f"scale={w}:{h}:force_original_aspect_ratio=decrease"
    steps = [grade, fit, "format=yuv420p"] if look.grade_first else [fit, grade, "format=yuv420p"]
    return (
        (f"trim=start={seconds(skip)},setpts=PTS-{seconds(skip)}/TB," if skip else "") + f"fps={look.fps},"
        f"trim=end_frame={frames},setpts=PTS-STARTPTS,"
        f"tpad=stop_mode=clone:stop=-1,trim=end_frame={frames},"
        "scale=trunc(iw*sar/2)*2:ih," + ",".join(steps) + f",pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1"
    )


def _fades(piece: Piece, fps: Fraction) -> str:
    out = []
    if piece.fade_in:
        out.append(f"fade=t=in:st=0:d={seconds(piece.fade_in.frames / fps)}:color={piece.fade_in.colour}")
    if piece.fade_out:
        start = (piece.frames - piece.fade_out.frames) / fps
        out.append(
            f"fade=t=out:st={seconds(start)}:d={seconds(piece.fade_out.frames / fps)}:color={piece.fade_out.colour}"
        )
    return ",".join(out)


def _card_chain(piece: Piece, look: Look, scratch: Path) -> str:
    chain = [f"trim=end_frame={piece.frames}"]
    size = look.height // 11
    for i, line in enumerate(piece.lines):
        text_file = f"{piece.key}_{i}.txt"  # a file: no escaping of the text itself
        (scratch / text_file).write_text(line, encoding="utf-8")
        line_size = size if i == 0 else size // 2
        y = f"(h-{line_size})/2+{(i - (len(piece.lines) - 1) / 2) * size * 1.2:.0f}"
        chain.append(
            "drawtext="
            + ":".join(
                [
                    f"textfile={text_file}",
                    f"fontfile={FONT}",
                    f"fontsize={line_size}",
                    f"fontcolor={look.title_colour}",
                    "x=(w-text_w)/2",
                    f"y={media.escape_filter_value(y)}",
                ]
            )
        )
    if piece.kind == "title":
        total = piece.frames / float(look.fps)
        fade = min(0.5, total / 4)
        chain.append(f"fade=t=in:st=0:d={fade:.6f},fade=t=out:st={total - fade:.6f}:d={fade:.6f}")
    chain.append("setsar=1,format=yuv420p")
    return ",".join(chain)


def command(piece: Piece, look: Look, out: Path, scratch: Path) -> list[str]:
    """The ffmpeg command that renders `piece` to `out` (video only: the sound is built
    from the film by sound.py, sample-exact, on the trailer's timeline)."""
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-filter_threads", "1"]
    fades = _fades(piece, look.fps)
    if piece.kind in ("title", "black"):
        cmd += ["-f", "lavfi", "-i", f"color=c=black:s={look.width}x{look.height}:r={look.fps}"]
        graph = f"[0:v]{_card_chain(piece, look, scratch)}{',' + fades if fades else ''}[v]"
    else:
        for src in piece.sources:
            # Accurate input seek; a second's margin past the end for the rate conversion.
            seek = src.seek or src.start
            duration = src.frames / look.fps + 1 + float(src.start) - float(seek)
            cmd += ["-threads", "1", "-ss", seek, "-t", seconds(duration), "-i", look.film]
        chains = [f"[{i}:v:0]{_picture_chain(look, s)}" for i, s in enumerate(piece.sources)]
        if piece.kind == "dissolve":
            overlap = seconds(piece.frames / look.fps)
            graph = (
                f"{chains[0]},settb=1/{look.fps}[a];{chains[1]},settb=1/{look.fps}[b];"
                f"[a][b]xfade=transition=fade:duration={overlap}:offset=0,format=yuv420p[v]"
            )
        else:
            graph = f"{chains[0]}{',' + fades if fades else ''}[v]"
    cmd += [
        "-filter_complex",
        f"sws_flags=bilinear;{graph}",
        "-map",
        "[v]",
        "-frames:v",
        str(piece.frames),
        "-r",
        str(look.fps),
    ]
    cmd += ["-c:v", "libx264", "-preset", look.preset, "-crf", str(CRF), "-pix_fmt", "yuv420p", "-threads", "1"]
    cmd += ["-f", "nut", str(out)]
    return cmd


# --- the cache --------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderStats:
    rendered: int
    reused: int
    pruned: int

    def __str__(self) -> str:
        return (
            f"rendered {self.rendered} of {self.rendered + self.reused} segments, "
            f"{self.reused} reused, {self.pruned} pruned"
        )


def render_pieces(
    pieces: list[Piece],
    look: Look,
    cache: Path,
    scratch: Path,
    workers: int = 2,
    run: Callable[..., Any] = media.run,
) -> RenderStats:
    """Render the pieces missing from `cache`, `workers` at a time; prune unused keys."""
    cache.mkdir(parents=True, exist_ok=True)
    wanted = {p.key: p for p in pieces}
    missing = [p for k, p in wanted.items() if not (cache / f"{k}{SUFFIX}").is_file()]

    def render_one(piece: Piece) -> None:
        target = cache / f"{piece.key}{SUFFIX}"
        with atomic.atomic_path(target, suffix=SUFFIX) as tmp:
            what = f"rendering the {piece.kind} at frame {piece.first_frame}"
            run(command(piece, look, tmp.resolve(), scratch), look.film, what, cwd=scratch)

    # Longest first: no worker is left alone with a long clip at the end.
    by_length = sorted(missing, key=lambda p: p.frames, reverse=True)
    with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
        for future in [pool.submit(render_one, p) for p in by_length]:
            future.result()  # the first failure raises here
    pruned = 0
    for path in cache.glob(f"*{SUFFIX}"):
        if path.stem not in wanted:
            path.unlink(missing_ok=True)
            pruned += 1
    return RenderStats(len(missing), len(wanted) - len(missing), pruned)


def join(pieces: list[Piece], look: Look, cache: Path, out: Path) -> None:
    """Concatenate the cached pieces by stream copy. Each file's duration is given
    exactly, so timestamps stay on the frame grid across joins (x264's B-frame delay
    would otherwise shift them by a tick at each join)."""
    listing = out.with_suffix(".txt")
    lines = ["ffconcat version 1.0"]
    for piece in pieces:
        path = (cache / f"{piece.key}{SUFFIX}").resolve()
        lines += [f"file '{_concat_quote(str(path))}'", f"duration {seconds(piece.frames / look.fps)}"]
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    timescale = look.fps.numerator * -(-10000 // look.fps.numerator)
    media.run(
        ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing)]
        + ["-map", "0:v:0", "-c", "copy", "-video_track_timescale", str(timescale), "-f", "mov", str(out)],
        look.film,
        "joining the trailer's segments",
    )
    expected = sum(p.frames for p in pieces)
    counted = media.count_packets(out)
    if counted != expected:
        raise CinecutError(out, f"joined picture has {counted} frames, the plan {expected}")


def _concat_quote(path: str) -> str:
    return path.replace("'", "'\\''")
