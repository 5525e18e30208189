"""The cut as a timeline an editor can open: OpenTimelineIO, CMX 3600 EDL, FCP 7 XML.

Built from TRAILER_MANIFEST.json with the same frame placement as conform, so the
timeline and the rendered trailer agree frame for frame. Clips reference the original
film (not a proxy) with their source in/out; title cards are generator clips carrying
their text (gaps in the EDL and XML, which cannot carry them), silent beats are gaps;
the film's sound is on A1 wherever the manifest plays it. Each act starts with a
marker. Resolve and Premiere import the EDL and the XML; Resolve and OTIO-aware tools
read the .otio directly.

The .otio keeps the trailer's exact rate. EDL and FCP 7 XML count in SMPTE timecode,
which exists at a few rates only: at any other (12, 15 or 18 fps film, 120 fps) they
count at a standard rate chosen by `timecode_rate`, and say so in the file and the log.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from . import atomic
from .models import Manifest, Stamp
from .placement import fit_transitions, place_segments

log = logging.getLogger(__name__)

# SMPTE timecode rates (all of them valid for OpenTimelineIO's timecode); the two NTSC
# rates of 30 and 60 count in drop-frame timecode, as the EDL writer does by itself.
TIMECODE_RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
                  Fraction(48), Fraction(50), Fraction(60000, 1001), Fraction(60))  # fmt: skip
DROP_FRAME = (Fraction(30000, 1001), Fraction(60000, 1001))
ACT_NAMES = {1: "Act 1: set-up", 2: "Act 2: escalation", 3: "Act 3: climax"}
ACT_COLOURS = {1: otio.schema.MarkerColor.GREEN, 2: otio.schema.MarkerColor.ORANGE, 3: otio.schema.MarkerColor.RED}


def _rt(frames: int, rate: Fraction) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(rate))


def timecode_rate(rate: Fraction) -> Fraction:
    """The rate EDL and FCP 7 XML count in: the trailer's own where SMPTE timecode has it;
    else the lowest standard rate that is a whole multiple of it, so that every edit stays
    on a frame (12 -> 24, 15 -> 30); else the nearest, of the same family (18 -> 24,
    120 -> 60, 119.88 -> 59.94)."""
    if rate in TIMECODE_RATES:
        return rate
    multiples = [r for r in TIMECODE_RATES if (r / rate).denominator == 1]
    if multiples:
        return min(multiples)
    ntsc = rate.denominator % 1001 == 0
    return min(TIMECODE_RATES, key=lambda r: (round(abs(r - rate)), (r.denominator == 1001) != ntsc, r))


def fps_label(rate: Fraction) -> str:
    """29.97, 23.976, 15: as editors write rates."""
    return f"{float(rate):.3f}".rstrip("0").rstrip(".")


def build_timeline(manifest: Manifest, stamp: Stamp, film: str | Path, rate: Fraction) -> otio.schema.Timeline:
    """`rate` is the trailer's frame rate (conform's output rate); the film's own rate
    measures the source in/out points."""
    film_rate = Fraction(stamp.fps)
    media = otio.schema.ExternalReference(
        target_url=Path(film).resolve().as_uri(),
        available_range=otio.opentime.TimeRange(_rt(0, film_rate), _rt(round(stamp.duration * film_rate), film_rate)),
    )
    timeline = otio.schema.Timeline(name=manifest.title, global_start_time=_rt(0, rate))
    timeline.metadata["cinecut"] = {
        "film": manifest.film,
        "vibe": manifest.vibe,
        "fingerprint": manifest.fingerprint,
        "rate": str(rate),  # exact: a float says 29.97002997 for 30000/1001
        "film_rate": stamp.fps,
        "timecode_rate": str(timecode_rate(rate)),  # what the EDL and the XML count in
    }
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    marked: set[int] = set()
    placements = place_segments(manifest, rate)
    for n, (place, (into, half)) in enumerate(
        zip(placements, fit_transitions(placements, stamp, rate), strict=True), 1
    ):
        seg = place.segment
        duration = _rt(place.frames, rate)
        if into == "dissolve":  # as rendered: half the dissolve on each side of the edit
            for track in (video, audio):
                track.append(
                    otio.schema.Transition(
                        transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                        in_offset=_rt(half, rate),
                        out_offset=_rt(half, rate),
                    )
                )
        if seg.kind == "clip":
            start = _rt(round(float(seg.source_in) * film_rate), film_rate)  # type: ignore[arg-type]
            source = otio.opentime.TimeRange(start, duration.rescaled_to(float(film_rate)))
            name = f"{n:03d} act {seg.act} {seg.zone or ''} {seg.beat or ''}".strip()
            clip = otio.schema.Clip(name=name, media_reference=media.clone(), source_range=source)
            clip.metadata["cinecut"] = {
                "score": seg.score,
                "dialogue": seg.dialogue,
                "transition": into,  # dips through black/white have no OTIO transition type
                "reasons": seg.reasons,
            }
            if seg.act not in marked:
                marked.add(seg.act)  # type: ignore[arg-type]
                clip.markers.append(
                    otio.schema.Marker(
                        name=ACT_NAMES[seg.act],  # type: ignore[index]
                        marked_range=otio.opentime.TimeRange(start, _rt(0, film_rate)),
                        color=ACT_COLOURS[seg.act],  # type: ignore[index]
                    )
                )
            video.append(clip)
            if seg.film_audio:
                audio.append(otio.schema.Clip(name=name, media_reference=media.clone(), source_range=source))
            else:
                audio.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(_rt(0, rate), duration)))
        elif seg.kind == "title":
            card = otio.schema.Clip(
                name=f"{n:03d} title",
                media_reference=otio.schema.GeneratorReference(
                    name="title",
                    generator_kind="Text",
                    parameters={"text": seg.text or ""},
                    available_range=otio.opentime.TimeRange(_rt(0, rate), duration),
                ),
                source_range=otio.opentime.TimeRange(_rt(0, rate), duration),
            )
            video.append(card)
            audio.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(_rt(0, rate), duration)))
        else:  # the silent black beat
            for track in (video, audio):
                track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(_rt(0, rate), duration)))
    timeline.tracks.append(video)
    timeline.tracks.append(audio)
    return timeline


def _frames(t: otio.opentime.RationalTime, tc: Fraction) -> int:
    return round(Fraction(t.to_seconds()) * tc)


def _for_interchange(timeline: otio.schema.Timeline, tc: Fraction) -> otio.schema.Timeline:
    """The timeline as EDL and FCP 7 XML carry it: every time a whole number of frames at the
    timecode rate `tc`, record edits placed from their exact times (so that the rounding
    never adds up), and titles as gaps (black), as neither format carries generated text."""
    out = timeline.clone()
    fps = float(tc)

    def rt(frames: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(frames, fps)

    out.global_start_time = rt(0)
    for track in out.tracks:
        at = 0.0  # record time, s
        for i, item in enumerate(list(track)):
            if isinstance(item, otio.schema.Transition):
                item.in_offset = rt(_frames(item.in_offset, tc))
                item.out_offset = rt(_frames(item.out_offset, tc))
                continue
            start, at = at, at + item.source_range.duration.to_seconds()
            length = round(Fraction(at) * tc) - round(Fraction(start) * tc)
            if isinstance(item, otio.schema.Clip) and isinstance(item.media_reference, otio.schema.ExternalReference):
                ref = item.media_reference
                ref.available_range = otio.opentime.TimeRange(rt(0), rt(_frames(ref.available_range.duration, tc)))
                item.source_range = otio.opentime.TimeRange(rt(_frames(item.source_range.start_time, tc)), rt(length))
                for marker in item.markers:
                    marker.marked_range = otio.opentime.TimeRange(
                        rt(_frames(marker.marked_range.start_time, tc)), rt(0)
                    )
            else:
                track[i] = otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0), rt(length)))
    return out


def _rate_note(rate: Fraction, tc: Fraction) -> str:
    return (
        f"timecode at {fps_label(tc)} fps: the trailer runs at {fps_label(rate)} fps,"
        " a rate SMPTE timecode does not have (the .otio keeps it exactly)"
    )


def _edl_text(picture: otio.schema.Timeline, rate: Fraction, tc: Fraction) -> str:
    """The CMX 3600 text, with the frame code mode in its header, and the note on the rate
    as a comment of the first event (OTIO's reader takes no comment before one)."""
    lines = otio.adapters.write_to_string(picture, adapter_name="cmx_3600", rate=float(tc)).splitlines()
    at = 1 if lines and lines[0].startswith("TITLE:") else 0
    lines.insert(at, f"FCM: {'DROP FRAME' if tc in DROP_FRAME else 'NON-DROP FRAME'}")
    if tc != rate:
        first = next((n for n, line in enumerate(lines) if line[:1].isdigit()), len(lines) - 1)
        lines.insert(first + 1, f"* CINECUT: {_rate_note(rate, tc).upper()}")
    return "\n".join(lines) + "\n"


def _exact_rate(timeline: otio.schema.Timeline) -> Fraction:
    saved = timeline.metadata.get("cinecut", {}).get("rate")
    return Fraction(saved) if saved else Fraction(timeline.global_start_time.rate).limit_denominator(1001)


def write_timeline(timeline: otio.schema.Timeline, otio_path: str | Path, edl: str | Path, xml: str | Path) -> None:
    """The .otio, a CMX 3600 EDL (picture track) and an FCP 7 XML, each written atomically."""
    with atomic.atomic_path(otio_path) as tmp:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name="otio_json")
    rate = _exact_rate(timeline)
    tc = timecode_rate(rate)
    if tc != rate:
        log.warning("%s, %s: %s", edl, Path(xml).name, _rate_note(rate, tc))
    interchange = _for_interchange(timeline, tc)
    picture = otio.schema.Timeline(name=timeline.name, global_start_time=interchange.global_start_time)
    picture.tracks.append(interchange.tracks[0].clone())  # an EDL holds one track
    atomic.write_text(edl, _edl_text(picture, rate, tc))
    fcp: dict = {"timecode": {"displayformat": "DF" if tc in DROP_FRAME else "NDF"}}
    if tc != rate:
        fcp["logginginfo"] = {"lognote": _rate_note(rate, tc)}
    interchange.metadata["fcp_xml"] = fcp
    with atomic.atomic_path(xml) as tmp:
        otio.adapters.write_to_file(interchange, str(tmp), adapter_name="fcp_xml")
