"""Unit tests of the package: pure functions, file formats, error messages."""

from __future__ import annotations

import json
import os
import random
import subprocess
from fractions import Fraction
from pathlib import Path

import cv2
import msgpack
import pytest

from cinecut import analysis, models, scenes, source
from cinecut.errors import CinecutError
from cinecut.media import AUDIO_RATE
from cinecut.models import Manifest, Segment
from cinecut.placement import place_segments
from cinecut.source import MISSING, signature
from cinecut.subtitles import build_dialogue, label_emotion, parse_subtitles
from cinecut.vibes import VIBES, target_length


@pytest.mark.parametrize(
    ("line", "emotion", "at_least"),
    [
        ("Now!", "urgency", 0.7),
        ("RUN! Get to the lamp room!", "urgency", 0.85),
        ("I'm so scared of the dark.", "fear", 0.6),
        ("I love this light before the sun comes up.", "joy", 0.2),
        ("Did you log the ships from last night?", "neutral", 0.1),
    ],
)
def test_emotion_labels_on_real_sentences(line, emotion, at_least):
    label, intensity = label_emotion(line)
    assert label == emotion
    assert at_least <= intensity <= 1.0


def test_emotion_is_robust_to_case_and_punctuation():
    assert label_emotion("now")[0] == label_emotion("NOW!!!")[0] == "urgency"
    assert label_emotion("NOW!!!")[1] > label_emotion("now")[1]


def test_srt_ass_vtt_parse_to_the_same_lines(tmp_path):
    (tmp_path / "a.srt").write_text("1\n00:00:01,000 --> 00:00:02,500\n<i>Run</i>, now!\n\n")
    (tmp_path / "a.vtt").write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<i>Run</i>, now!\n")
    (tmp_path / "a.ass").write_text(
        "[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\\i1}Run{\\i0}, now!\n"
    )
    parsed = [parse_subtitles(tmp_path / f"a.{ext}") for ext in ("srt", "vtt", "ass")]
    for lines in parsed:
        assert [(ln.start, ln.end, ln.text) for ln in lines] == [(1.0, 2.5, "Run, now!")]


def test_subtitles_past_the_film_end_are_dropped(tmp_path):
    path = tmp_path / "s.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello.\n\n2\n00:01:00,000 --> 00:01:02,000\nLate.\n\n")
    assert [ln.text for ln in parse_subtitles(path, film_duration=30)] == ["Hello."]


LEGACY = {  # a real subtitle file's worth of lines in each language's old Windows code page
    "cp1251": ["Беги! Сейчас же!", "Я никогда не видел этот свет.", "Где ты была всю ночь?",
               "Маяк снова погас, и никто не знает почему.", "Нам нужно уходить, пока не стемнело."],
    "cp1250": ["Uciekaj! Już teraz!", "Nigdy nie widziałem tego światła.", "Gdzie byłaś całą noc?",
               "Latarnia znowu zgasła i nikt nie wie dlaczego.", "Musimy iść, zanim się ściemni."],
    "cp1252": ["Cours ! Maintenant, à l'étage !", "Je n'ai jamais vu cette lumière.", "Où étais-tu toute la nuit ?",
               "Le phare s'est éteint, personne ne sait pourquoi.", "Il faut partir avant qu'il fasse nuit."],
}  # fmt: skip


@pytest.mark.parametrize("encoding", LEGACY)
def test_legacy_8_bit_subtitles_are_read_in_their_code_page(tmp_path, encoding):
    said = [LEGACY[encoding][i % 5] for i in range(60)]
    text = "\n".join(f"{i + 1}\n00:{i // 60:02d}:{i % 60:02d},000 --> 00:{i // 60:02d}:{i % 60:02d},900\n{line}\n"
                     for i, line in enumerate(said))  # fmt: skip
    path = tmp_path / "s.srt"
    path.write_bytes(text.encode(encoding))
    assert [ln.text for ln in parse_subtitles(path)] == said


def test_utf16_subtitles(tmp_path):
    path = tmp_path / "s.srt"
    path.write_bytes("1\n00:00:01,000 --> 00:00:02,000\nÇa va ?\n".encode("utf-16"))
    assert parse_subtitles(path)[0].text == "Ça va ?"


@pytest.mark.parametrize(
    "container, codec",
    [("mkv", "srt"), ("mkv", "ass"), ("mp4", "mov_text"), ("webm", "webvtt")],
)
def test_dialogue_from_the_films_own_subtitle_stream(tmp_path, container, codec):
    """No subtitle file given: the film's text subtitle stream, whatever its codec, gives
    the same lines as the file it was muxed from; a film with none gives no lines."""
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,500\nRun, now!\n\n2\n00:00:03,000 --> 00:00:04,000\nWhy?\n")
    film = tmp_path / f"film.{container}"
    video = ["-c:v", "libvpx", "-b:v", "200k"] if container == "webm" else ["-c:v", "libx264", "-preset", "ultrafast"]
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=160x90:d=5", "-i", str(srt), "-map", "0:v",
         "-map", "1:s", *video, "-c:s", codec, str(film)],
        check=True,
    )  # fmt: skip
    dialogue = build_dialogue(None, 5.0, film)
    assert [(ln.start, ln.end, ln.text) for ln in dialogue.lines] == [(1.0, 2.5, "Run, now!"), (3.0, 4.0, "Why?")]
    assert dialogue.source == f"{film} (subtitle stream 1, {'subrip' if codec == 'srt' else codec})"
    bare = tmp_path / f"bare.{container}"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(film), "-map", "0:v", "-c", "copy", str(bare)], check=True)
    assert build_dialogue(None, 5.0, bare).lines == []


@pytest.mark.parametrize("content", [b"\x00\x01binary\xff" * 20, b"no cues at all, just prose.\n"])
def test_unparsable_subtitles_raise_a_named_error(tmp_path, content):
    path = tmp_path / "bad.srt"
    path.write_bytes(content)
    with pytest.raises(CinecutError) as err:
        parse_subtitles(path)
    assert str(path) in str(err.value)


def _desc(**kw) -> models.SceneDescFile:
    frame = models.SceneDescription(
        time=1.0,
        image="kf00000.jpg",
        visual_content="x",
        mood="calm",
        action="slow",
        setting="room",
        shot_scale="wide",
        people=0,
        intensity=0.2,
        backend="heuristic",
    )
    base = dict(
        schema_version=models.SceneDescFile.VERSION,
        fingerprint="1:2",
        backend="heuristic",
        model="",
        prompt_hash="abc",
        frames=[frame],
    )
    return models.SceneDescFile(**{**base, **kw})


def test_scenedesc_round_trip_and_junk_is_a_miss(tmp_path):
    path = tmp_path / "f.scenedesc.msgpack"
    scenes.save(_desc(), path)
    assert scenes.load(path) == _desc()
    data = path.read_bytes()
    rng = random.Random(1)
    for cut in range(0, len(data), 7):
        path.write_bytes(data[:cut])
        assert scenes.load(path) is None
    for _ in range(300):
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
        assert scenes.load(path) is None  # random bytes are never a six-key map of this layout
    for foreign in ({**_desc().model_dump(), "schema_version": 99}, {"a": 1}, [1, 2], "text", None):
        path.write_bytes(msgpack.packb(foreign))
        assert scenes.load(path) is None
    assert scenes.load(tmp_path / "missing") is None


def test_damage_is_empty_for_healthy_or_missing_files_and_differs_per_corruption(tmp_path):
    path = tmp_path / "f.scenedesc.msgpack"
    assert scenes.damage(path) == ""
    scenes.save(_desc(), path)
    assert scenes.damage(path) == ""
    path.write_bytes(b"junk")
    first = scenes.damage(path)
    assert first.startswith("corrupt:")
    path.write_bytes(b"other junk")
    assert scenes.damage(path) not in ("", first)


def test_signature_is_mtime_and_size(tmp_path):
    film = tmp_path / "f.mp4"
    film.write_bytes(b"1234")
    os.utime(film, ns=(5, 123456789))
    assert signature(film) == "123456789:4"
    assert signature(tmp_path / "none.mp4") == MISSING


def _manifest(segments) -> dict:
    return {
        "film": "f.mp4",
        "fingerprint": "1:2",
        "title": "T",
        "vibe": "drama",
        "target_seconds": 30,
        "segments": segments,
    }


def test_invalid_manifest_edit_names_the_segment_and_field(tmp_path):
    path = tmp_path / "TRAILER_MANIFEST.json"
    clip = {"kind": "clip", "act": 1, "source_in": 3.0, "source_out": 5.0}
    path.write_text(json.dumps(_manifest([clip, {**clip, "source_in": "soon"}])))
    with pytest.raises(CinecutError) as err:
        models.load(Manifest, path)
    assert "segments.1.source_in" in str(err.value) and str(path) in str(err.value)
    path.write_text(json.dumps(_manifest([clip, {**clip, "source_out": 3.2}])))
    with pytest.raises(CinecutError, match="segments.1"):
        models.load(Manifest, path)
    path.write_text("{ not json")
    with pytest.raises(CinecutError, match="invalid Manifest"):
        models.load(Manifest, path)


@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(30000, 1001), Fraction(25), Fraction(60)])
def test_segment_placement_never_drifts(fps):
    rng = random.Random(3)
    segments = [Segment(kind="clip", source_in=0, source_out=round(rng.uniform(0.5, 4), 3)) for _ in range(200)]
    placed = place_segments(Manifest(**{**_manifest([]), "segments": segments}), fps)
    frames = sum(p.frames for p in placed)
    samples = sum(p.samples for p in placed)
    # Audio and video end within one sample of each other, whatever the frame rate.
    assert abs(samples - frames / fps * AUDIO_RATE) <= 1
    assert all(abs(p.first_sample - p.first_frame / fps * AUDIO_RATE) <= 1 for p in placed)


def test_eighteen_vibes_and_lengths():
    assert len(VIBES) == 18
    for vibe in VIBES.values():
        assert 90 <= vibe.length <= 150
        assert abs(sum(vibe.act_share) - 1) < 1e-6
        assert target_length(vibe, 7200) == vibe.length
        assert 30 <= target_length(vibe, 90) <= 72


def test_published_schemas_match_the_models_and_the_vibes():
    """The JSON Schemas are the models'; the config and sheet schemas list exactly the
    vibes of cinecut.vibes (tools/export_schemas.py writes both)."""
    import export_schemas
    import yaml
    from conftest import REPO

    stale = "run tools/export_schemas.py"

    for name, model in export_schemas.SCHEMAS.items():
        assert (REPO / "schemas" / name).read_text() == export_schemas.render(model), f"{stale} ({name})"
    for name, blank in export_schemas.VIBE_LISTS.items():
        text = (REPO / "schemas" / name).read_text()
        assert text == export_schemas.with_vibes(text, blank), f"{stale} ({name})"
    config = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
    assert config["definitions"]["vibe"]["enum"] == list(VIBES)
    sheet = yaml.safe_load((REPO / "schemas" / "sheet.schema.yaml").read_text())
    assert sheet["properties"]["vibe"]["anyOf"][1]["enum"] == ["", *VIBES]


def _pieces(segments: list[dict], tmp_path) -> list:
    from cinecut import segments as seg_mod
    from cinecut.conform import plan_pieces
    from cinecut.models import Stamp
    from cinecut.placement import place_segments

    stamp = Stamp(
        film="f.mp4", mtime_ns=1, size=2, duration=60, width=640, height=360, fps="24/1",
        has_audio=True, audio_channels=2,
    )  # fmt: skip
    manifest = Manifest(**_manifest(segments))
    look = seg_mod.Look(
        film="f.mp4", fingerprint=stamp.fingerprint, width=320, height=180, fps=Fraction(24),
        lut_digest="d", font="font.ttf", title_colour="white", preset="veryfast",
    )  # fmt: skip
    placements = place_segments(manifest, Fraction(24))
    return placements, plan_pieces(manifest, stamp, look, placements, title_capitals=False)


def test_pieces_tile_the_timeline_and_share_keys_only_when_equal(tmp_path):
    """Pieces follow each other frame for frame; a dissolve is its own piece over both
    clips' handles; equal pieces (two black beats) share a key, a moved clip does not."""
    clip = {"kind": "clip", "act": 3, "source_in": 3.0, "source_out": 4.0, "film_audio": False}
    later = {**clip, "source_in": 10.0, "source_out": 12.0, "transition": "dissolve", "transition_seconds": 0.5}
    black = {"kind": "black", "duration": 1.0}
    placements, pieces = _pieces([clip, black, clip, black, clip, later], tmp_path)
    assert [p.kind for p in pieces] == ["clip", "black", "clip", "black", "clip", "dissolve", "clip"]
    frame = 0
    for piece in pieces:
        assert piece.first_frame == frame
        frame += piece.frames
    assert frame == placements[-1].first_frame + placements[-1].frames
    assert pieces[1].key == pieces[3].key and pieces[0].key == pieces[2].key
    dissolve = pieces[5]
    assert dissolve.frames == 12 and dissolve.first_frame == placements[5].first_frame - 6
    # The outgoing handle runs 6 frames past the out point, the incoming one 6 before the in point.
    assert [s.start for s in dissolve.sources] == ["3.750000", "9.750000"]
    assert pieces[6].sources[0].start == "10.250000" and pieces[4].frames == 24 - 6
    _, moved = _pieces([clip, black, clip, black, {**clip, "source_in": 3.5, "source_out": 4.5}, later], tmp_path)
    changed = [i for i, (a, b) in enumerate(zip(pieces, moved, strict=True)) if a.key != b.key]
    assert changed == [4, 5]  # the moved clip and the dissolve that uses its handle


def test_qc_report_of_a_silent_trailer_reads_back(tmp_path):
    from cinecut.models import Check, QCReport

    checks = [Check(name="true peak (dBTP)", value=float("-inf"), expected="<= -1", ok=True)]
    report = QCReport(trailer="t.mp4", passed=True, duration=1.0, clips=1, checks=checks)
    models.save(report, tmp_path / "qc.json")
    assert models.load(QCReport, tmp_path / "qc.json").checks[0].value == float("-inf")


def test_documented_vibe_table_is_the_code():
    readme = (Path(__file__).parents[1] / "docs" / "configuration.md").read_text()
    for vibe in VIBES.values():
        row = next(line for line in readme.splitlines() if line.startswith(f"| {vibe.name} |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[1] == f"{vibe.length:g}"
        assert cells[2] == " / ".join(f"{c:g}" for c in vibe.clip_seconds)
        assert cells[3] == " / ".join(f"{a:g}" for a in vibe.act_share)
        assert cells[4] == f"{vibe.dialogue_share:.2f}"
        assert cells[5] == f"{vibe.loudness:g}"
        assert cells[6] == f"{vibe.tempo[0]}–{vibe.tempo[1]}"
        assert cells[7] == vibe.transition
        face = vibe.title_font.removesuffix(".ttf").replace("DejaVu", "DejaVu ").replace("-", " ")
        assert cells[8] == face + (", capitals" if vibe.title_capitals else "")


def test_output_size_keeps_the_films_aspect_when_asked():
    from cinecut.models import Stamp
    from cinecut.placement import output_size

    stamp = Stamp(film="f", mtime_ns=1, size=1, duration=1, width=853, height=480, fps="25", has_audio=False,
                  audio_channels=0)  # fmt: skip
    assert output_size(stamp, 1920, 1080) == (1920, 1080)
    assert output_size(stamp, 0, 0) == (852, 480)  # even, as H.264 in 4:2:0 needs
    assert output_size(stamp, 0, 720) == (1280, 720)
    assert output_size(stamp, 1280, 0) == (1280, 720)


def test_written_files_get_the_users_umask_not_private_modes(tmp_path):
    """mkstemp makes files 0600: results must be readable by whoever shares the folder."""
    import os

    from cinecut import atomic

    old = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / "a.json", "{}")
        with atomic.atomic_dir(tmp_path / "frames") as folder:
            (folder / "kf.jpg").write_bytes(b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "frames").stat().st_mode & 0o777 == 0o755


def test_long_takes_get_a_keyframe_every_30_s_and_alike_frames_are_dropped(tmp_path):
    """A 70 s take of ever-changing pictures, then 70 s of colour bars (one shot each): the
    take gets keyframes at most 30 s apart; the bars, all frames alike, keep one keyframe
    and count the other candidates as near-duplicates (perceptual hash)."""
    film = tmp_path / "takes.mp4"
    take = "life=s=160x90:r=10:seed=7:mold=10:ratio=0.3:life_color=#ffdd66:mold_color=#884422,trim=duration=70"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-filter_complex", f"{take}[a];smptebars=s=160x90:r=10:d=70[b];[a][b]concat=n=2",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(film)],
        check=True,
    )  # fmt: skip
    result = analysis.analyse(source.make_stamp(film), tmp_path / "kf")
    assert [(s.start, s.boundary) for s in result.shots] == [(0.0, "start"), (70.0, "cut")]
    times = [kf.time for kf in result.keyframes if kf.shot == 0]
    assert len(times) >= 3
    gaps = [b - a for a, b in zip([0.0, *times], [*times, 70.0], strict=True)]  # over all of the take
    assert max(gaps) <= 30.0, times
    assert [kf.shot for kf in result.keyframes].count(1) == 1 and result.near_duplicates_dropped >= 3
    assert [kf.shot for kf in result.shot_keyframes()] == [0, 1]
    assert all(kf.reason.startswith("fills") for kf in result.keyframes if not kf.representative)
    for kf in result.keyframes:
        height, width = cv2.imread(str(tmp_path / "kf" / kf.image)).shape[:2]
        assert (width, height) == (640, 360), kf.image


def test_lines_said_in_long_shots_get_their_own_keyframes(tmp_path):
    """A 20 s take of ever-changing pictures, 12 s of colour bars, a 4 s shot: each line in
    the take gets a keyframe where it is said (or the shot's own keyframe is already within
    APART of it); the bars' two lines find only frames like the one kept (dropped, counted);
    the 4 s shot is too short for more than its own keyframe."""
    from cinecut.models import DialogueLine

    film = tmp_path / "talk.mp4"
    take = "life=s=160x90:r=10:seed=7:mold=10:ratio=0.3:life_color=#ffdd66:mold_color=#884422,trim=duration=20"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-filter_complex",
         f"{take}[a];smptebars=s=160x90:r=10:d=12[b];testsrc2=s=160x90:r=10:d=4[c];[a][b][c]concat=n=3",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(film)],
        check=True,
    )  # fmt: skip
    said = [(3.0, 5.0), (9.2, 10.8), (15.0, 17.0), (21.0, 23.0), (28.0, 30.0), (33.0, 35.0)]
    lines = [
        DialogueLine(start=a, end=b, text=f"line {i}", emotion="neutral", intensity=0.2)
        for i, (a, b) in enumerate(said)
    ]
    plain = analysis.analyse(source.make_stamp(film), tmp_path / "plain")
    result = analysis.analyse(source.make_stamp(film), tmp_path / "kf", lines)
    assert [(s.start, s.boundary) for s in result.shots] == [(0.0, "start"), (20.0, "cut"), (32.0, "cut")]
    assert [kf.shot for kf in plain.keyframes] == [0, 1, 2]
    spoken = [kf for kf in result.keyframes if kf.reason.startswith("where a line is said")]
    assert spoken and all(kf.shot == 0 for kf in spoken), [(kf.time, kf.reason) for kf in result.keyframes]
    for a, b in said[:3]:
        middle = (a + b) / 2
        near = [kf for kf in result.keyframes if abs(kf.time - middle) <= analysis.APART]
        assert near, (middle, [kf.time for kf in result.keyframes])
    for kf in spoken:  # the sharpest frame of the second the line's midpoint falls in
        assert any(int((a + b) / 2) <= kf.time < int((a + b) / 2) + 1 for a, b in said), kf.time
    assert [kf.shot for kf in result.keyframes].count(1) == 1 and result.near_duplicates_dropped >= 1
    assert [kf.shot for kf in result.keyframes].count(2) == 1
    assert [kf.time for kf in result.keyframes] == sorted(kf.time for kf in result.keyframes)


def test_the_package_has_no_import_cycle():
    """Modules import downwards only (placement below conform, sound and qc): a cycle would
    force function-local imports and tie the modules' meanings together."""
    import ast

    package = Path(__file__).parents[1] / "src" / "cinecut"
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                found |= {node.module} if node.module else {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cinecut."):
                found.add(node.module.split(".")[1])
        graph[path.stem] = {name.split(".")[0] for name in found} - {path.stem}
    state: dict[str, str] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            assert state.get(dep) != "open", " -> ".join([*trail, module, dep])
            if dep not in state:
                visit(dep, [*trail, module])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert "placement" in graph["conform"] and "conform" not in graph["sound"]
