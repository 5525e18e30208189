"""Scene descriptions per keyframe and their msgpack container.

Layout of `<film>.scenedesc.msgpack` (a msgpack map):

    schema_version  int     SceneDescFile.VERSION
    fingerprint     str     the film's "mtime_ns:size" from the stamp
    backend         str     the configured backend: "heuristic" | "llama_cpp" | "openai"
    model           str     model identity (files, sizes and content hashes; "" for heuristic)
    prompt_hash     str     sha256 of the prompt, first 16 hex digits
    frames          list    one map per keyframe, in film order: the description
                            (visual_content, mood, action, setting, shot_scale, people,
                            intensity), time, image, and how it was made: backend (which
                            backend produced this frame's words), outcome ("ok", or
                            "fallback" when the model's answers were invalid), attempts,
                            error, raw (the model's last answer) and seconds (its cost)

The models (`SceneDescFile`, its `SceneDescription` frames, the `VisionAnswer` a model
is asked for) are in cinecut.models; `schemas/scenedesc.schema.json` is the same layout
as a JSON Schema. Loading never raises on a damaged or foreign file: that is a cache
miss (None). A bug in the loader itself is not caught.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import msgpack
from pydantic import ValidationError

from . import atomic
from .models import Keyframe, SceneDescFile, SceneDescription

log = logging.getLogger(__name__)

HEURISTIC_PROMPT = "heuristic-v1: words from brightness, contrast, colour, motion, faces"


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()[:16]


_HUES = [
    (15, "red"),
    (45, "orange"),
    (70, "yellow"),
    (160, "green"),
    (200, "cyan"),
    (260, "blue"),
    (300, "purple"),
    (340, "magenta"),
    (361, "red"),
]


def hue_name(hue: float) -> str:
    if hue < 0:
        return "grey"
    return next(name for limit, name in _HUES if hue < limit)


RAW_LIMIT = 2000


def describe_heuristic(kf: Keyframe) -> SceneDescription:
    """Words from measured image features; intensity mixes motion, contrast and darkness."""
    light = "dark" if kf.brightness < 0.25 else "dim" if kf.brightness < 0.45 else "bright"
    colour = hue_name(kf.hue)
    vivid = "vivid" if kf.colourfulness > 0.6 else "muted" if kf.colourfulness < 0.25 else "natural"
    pace = "frantic" if kf.motion > 0.08 else "fast" if kf.motion > 0.04 else "slow" if kf.motion > 0.01 else "still"
    people = kf.faces
    who = "no visible people" if people == 0 else "one person" if people == 1 else f"a group of {people} people"
    scale = "close-up" if kf.face_area > 0.08 else "medium" if people else "wide"
    intensity = min(1.0, 0.45 * min(kf.motion / 0.08, 1) + 0.35 * min(kf.contrast / 0.6, 1) + 0.2 * (1 - kf.brightness))
    if intensity > 0.6:
        mood = "tense and violent" if colour in ("red", "orange", "magenta") else "tense"
    elif light == "dark":
        mood = "ominous"
    elif light == "bright" and colour in ("orange", "yellow", "red"):
        mood = "warm and calm"
    else:
        mood = "quiet" if pace in ("still", "slow") else "restless"
    return SceneDescription(
        time=kf.time,
        image=kf.image,
        visual_content=f"a {light}, {vivid} {colour} {scale} shot with {who}",
        mood=mood,
        action=f"{pace} movement",
        setting=f"{light} {colour}-toned space",
        shot_scale=scale,
        people=people,
        intensity=round(intensity, 3),
        backend="heuristic",
    )


def save(desc: SceneDescFile, path: str | Path) -> None:
    atomic.write_bytes(path, msgpack.packb(desc.model_dump(), use_bin_type=True))


def load(path: str | Path) -> SceneDescFile | None:
    """The container, or None (a cache miss) for the damage a file on disk can have: missing
    or unreadable, truncated or not msgpack, not a map, another schema version, or not this
    layout. Only those are caught, each where it can happen; anything else is a bug in this
    code and raises."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        if not isinstance(exc, FileNotFoundError):
            log.warning("%s: unreadable (%s); treated as missing", path, exc)
        return None
    try:
        # msgpack's errors on junk: OutOfData, ExtraData, FormatError, StackError, and
        # ValueError for bad UTF-8, ext data or map keys; deep nesting may reach RecursionError.
        data: Any = msgpack.unpackb(raw, raw=False, strict_map_key=True)
    except (msgpack.UnpackException, ValueError, RecursionError) as exc:
        log.info("%s: not a scene description (%s: %s)", path, type(exc).__name__, exc)
        return None
    if not isinstance(data, dict) or data.get("schema_version") != SceneDescFile.VERSION:
        what = f"schema_version {data.get('schema_version')!r}" if isinstance(data, dict) else type(data).__name__
        log.info("%s: not a scene description of schema %d (%s)", path, SceneDescFile.VERSION, what[:80])
        return None
    try:
        return SceneDescFile.model_validate(data)
    except ValidationError as exc:
        log.info("%s: not this layout (%s)", path, exc.errors()[0]["msg"])
        return None


def damage(path: str | Path) -> str:
    """ "" when the file is healthy or missing, else "corrupt:<mtime_ns>:<size>".

    Read while the DAG is built (rules/common.smk): a damaged file changes the
    scenedesc rule's `repair` param and so is rebuilt. The mtime and size make every
    new damage differ from the last one.
    """
    try:
        st = Path(path).stat()
    except OSError:
        return ""
    return "" if load(path) is not None else f"corrupt:{st.st_mtime_ns}:{st.st_size}"
