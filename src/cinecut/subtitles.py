"""Subtitles (SRT, ASS/SSA, WebVTT via pysubs2, or the film's own subtitle stream: text,
or bitmaps read by OCR) to timed dialogue lines with emotions."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import charset_normalizer
import pysubs2

from . import media, ocr
from .errors import CinecutError
from .models import Dialogue, DialogueLine

log = logging.getLogger(__name__)

# Emotion lexicon: word stems per label. Matching is on lower-cased words with
# punctuation stripped, so "RUN!" and "run" are the same word.
EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    "fear": ("afraid", "scared", "fear", "terrif", "help", "hide", "danger", "dark", "monster", "scream"),
    "anger": ("hate", "kill", "damn", "enough", "fight", "destroy", "liar", "betray", "revenge"),
    "urgency": ("now", "run", "hurry", "quick", "go", "move", "get out", "must", "before it", "too late"),
    "sadness": ("sorry", "miss", "lost", "gone", "cry", "alone", "goodbye", "never again", "dead"),
    "joy": ("love", "happy", "beautiful", "laugh", "wonderful", "home", "together", "morning", "sun"),
    "wonder": ("strange", "what is", "look", "light", "signal", "never seen", "impossible", "sky"),
}
# How intense each label is before punctuation and case add to it.
BASE_INTENSITY = {
    "fear": 0.6,
    "anger": 0.65,
    "urgency": 0.6,
    "sadness": 0.35,
    "joy": 0.25,
    "wonder": 0.35,
    "neutral": 0.1,
}
_FORMATS = {".srt": "srt", ".ass": "ass", ".ssa": "ssa", ".vtt": "vtt"}  # else autodetect
_TAG = re.compile(r"<[^>]+>|\{[^}]*\}")
# What subtitles for the deaf and hard of hearing (SDH) add to the speech: descriptions of
# sounds in brackets or parentheses, lyrics between music notes (or from a note to the end
# of the cue), and the speaker's name in capitals before a colon ("JOHN: Get down!").
MUSIC_NOTES = "♪♫♬♩"
# An unclosed bracket is left alone: right-to-left text often has its parentheses mirrored.
_DESCRIPTION = re.compile(rf"\[[^\]]*\]|\([^)]*\)|[{MUSIC_NOTES}][^{MUSIC_NOTES}]*[{MUSIC_NOTES}]?")
_HASH_LYRIC = re.compile(r"^#(\s.*)?$")  # "# Singing in the rain #": old SRTs' music note
_SPEAKER = re.compile(r"^([-–—]\s*)?([^:]{1,40}):(?=\s|$)")
# Loud sounds raise a shot's intensity as much as a shouted line does.
LOUD_SOUNDS = ("explo", "blast", "gunfire", "gunshot", "shot", "scream", "roar", "crash", "siren", "bang", "thunder",
               "alarm", "shout", "yell", "shriek", "rumbl", "boom", "smash", "shatter", "growl", "bark")  # fmt: skip


def clean_text(text: str) -> str:
    """Strip HTML/ASS markup and collapse line breaks."""
    text = _TAG.sub("", text.replace("\\N", " ").replace("\\n", " "))
    return " ".join(text.split())


def split_cue(text: str) -> tuple[str, str]:
    """(what is said, kind) of a cue: "speech" with sound descriptions, lyrics and speaker
    labels taken out, or "sound" (with the whole cleaned cue) when nothing is said."""
    lines = []
    for line in re.split(r"\\N|\\n|\n", _TAG.sub("", text)):
        line = _HASH_LYRIC.sub("", line.strip())
        label = _SPEAKER.match(line)
        if label and label.group(2).isupper():  # a name in capitals, not "Listen: ..."
            line = (label.group(1) or "") + line[label.end() :]
        lines.append(line)
    # Descriptions and lyrics may run over several lines of the cue.
    speech = " ".join(_DESCRIPTION.sub(" ", " ".join(lines)).split())
    if not re.search(r"\w", speech):
        return clean_text(text), "sound"
    return speech, "speech"


def label_sound(text: str) -> tuple[str, float]:
    """Emotion and intensity of a sound description: an explosion is as intense as a
    shouted line, rustling is not."""
    emotion, intensity = label_emotion(text)
    words = re.findall(r"\w+", text.lower())
    if any(w.startswith(LOUD_SOUNDS) for w in words):
        intensity = max(intensity, BASE_INTENSITY["urgency"] + 0.15)
    return emotion, round(min(intensity, 1.0), 3)


def label_emotion(text: str) -> tuple[str, float]:
    """Label a line with an emotion and a 0-1 intensity.

    The label is the lexicon group with most hits (ties: most intense). Intensity is the
    label's base, plus 0.15 per '!' (at most two), plus 0.15 for shouting (mostly
    upper case), so "Now!" scores as urgent and intense.
    """
    lowered = text.lower()
    words = re.findall(r"[a-z']+", lowered)
    joined = " " + " ".join(words) + " "
    best, best_hits = "neutral", 0
    for label, stems in EMOTION_WORDS.items():
        hits = sum(
            1 for stem in stems if (" " in stem and f" {stem}" in joined) or any(w.startswith(stem) for w in words)
        )
        if hits > best_hits or (hits == best_hits and hits and BASE_INTENSITY[label] > BASE_INTENSITY[best]):
            best, best_hits = label, hits
    intensity = BASE_INTENSITY[best]
    intensity += 0.15 * min(text.count("!"), 2)
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 2 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        intensity += 0.15
    if "?" in text and best == "neutral":
        intensity += 0.05
    return best, round(min(intensity, 1.0), 3)


def _utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 text saved without a byte-order mark: its NULs are the high bytes of ASCII
    characters, all at odd offsets (little-endian) or all at even ones (big-endian)."""
    head = raw[:4096]
    for encoding, zeros, letters in (("utf-16-le", head[1::2], head[0::2]), ("utf-16-be", head[0::2], head[1::2])):
        if zeros.count(0) > 0.9 * len(zeros) and letters.count(0) < 0.05 * len(letters):
            try:
                return raw.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _utf16_without_bom(raw)
        if text is None:
            raise CinecutError(path, "subtitles look like binary data, not text")
        return text
    for encoding in ("utf-8-sig", "utf-16"):
        if encoding == "utf-16" and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            continue
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    # A legacy 8-bit code page (cp1251 Cyrillic, cp1250 Central European, ...): guessed
    # from the byte statistics, which needs a real file's worth of text to be right.
    guess = charset_normalizer.from_bytes(raw).best()
    if guess is not None:
        log.info("%s: not UTF-8; read as %s", path, guess.encoding)
        return str(guess)
    return raw.decode("cp1252", errors="replace")


def parse_subtitles(path: str | Path, film_duration: float | None = None) -> list[DialogueLine]:
    """Parse a subtitle file; raise CinecutError if it does not parse or holds no cues."""
    path = Path(path)
    if not path.is_file():
        raise CinecutError(path, "subtitle file not found")
    return _parse_text(_read_text(path), _FORMATS.get(path.suffix.lower()), path, film_duration)


def dialogue_line(start: float, end: float, raw: str) -> DialogueLine:
    """One cue, from a subtitle file, a text stream or OCR, as a line: what is said (SDH
    descriptions, lyrics and speaker labels taken out) or a sound, with its emotion."""
    body, kind = split_cue(raw)
    emotion, intensity = label_emotion(body) if kind == "speech" else label_sound(body)
    return DialogueLine(start=start, end=end, text=body, emotion=emotion, intensity=intensity, kind=kind)


def _parse_text(text: str, fmt: str | None, origin: str | Path, film_duration: float | None) -> list[DialogueLine]:
    try:
        subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    except Exception as exc:  # pysubs2 raises several types for unparsable input
        raise CinecutError(origin, f"subtitles do not parse ({type(exc).__name__}: {exc})") from exc
    lines: list[DialogueLine] = []
    dropped: list[float] = []  # starts of the cues after the film's end
    for event in subs:
        if event.is_comment:
            continue
        raw = event.plaintext if hasattr(event, "plaintext") else event.text
        start, end = event.start / 1000.0, event.end / 1000.0
        if not clean_text(raw) or end <= start or start < 0:
            continue
        if film_duration is not None and start >= film_duration:
            dropped.append(start)
            continue
        if film_duration is not None:
            end = min(end, film_duration)
        lines.append(dialogue_line(start, end, raw))
    if dropped and not lines:  # they parse: the film is shorter than the subtitles' film
        raise CinecutError(
            origin,
            f"no cue falls inside the film: the first cue is at {min(dropped):.1f} s,"
            f" the film ends at {film_duration:.1f} s",
        )
    if dropped:
        log.warning("%s: dropped %d cues that start after the film ends", origin, len(dropped))
    if not lines and len(text.strip()) > 0:
        raise CinecutError(origin, "subtitles do not parse: no timed dialogue found")
    lines.sort(key=lambda line: (line.start, line.end))
    return lines


# Subtitle codecs that carry text (ffmpeg converts each to SRT); bitmap ones (PGS, DVD,
# DVB) are read by OCR.
TEXT_CODECS = ("subrip", "srt", "ass", "ssa", "mov_text", "webvtt", "text")


@dataclass(frozen=True)
class SubtitleStream:
    index: int
    codec: str
    language: str | None  # the stream's tag as the container has it ("ger", "de", None)
    default: bool

    @property
    def kind(self) -> str:
        return "text" if self.codec in TEXT_CODECS else "bitmap" if self.codec in ocr.BITMAP_CODECS else "other"


def subtitle_streams(film: str | Path) -> list[SubtitleStream]:
    out = media.run(
        ["ffprobe", "-v", "error", "-select_streams", "s", "-show_entries",
         "stream=index,codec_name:stream_tags=language:stream_disposition=default", "-of", "json", str(film)],
        film,
        "looking for subtitle streams",
    )  # fmt: skip
    return [
        SubtitleStream(
            index=int(s["index"]),
            codec=s.get("codec_name", "?"),
            language=(s.get("tags") or {}).get("language"),
            default=bool((s.get("disposition") or {}).get("default", 0)),
        )
        for s in json.loads(out).get("streams", [])
    ]


def choose_stream(streams: list[SubtitleStream], language: str | None = None) -> SubtitleStream | None:
    """The subtitle stream to take the dialogue from: of those in `language` (all when it
    is empty or none is in it), a text stream before a bitmap one (read by OCR), and of
    those the one marked default, else the first."""
    wanted = ocr.normalise_language(language)
    if wanted:
        matching = [s for s in streams if ocr.normalise_language(s.language) == wanted]
        if streams and not matching:
            tags = ", ".join(f"{s.index}: {s.language or 'no language'}" for s in streams)
            log.warning("no subtitle stream in %r (streams %s): choosing among all", language, tags)
        streams = matching or streams
    for kind in ("text", "bitmap"):
        usable = [s for s in streams if s.kind == kind]
        if usable:
            return max(usable, key=lambda s: s.default)  # max keeps the first of equals
    if streams:
        codecs = ", ".join(sorted({s.codec for s in streams}))
        log.info("subtitle streams of codecs no dialogue is read from (%s)", codecs)
    return None


def build_dialogue(
    subtitles: str | None,
    film_duration: float,
    film: str | Path | None = None,
    language: str | None = None,
    workers: int = 1,
) -> Dialogue:
    """Dialogue from the subtitle file; without one, from the film's own subtitles: a text
    stream, else a bitmap stream read by OCR (see choose_stream)."""
    if subtitles:
        return Dialogue(source=str(subtitles), origin="file", lines=parse_subtitles(subtitles, film_duration))
    stream = choose_stream(subtitle_streams(film), language) if film else None
    if stream is None:
        return Dialogue(source=None, lines=[])
    if stream.kind == "bitmap":
        return _ocr_dialogue(film, stream, film_duration, workers)  # type: ignore[arg-type]
    index, codec = stream.index, stream.codec
    origin = f"{film} (subtitle stream {index}, {codec})"
    try:
        srt = media.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-i", str(film), "-map", f"0:{index}", "-f", "srt", "-"],
            film,
            f"reading subtitle stream {index}",
        )
        lines = _parse_text(srt, "srt", origin, film_duration)
    except CinecutError as exc:  # nobody asked for this stream: the trailer goes on without it
        log.warning("%s; going on without dialogue", exc)
        return Dialogue(source=None, lines=[])
    log.info("%s: %d lines", origin, len(lines))
    return Dialogue(source=origin, origin="stream", language=stream.language, lines=lines)


def _ocr_dialogue(film: str | Path, stream: SubtitleStream, film_duration: float, workers: int) -> Dialogue:
    read, language = ocr.read_stream(film, stream.index, stream.language, film_duration, workers)
    lines = [dialogue_line(line.start, line.end, line.text) for line in read if line.start < film_duration]
    source = f"{film} (subtitle stream {stream.index}, {stream.codec}, OCR {language})"
    return Dialogue(source=source, origin="ocr", language=stream.language, lines=lines)
