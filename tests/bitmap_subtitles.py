"""Films with bitmap subtitles, made for the tests: ffmpeg cannot turn text into bitmaps.

Text is drawn with Pillow as subtitle bitmaps are (white letters, a dark outline, on a
transparent ground), then stored three ways:

- PGS (Blu-ray, `hdmv_pgs_subtitle`): a `.sup` file written here, segment by segment
  (PCS 0x16, WDS 0x17, PDS 0x14, ODS 0x15 with the run-length bitmap, END 0x80; each display
  set is cleared by one without objects), muxed into Matroska with `-c:s copy`;
- VobSub (DVD, `dvd_subtitle`): PNGs of four colours through `spumux` (Debian's dvdauthor)
  into an MPEG-2 program stream, remuxed into Matroska with `-c copy`;
- DVB (`dvb_subtitle`): ffmpeg re-encodes the PGS bitmaps (`-c:s dvbsub`) into MPEG-TS.
"""

from __future__ import annotations

import difflib
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
CLIP = Path(__file__).parent / "media" / "tears_of_steel_opening_500x208_h264_noaudio.ts"

# Sentences with ordinary words, punctuation, names and numbers; some cues have two lines.
ENGLISH = [
    "We have to leave the station before dawn.",
    "Nobody told me the engine was broken.",
    "Keep your voice down,\nthey can hear us through the wall.",
    "Where did you put the keys to the truck?",
    "I counted forty-two ships last night.",
    "Stay close to the light and don't look back.",
    "The signal came from the old tower\nnear the harbour.",
    "Thank you, Celia. I will never forget it.",
]
GERMAN = [
    "Wir müssen den Bahnhof vor Sonnenaufgang verlassen.",
    "Niemand hat mir gesagt, dass der Motor kaputt ist.",
    "Bleib nah am Licht und schau nicht zurück.",
]


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str
    image: Image.Image | None = None  # drawn instead of the text


def word_accuracy(truth: str, read: str) -> float:
    """Share of the true words read right, aligned in order (difflib): a word missed, split
    or misread counts against it; case and punctuation around a word do not."""

    def words(text: str) -> list[str]:
        return [w for w in (w.strip(".,!?;:\"'").lower() for w in text.split()) if w]

    truth_words, read_words = words(truth), words(read)
    matcher = difflib.SequenceMatcher(a=truth_words, b=read_words, autojunk=False)
    return sum(block.size for block in matcher.get_matching_blocks()) / max(len(truth_words), 1)


def cues(sentences: list[str], first: float = 0.5, length: float = 2.0, gap: float = 0.5) -> list[Cue]:
    """One cue per sentence, `length` seconds each, `gap` seconds apart."""
    return [Cue(first + i * (length + gap), first + i * (length + gap) + length, s) for i, s in enumerate(sentences)]


# --------------------------------------------------------------------------- drawing


def render(text: str, size: int, outline: int) -> Image.Image:
    """RGBA image of the text, centred lines, white with a black outline on transparent."""
    font = ImageFont.truetype(FONT, size)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    left, top, right, bottom = (
        round(v) for v in probe.multiline_textbbox((0, 0), text, font=font, stroke_width=outline, align="center")
    )
    pad = 2
    image = Image.new("RGBA", (right - left + 2 * pad, bottom - top + 2 * pad), (0, 0, 0, 0))
    ImageDraw.Draw(image).multiline_text(
        (pad - left, pad - top), text, font=font, fill=(255, 255, 255, 255), stroke_width=outline,
        stroke_fill=(0, 0, 0, 255), align="center",
    )  # fmt: skip
    return image


def four_colours(image: Image.Image) -> Image.Image:
    """The image in a DVD subpicture's four colours: transparent, white, grey, black."""
    alpha = image.getchannel("A").point(lambda a: 255 if a >= 128 else 0)
    luma = image.convert("L").point(lambda v: 255 if v >= 170 else (128 if v >= 85 else 0))
    out = Image.new("RGBA", image.size, (0, 0, 0, 0))
    out.paste(Image.merge("RGBA", (luma, luma, luma, alpha)), mask=alpha)
    return out


# --------------------------------------------------------------------------- PGS


def _segment(kind: int, pts: int, payload: bytes) -> bytes:
    return b"PG" + struct.pack(">IIBH", pts, 0, kind, len(payload)) + payload


def _rle(indices: bytes, width: int, height: int) -> bytes:
    """PGS run-length coding of palette indices, line by line."""
    out = bytearray()
    for y in range(height):
        row = indices[y * width : (y + 1) * width]
        x = 0
        while x < width:
            colour, run = row[x], 1
            while x + run < width and row[x + run] == colour and run < 16383:
                run += 1
            if colour != 0 and run <= 2:
                out += bytes([colour]) * run
            elif colour == 0:
                out += bytes([0, run]) if run < 64 else bytes([0, 0x40 | run >> 8, run & 0xFF])
            else:
                out += bytes([0, 0x80 | run, colour]) if run < 64 else bytes([0, 0xC0 | run >> 8, run & 0xFF, colour])
            x += run
        out += b"\x00\x00"
    return bytes(out)


def _palette(image: Image.Image) -> tuple[bytes, list[tuple[int, int, int, int]]]:
    """Indices (0: transparent) and YCrCb+alpha entries of a grey RGBA image: four levels of
    grey by four of opacity, as the anti-aliased edges of real subtitle bitmaps have."""
    rgba = np.asarray(image, dtype=np.int32)
    grey = np.round((rgba[..., 0] * 299 + rgba[..., 1] * 587 + rgba[..., 2] * 114) / 1000 / 85).astype(np.int32)
    opacity = np.minimum(rgba[..., 3] // 64, 3)
    level = np.where(rgba[..., 3] < 32, -1, grey * 4 + opacity)
    used = [int(v) for v in np.unique(level) if v >= 0]
    entries = [(16, 128, 128, 0)] + [(16 + (v // 4) * 85 * 219 // 255, 128, 128, (v % 4 + 1) * 64 - 1) for v in used]
    lookup = np.zeros(16, np.uint8)
    lookup[used] = np.arange(1, len(used) + 1)
    indices = np.where(level < 0, 0, lookup[np.maximum(level, 0)]).astype(np.uint8)
    return indices.tobytes(), entries


def write_sup(path: Path, cues_: list[Cue], width: int, height: int, size: int = 40, outline: int = 3) -> None:
    """A PGS stream: one epoch per cue, the bitmap centred near the bottom, cleared at its end."""
    out = bytearray()
    for number, cue in enumerate(cues_):
        image = cue.image or render(cue.text, size, outline)
        w, h = image.size
        x, y = (width - w) // 2, height - h - height // 20
        start, end = round(cue.start * 90000), round(cue.end * 90000)
        indices, entries = _palette(image)
        pcs = struct.pack(">HHBHBBBB", width, height, 0x10, 2 * number, 0x80, 0, 0, 1)
        pcs += struct.pack(">HBBHH", 0, 0, 0, x, y)
        wds = struct.pack(">BBHHHH", 1, 0, x, y, w, h)
        pds = bytes([0, 0]) + b"".join(bytes([i, *entry]) for i, entry in enumerate(entries))
        data = struct.pack(">HH", w, h) + _rle(indices, w, h)
        out += _segment(0x16, start, pcs) + _segment(0x17, start, wds) + _segment(0x14, start, pds)
        chunks = [data[i : i + 65000] for i in range(0, len(data), 65000)]
        for i, chunk in enumerate(chunks):
            flags = (0x80 if i == 0 else 0) | (0x40 if i == len(chunks) - 1 else 0)
            head = struct.pack(">HBB", 0, 0, flags) + (len(data).to_bytes(3, "big") if i == 0 else b"")
            out += _segment(0x15, start, head + chunk)
        out += _segment(0x80, start, b"")
        clear = struct.pack(">HHBHBBBB", width, height, 0x10, 2 * number + 1, 0x00, 0, 0, 0)
        out += _segment(0x16, end, clear) + _segment(0x17, end, wds) + _segment(0x80, end, b"")
    path.write_bytes(bytes(out))


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def pgs_film(
    path: Path, tracks: list[tuple[str, list[Cue]]], duration: float = 8.0, clip: Path = CLIP, size: int = 40
) -> Path:
    """A Matroska film of the clip's first `duration` seconds with one PGS stream per
    (language, cues) track, in that order. The PGS canvas is 1920x1080, as on Blu-ray."""
    sups = []
    for number, (_, track) in enumerate(tracks):
        sup = path.with_name(f"{path.stem}.{number}.sup")
        write_sup(sup, track, 1920, 1080, size=size)
        sups.append(sup)
    # ffmpeg moves each input to start at 0: -itsoffset puts the first cue back in its place.
    inputs = [
        a for sup, (_, t) in zip(sups, tracks, strict=True) for a in ("-itsoffset", str(t[0].start), "-i", str(sup))
    ]
    maps = [a for n in range(len(sups)) for a in ("-map", f"{n + 1}:s")]
    meta = [a for n, (lang, _) in enumerate(tracks) for a in (f"-metadata:s:s:{n}", f"language={lang}")]
    _ffmpeg("-t", str(duration), "-i", str(clip), *inputs, "-map", "0:v", *maps, *meta, "-c", "copy", str(path))
    return path


# --------------------------------------------------------------------------- VobSub


def spumux_available() -> bool:
    return shutil.which("spumux") is not None


def vobsub_film(path: Path, cues_: list[Cue], duration: float = 8.0, clip: Path = CLIP, language: str = "eng") -> Path:
    """A DVD-style film (720x576 MPEG-2) whose subpictures spumux made from four-colour PNGs;
    `path` ending in .mkv is a remux of the program stream, .mpg the program stream."""
    work = path.with_name(path.stem + ".vob")
    work.mkdir(exist_ok=True)
    spus = []
    for i, cue in enumerate(cues_):
        size = 26
        while (image := four_colours(render(cue.text, size, 2))).width > 700:  # a DVD picture is 720 wide
            size -= 2
        png = work / f"{i}.png"
        image.save(png)
        x, y = (720 - image.width) // 2 // 2 * 2, (576 - image.height - 30) // 2 * 2
        spus.append(
            f'<spu start="{_hundredths(cue.start)}" end="{_hundredths(cue.end)}" image="{png}"'
            f' xoffset="{x}" yoffset="{y}"/>'
        )
    xml = work / "spumux.xml"
    xml.write_text('<subpictures format="PAL"><stream>' + "".join(spus) + "</stream></subpictures>\n")
    video = work / "video.mpg"
    _ffmpeg("-t", str(duration), "-i", str(clip), "-vf", "scale=720:576,setsar=64/45", "-r", "25",
            "-c:v", "mpeg2video", "-b:v", "2M", "-an", "-f", "dvd", str(video))  # fmt: skip
    muxed = work / "muxed.mpg"
    with video.open("rb") as src, muxed.open("wb") as dst:
        done = subprocess.run(["spumux", "-P", str(xml)], stdin=src, stdout=dst, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise AssertionError(f"spumux failed: {done.stderr[-2000:]}")
    if path.suffix == ".mpg":
        shutil.copyfile(muxed, path)
    else:
        _ffmpeg(
            "-fflags",
            "+genpts",
            "-i",
            str(muxed),
            "-map",
            "0:v",
            "-map",
            "0:s",
            "-c",
            "copy",
            "-metadata:s:s:0",
            f"language={language}",
            str(path),
        )
    return path


def _hundredths(seconds: float) -> str:
    h, rest = divmod(round(seconds * 100), 360000)
    m, rest = divmod(rest, 6000)
    return f"{h:02d}:{m:02d}:{rest // 100:02d}.{rest % 100:02d}"


# --------------------------------------------------------------------------- DVB


def dvb_film(path: Path, source: Path, language: str = "eng") -> Path:
    """An MPEG-TS film whose DVB subtitles ffmpeg encoded from `source`'s bitmap stream."""
    _ffmpeg("-i", str(source), "-map", "0:v", "-map", "0:s:0", "-c:v", "copy", "-c:s", "dvbsub",
            "-metadata:s:s:0", f"language={language}", "-f", "mpegts", str(path))  # fmt: skip
    return path
