"""The editor's timeline: the .otio, EDL and FCP 7 XML read back with OpenTimelineIO
give the manifest's clips, in/out points (within half a frame) and act markers, and
the timeline lasts exactly as long as the rendered trailer."""

from __future__ import annotations

import json

import opentimelineio as otio
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
    from cinecut.conform import output_rate
    from cinecut.manifest import plan_manifest
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
