"""The editor's timeline: the .otio, EDL and FCP 7 XML read back with OpenTimelineIO
give the manifest's clips, in/out points (within half a frame) and act markers, and
the timeline lasts exactly as long as the rendered trailer."""

from __future__ import annotations

import json
from fractions import Fraction

import opentimelineio as otio
import pytest
from conftest import stream_durations


def _manifest_clips(build):
    manifest = json.loads((build / "results/demo/TRAILER_MANIFEST.json").read_text())
    return manifest, [s for s in manifest["segments"] if s["kind"] == "clip"]


def test_otio_round_trip_matches_the_manifest_and_the_trailer(demo_build):
    manifest, clips = _manifest_clips(demo_build)
    video_seconds, _, fps = stream_durations(demo_build / "trailer.mp4")
    cut = otio.adapters.read_from_file(str(demo_build / "results/demo/timeline/demo.otio"))
    video, audio = cut.tracks
    film_clips = [c for c in video.find_clips() if isinstance(c.media_reference, otio.schema.ExternalReference)]
    titles = [c for c in video.find_clips() if isinstance(c.media_reference, otio.schema.GeneratorReference)]
    assert len(film_clips) == len(clips)
    assert [t.media_reference.parameters["text"] for t in titles] == [
        s["text"] for s in manifest["segments"] if s["kind"] == "title"
    ]
    half_frame = 0.5 / float(fps)
    for clip, seg in zip(film_clips, clips, strict=True):
        source = clip.source_range
        assert abs(source.start_time.to_seconds() - seg["source_in"]) <= half_frame
        assert abs(source.end_time_exclusive().to_seconds() - seg["source_out"]) <= 1.5 / float(fps)
        assert clip.media_reference.target_url.endswith("resources/demo/demo.mp4")
    assert abs(cut.duration().to_seconds() - video_seconds) <= 1 / float(fps)
    assert len(list(audio.find_clips())) == sum(1 for s in clips if s["film_audio"])
    markers = [m.name for c in film_clips for m in c.markers]
    assert markers == ["Act 1: set-up", "Act 2: escalation", "Act 3: climax"]


def test_edl_and_fcp_xml_read_back_with_the_same_cut(demo_build):
    _, clips = _manifest_clips(demo_build)
    _, _, fps = stream_durations(demo_build / "trailer.mp4")
    folder = demo_build / "results/demo/timeline"
    edl = otio.adapters.read_from_file(str(folder / "demo.edl"), rate=float(fps))
    xml = otio.adapters.read_from_file(str(folder / "demo.xml"))
    for cut in (edl, xml):
        video = next(t for t in cut.tracks if t.kind == otio.schema.TrackKind.Video)
        read = [c.source_range for c in video.find_clips()]
        assert len(read) == len(clips)
        for source, seg in zip(read, clips, strict=True):
            assert abs(source.start_time.to_seconds() - seg["source_in"]) <= 0.5 / float(fps)
    assert "LOC: " in (folder / "demo.edl").read_text(), "act markers travel as EDL locators"


def test_dissolves_travel_as_timeline_transitions(demo_build, tmp_path):
    """A drama cut (dissolves in acts 1 and 2): OTIO and XML keep every in point; the EDL
    starts each dissolve half a dissolve before the edit, as CMX 3600 does."""
    from cinecut import models, timeline
    from cinecut.manifest import plan_manifest
    from cinecut.placement import output_rate
    from cinecut.vibes import VIBES

    res = demo_build / "results/demo"
    stamp = models.load(models.Stamp, res / "source.json")
    manifest = plan_manifest(models.load(models.Narrative, res / "narrative.json"), stamp, VIBES["drama"], "T", "", 0)
    rate = output_rate(stamp, 0)
    cut = timeline.build_timeline(manifest, stamp, demo_build / "resources/demo/demo.mp4", rate)
    paths = [tmp_path / f"drama.{ext}" for ext in ("otio", "edl", "xml")]
    timeline.write_timeline(cut, *paths)
    clips = [s for s in manifest.segments if s.kind == "clip"]
    dissolves = [s.transition == "dissolve" for s in clips]
    assert sum(dissolves) >= 5
    frame = 1 / float(rate)
    for path in paths:
        options = {"rate": float(rate)} if path.suffix == ".edl" else {}
        back = otio.adapters.read_from_file(str(path), **options)
        video = next(t for t in back.tracks if t.kind == otio.schema.TrackKind.Video)
        assert sum(isinstance(i, otio.schema.Transition) for i in video) == sum(dissolves)
        film = [c for c in video.find_clips() if isinstance(c.media_reference, otio.schema.ExternalReference)]
        assert len(film) == len(clips)
        for clip, seg, dissolve in zip(film, clips, dissolves, strict=True):
            slack = 0.5 * frame + (0.25 + frame if dissolve and path.suffix == ".edl" else 0)
            assert abs(clip.source_range.start_time.to_seconds() - seg.source_in) <= slack, (path.name, seg)


# ------------------------------------------------------------- every frame rate (issue 17)

VFR = {"phone": "2983/100", "webcam": "17913/1500"}  # average rates ffprobe gives variable-rate films
RATES = ["12", "15", "18", "24000/1001", "24", "25", "30000/1001", "30", "48", "50", "60000/1001", "60", "120"]


def _cut_at(film_fps: str, trailer: Fraction | None = None):
    """A small cut of a 5-minute film: title, clips (one dissolve), a black beat; lengths
    that fall between frames at most rates."""
    from cinecut.models import Manifest, Segment, Stamp
    from cinecut.placement import output_rate

    stamp = Stamp(film="/films/f.mkv", mtime_ns=1, size=2, duration=300.0, width=640, height=360, fps=film_fps,
                  has_audio=True, audio_channels=2)  # fmt: skip
    segments = [
        Segment(kind="title", duration=2.0, text="NIGHT TRAIN"),
        Segment(kind="clip", act=1, source_in=10.0, source_out=12.53),
        Segment(kind="clip", act=1, source_in=40.1, source_out=43.3, transition="dissolve"),
        Segment(kind="clip", act=2, source_in=100.04, source_out=101.7, film_audio=False),
        Segment(kind="black", duration=0.7),
        Segment(kind="clip", act=3, source_in=200.0, source_out=204.01),
    ]
    manifest = Manifest(film="f.mkv", fingerprint="1:2", title="Night Train", vibe="drama", target_seconds=13,
                        segments=segments)  # fmt: skip
    return manifest, stamp, trailer or output_rate(stamp, 0)


@pytest.mark.parametrize("film_fps", RATES + [f"vfr-{k}" for k in VFR])
def test_a_timeline_for_every_frame_rate(film_fps, tmp_path, caplog):
    """The .otio at the exact rate; EDL and XML at a SMPTE timecode rate (the trailer's own,
    else a standard one they name), each edit at the nearest frame of that rate."""
    import logging
    import xml.etree.ElementTree as ET

    from cinecut import timeline
    from cinecut.placement import place_segments

    vfr = film_fps.startswith("vfr-")
    fps = VFR[film_fps[4:]] if vfr else film_fps
    # The trailer at the film's rate, as `trailer.fps: <rate>` makes it (a VFR film: conform's choice).
    manifest, stamp, rate = _cut_at(fps, None if vfr else Fraction(fps))
    tc = timeline.timecode_rate(rate)
    assert float(tc) in (23.976023976023978, 24, 25, 29.97002997002997, 30, 48, 50, 59.94005994005994, 60)
    paths = [tmp_path / f"cut.{ext}" for ext in ("otio", "edl", "xml")]
    with caplog.at_level(logging.INFO, logger="cinecut.timeline"):
        timeline.write_timeline(timeline.build_timeline(manifest, stamp, "/films/f.mkv", rate), *paths)
    assert all(p.stat().st_size > 0 for p in paths)
    placed = place_segments(manifest, rate)
    total = sum(p.frames for p in placed)

    def at_tc(frame: int) -> int:  # a frame of the trailer on the timecode rate's grid
        return round(Fraction(frame) * tc / rate)

    # OTIO: the exact rate, and every segment as many frames as the rendered trailer has.
    cut = otio.adapters.read_from_file(str(paths[0]))
    video = cut.tracks[0]
    assert cut.global_start_time.rate == float(rate) and cut.metadata["cinecut"]["rate"] == str(rate)
    assert cut.metadata["cinecut"]["timecode_rate"] == str(tc)
    items = [i for i in video if not isinstance(i, otio.schema.Transition)]
    assert [round(i.duration().rescaled_to(float(rate)).value, 6) for i in items] == [p.frames for p in placed]
    assert round(video.duration().rescaled_to(float(rate)).value, 6) == total
    film = [c for c in video.find_clips() if isinstance(c.media_reference, otio.schema.ExternalReference)]
    assert {c.source_range.start_time.rate for c in film} == {float(Fraction(stamp.fps))}

    # FCP 7 XML: the timecode rate, every edit on its nearest frame, the note when it differs.
    xml = ET.parse(paths[2]).getroot().find("./project/children/sequence")
    assert int(xml.findtext("duration")) == at_tc(total)
    assert int(xml.findtext("rate/timebase")) == round(tc) and (xml.findtext("rate/ntsc") == "TRUE") == (
        tc.denominator == 1001
    )
    assert xml.findtext("timecode/displayformat") == ("DF" if tc in timeline.DROP_FRAME else "NDF")
    back = otio.adapters.read_from_file(str(paths[2]))
    read = [i for i in next(t for t in back.tracks if t.kind == "Video") if not isinstance(i, otio.schema.Transition)]
    assert [round(i.duration().value) for i in read] == [
        at_tc(p.first_frame + p.frames) - at_tc(p.first_frame) for p in placed
    ]
    clips = [s for s in manifest.segments if s.kind == "clip"]
    slack = 0.5 / float(tc) + 0.5 / float(Fraction(stamp.fps))
    for clip, seg in zip([i for i in read if isinstance(i, otio.schema.Clip)], clips, strict=True):
        assert abs(clip.source_range.start_time.to_seconds() - seg.source_in) <= slack

    # EDL: record timecodes on the same frames; the frame code mode; the note when it differs.
    text = paths[1].read_text()
    events = [line.split() for line in text.splitlines() if line[:1].isdigit()]
    rec_in, rec_out = (otio.opentime.from_timecode(events[i][k], float(tc)).value for i, k in ((0, -2), (-1, -1)))
    assert (rec_in, rec_out) == (at_tc(placed[1].first_frame), at_tc(total))
    assert ("FCM: DROP FRAME" in text) == (tc in timeline.DROP_FRAME) and "FCM: " in text
    edl = otio.adapters.read_from_file(str(paths[1]), rate=float(tc))
    assert len(list(edl.find_clips())) == len(clips)
    note = f"timecode at {timeline.fps_label(tc)} fps: the trailer runs at {timeline.fps_label(rate)} fps"
    noted = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    if tc == rate:
        assert "CINECUT:" not in text and xml.find("logginginfo") is None and not noted
    else:
        assert f"* CINECUT: {note.upper()}" in text
        assert note in xml.findtext("logginginfo/lognote")
        assert len(noted) == 1 and note in noted[0] and str(paths[1]) in noted[0]


def test_timecode_rates_for_rates_smpte_lacks():
    from cinecut.timeline import timecode_rate

    ntsc = Fraction(30000, 1001)
    cases = {12: 24, 15: 30, 18: 24, 20: 60, 40: 48, 72: 60, 100: 60, 120: 60, Fraction(15000, 1001): ntsc,
             Fraction(120000, 1001): Fraction(60000, 1001), 25: 25, ntsc: ntsc}  # fmt: skip
    assert {r: timecode_rate(Fraction(r)) for r in cases} == cases
