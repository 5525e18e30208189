"""The source stamp: the film's mtime and size, plus what ffprobe says of it."""

from __future__ import annotations

import os
from pathlib import Path

from . import media
from .models import Stamp

#: Signature used for films that a rule produces (the demo): the film is then an
#: ordinary input of the stamp rule and Snakemake's mtime logic covers it.
RULE_PRODUCED = "rule-produced"
MISSING = "missing"
#: What a folder glob of films picks up, and the subtitles looked for beside each film.
FILM_SUFFIXES = (".mkv", ".mp4", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts")
SUBTITLE_SUFFIXES = (".srt", ".ass", ".ssa", ".vtt")


def signature(path: str | Path) -> str:
    """`mtime_ns:size` of a film the user brings; cheap, evaluated while the DAG is built."""
    try:
        st = os.stat(path)
    except OSError:
        return MISSING
    return f"{st.st_mtime_ns}:{st.st_size}"


def make_stamp(film: str | Path) -> Stamp:
    info = media.probe(film)  # raises a one-line CinecutError for missing / non-media files
    st = os.stat(film)
    return Stamp(
        film=str(film),
        mtime_ns=st.st_mtime_ns,
        size=st.st_size,
        duration=info.duration,
        width=info.width,
        height=info.height,
        fps=f"{info.fps.numerator}/{info.fps.denominator}",
        has_audio=info.has_audio,
        audio_channels=info.audio_channels,
        sar=f"{info.sar.numerator}/{info.sar.denominator}",
        rotation=info.rotation,
        picture_start=info.picture_start,
        sound_end=info.sound_end,
        container_duration=info.container_duration,
        seek_points=list(info.seek_points),
    )
