"""The cut as a timeline an editor can open: OpenTimelineIO, CMX 3600 EDL, FCP 7 XML.

Built from TRAILER_MANIFEST.json with the same frame placement as conform, so the
timeline and the rendered trailer agree frame for frame. Clips reference the original
film (not a proxy) with their source in/out; title cards are generator clips carrying
their text (gaps in the EDL and XML, which cannot carry them), silent beats are gaps;
the film's sound is on A1 wherever the manifest plays it. Each act starts with a
marker. Resolve and Premiere import the EDL and the XML; Resolve and OTIO-aware tools
read the .otio directly.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from . import atomic
from .conform import fit_transitions, place_segments
from .manifest import Manifest
from .models import Stamp

ACT_NAMES = {1: "Act 1: set-up", 2: "Act 2: escalation", 3: "Act 3: climax"}
ACT_COLOURS = {1: otio.schema.MarkerColor.GREEN, 2: otio.schema.MarkerColor.ORANGE, 3: otio.schema.MarkerColor.RED}


def _rt(frames: int, rate: Fraction) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(rate))


def build_timeline(manifest: Manifest, stamp: Stamp, film: str | Path, rate: Fraction) -> otio.schema.Timeline:
    """`rate` is the trailer's frame rate (conform's output rate); the film's own rate
    measures the source in/out points."""
    film_rate = Fraction(stamp.fps)
    media = otio.schema.ExternalReference(
        target_url=Path(film).resolve().as_uri(),
        available_range=otio.opentime.TimeRange(_rt(0, film_rate), _rt(round(stamp.duration * film_rate), film_rate)),
    )
    timeline = otio.schema.Timeline(name=manifest.title, global_start_time=_rt(0, rate))
    timeline.metadata["cinecut"] = {"film": manifest.film, "vibe": manifest.vibe, "fingerprint": manifest.fingerprint}
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


def _for_interchange(timeline: otio.schema.Timeline) -> otio.schema.Timeline:
    """EDL and FCP 7 XML cannot carry generated titles: they become gaps (black) there."""
    out = timeline.clone()
    for track in out.tracks:
        for i, item in enumerate(list(track)):
            if isinstance(item, otio.schema.Clip) and isinstance(item.media_reference, otio.schema.GeneratorReference):
                track[i] = otio.schema.Gap(source_range=item.source_range)
    return out


def write_timeline(timeline: otio.schema.Timeline, otio_path: str | Path, edl: str | Path, xml: str | Path) -> None:
    """The .otio, a CMX 3600 EDL (picture track) and an FCP 7 XML, each written atomically."""
    with atomic.atomic_path(otio_path) as tmp:
        otio.adapters.write_to_file(timeline, str(tmp), adapter_name="otio_json")
    interchange = _for_interchange(timeline)
    picture = otio.schema.Timeline(name=timeline.name, global_start_time=timeline.global_start_time)
    picture.tracks.append(interchange.tracks[0].clone())  # an EDL holds one track
    with atomic.atomic_path(edl) as tmp:
        otio.adapters.write_to_file(picture, str(tmp), adapter_name="cmx_3600")
    with atomic.atomic_path(xml) as tmp:
        otio.adapters.write_to_file(interchange, str(tmp), adapter_name="fcp_xml")
