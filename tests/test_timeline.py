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
