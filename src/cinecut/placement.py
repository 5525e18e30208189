"""The trailer's timeline: where each segment lands, in frames and audio samples, the
output rate and size, and the transitions as they fit. Conform, sound, QC, the timeline
export and the report all place segments here, so they agree to the frame."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .media import AUDIO_RATE
from .models import Manifest, Segment, Stamp

PEAK_LIMIT = -1.0  # dBTP the delivered trailer must not exceed (what QC checks)


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
