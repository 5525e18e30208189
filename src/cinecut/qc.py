"""QC: measure the rendered trailer itself and fail on a defect."""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

from pydantic import BaseModel

from . import media
from .conform import place_segments
from .manifest import Manifest
from .models import Artefact


class Check(BaseModel):
    name: str
    value: float | str | bool
    expected: str
    ok: bool


class QCReport(Artefact):
    trailer: str
    passed: bool
    duration: float
    clips: int
    checks: list[Check]


def _streams(path: Path) -> dict:
    out = media.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-show_format", str(path)],
        path,
        "probing the trailer",
    )
    return json.loads(out)


def integrated_loudness(path: Path) -> tuple[float, float]:
    """EBU R128 integrated loudness (LUFS) and true peak (dBTP) via ffmpeg's ebur128."""
    err = media.run_stderr(
        [
            "ffmpeg",
            "-hide_banner",
            "-nostats",
            "-nostdin",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-af",
            "ebur128=peak=true",
            "-f",
            "null",
            "-",
        ],
        path,
        "measuring loudness",
    )
    summary = err[err.rfind("Summary:") :]
    i = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    return (float(i.group(1)) if i else float("nan"), float(peak.group(1)) if peak else float("nan"))


def measure(
    trailer: str | Path, manifest: Manifest, width: int, height: int, loudness_target: float, film_has_audio: bool
) -> QCReport:
    """Measure the trailer. A film without sound gives a silent trailer (until the music
    stage exists), so its loudness check expects silence instead of the target."""
    trailer = Path(trailer)
    info = _streams(trailer)
    streams = info.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"), {})
    audio = next((s for s in streams if s.get("codec_type") == "audio"), {})
    fps = Fraction(video.get("r_frame_rate", "0/1") or "0/1")
    frame = float(1 / fps) if fps else 0.0
    vdur = float(video.get("duration", 0) or 0)
    adur = float(audio.get("duration", 0) or 0)
    plan = place_segments(manifest, fps) if fps else []
    expected = (plan[-1].first_frame + plan[-1].frames) / float(fps) if plan else 0.0
    lufs, peak = integrated_loudness(trailer) if audio else (float("nan"), float("nan"))
    checks = [
        Check(name="video stream", value=bool(video), expected="present", ok=bool(video)),
        Check(name="audio stream", value=bool(audio), expected="present", ok=bool(audio)),
        Check(
            name="resolution",
            value=f"{video.get('width')}x{video.get('height')}",
            expected=f"{width}x{height}",
            ok=(video.get("width"), video.get("height")) == (width, height),
        ),
        Check(
            name="A/V duration difference (s)",
            value=round(abs(vdur - adur), 4),
            expected=f"<= 1 frame ({frame:.4f})",
            ok=abs(vdur - adur) <= frame + 1e-3,
        ),
        Check(
            name="duration vs manifest (s)",
            value=round(vdur, 4),
            expected=f"{expected:.4f} +- 1 frame",
            ok=abs(vdur - expected) <= frame + 1e-3,
        ),
        Check(
            name="integrated loudness (LUFS)",
            value=lufs,
            expected=f"{loudness_target} +- 1" if film_has_audio else "silence (the film has no audio)",
            ok=abs(lufs - loudness_target) <= 1.0 if film_has_audio else not lufs > -60,
        ),
        Check(name="true peak (dBTP)", value=peak, expected="<= -1", ok=peak <= -1.0),
    ]
    return QCReport(
        trailer=str(trailer),
        passed=all(c.ok for c in checks),
        duration=round(vdur, 4),
        clips=sum(1 for s in manifest.segments if s.kind == "clip"),
        checks=checks,
    )
