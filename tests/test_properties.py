"""Property tests: whatever bytes a user's disk holds, the loaders either read them or
say what is wrong with the project's own error (or, for caches, treat them as a miss).
Never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgpack
from conftest import record_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cinecut import models, scenes
from cinecut.errors import CinecutError
from cinecut.journal import Journal
from cinecut.models import Manifest
from cinecut.subtitles import parse_subtitles

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def recorded(name: str):
    """Count a property test in the bad-input ledger: handled when no example broke it."""

    def wrap(test):
        def run():
            try:
                test()
            except BaseException:
                record_case("arbitrary bytes", name, False)
                raise
            record_case("arbitrary bytes", name, True)

        run.__name__, run.__doc__ = test.__name__, test.__doc__
        return run

    return wrap


SUBTITLE_LIKE = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(
        st.tuples(st.integers(-5, 99), st.integers(0, 99), st.integers(0, 999), st.text(max_size=30)), max_size=5
    ).map(
        lambda cues: "\n\n".join(
            f"{i}\n00:00:{a:02d},{c:03d} --> 00:00:{b:02d},000\n{t}" for i, (a, b, c, t) in enumerate(cues)
        ).encode("utf-8", "surrogatepass")
    ),
)


def _file(data: bytes, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(suffix=suffix)
    with open(fd, "wb") as fh:
        fh.write(data)
    return Path(name)


@recorded("subtitle parser, 300 examples")
@SETTINGS
@given(data=SUBTITLE_LIKE, suffix=st.sampled_from([".srt", ".ass", ".vtt"]))
def test_subtitle_parser_reads_or_names_the_file(data, suffix):
    path = _file(data, suffix)
    try:
        lines = parse_subtitles(path, film_duration=60.0)
        assert all(0 <= ln.start <= ln.end <= 60.0 for ln in lines)
    except CinecutError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
    finally:
        path.unlink()


@recorded("manifest loader, 300 examples")
@SETTINGS
@given(data=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass"))))
def test_manifest_loader_reads_or_names_the_file(data):
    path = _file(data, ".json")
    try:
        models.load(Manifest, path)
    except CinecutError as exc:
        assert str(path) in str(exc)
    finally:
        path.unlink()


MSGPACK_VALUES = st.recursive(
    st.none() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
)


@recorded("msgpack loaders, 300 examples")
@SETTINGS
@given(data=st.one_of(st.binary(max_size=300), MSGPACK_VALUES.map(msgpack.packb)))
def test_msgpack_loaders_treat_junk_as_a_miss(data):
    """Junk is a miss, never an exception. (No junk here can be a scene description: that
    needs a map with six keys of up to 14 letters, and these keys have at most 8.)"""
    path = _file(data, ".msgpack")
    try:
        assert scenes.load(path) is None
        with Journal(path, {"model": "m"}) as journal:  # never raises: junk is discarded
            assert journal.records == {}
    finally:
        path.unlink()


WORDS = st.text(min_size=1, max_size=40)
FRAMES = st.builds(
    models.SceneDescription,
    visual_content=WORDS,
    mood=WORDS,
    action=WORDS,
    setting=WORDS,
    shot_scale=st.sampled_from(["wide", "medium", "close-up"]),
    people=st.integers(0, 100),
    intensity=st.floats(0, 1),
    time=st.floats(0, 1e6),
    image=st.text(max_size=20),
    backend=st.sampled_from(["heuristic", "llama_cpp", "openai"]),
    outcome=st.sampled_from(["ok", "fallback"]),
    attempts=st.integers(1, 9),
    error=st.text(max_size=40),
    raw=st.text(max_size=80),
    seconds=st.floats(0, 1e4),
)
SCENEDESCS = st.builds(
    models.SceneDescFile,
    schema_version=st.just(models.SceneDescFile.VERSION),
    fingerprint=st.text(max_size=30),
    backend=st.sampled_from(["heuristic", "llama_cpp", "openai"]),
    model=st.text(max_size=30),
    prompt_hash=st.text(max_size=16),
    frames=st.lists(FRAMES, max_size=4),
)


@recorded("scene descriptions saved, cut and padded, 300 examples")
@SETTINGS
@given(desc=SCENEDESCS, cut=st.floats(0, 1, exclude_max=True), pad=st.binary(min_size=1, max_size=8))
def test_a_saved_scene_description_loads_back_equal_and_a_damaged_copy_is_a_miss(desc, cut, pad):
    """save then load gives the same container; a copy cut short (a kill mid-write) or with
    bytes after its end (two writes in one file) is a miss, never an exception."""
    path = _file(b"", ".msgpack")
    try:
        scenes.save(desc, path)
        assert scenes.load(path) == desc
        whole = path.read_bytes()
        path.write_bytes(whole[: int(cut * len(whole))])
        assert scenes.load(path) is None
        path.write_bytes(whole + pad)
        assert scenes.load(path) is None
        path.write_bytes(msgpack.packb({**desc.model_dump(), "schema_version": models.SceneDescFile.VERSION + 1}))
        assert scenes.load(path) is None, "another schema version is a miss"
    finally:
        path.unlink()
