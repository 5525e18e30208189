"""Text from bitmap subtitle streams (Blu-ray PGS, DVD VobSub, DVB) by OCR with Tesseract.

Only the chosen stream's packets are read (PyAV demuxes that stream alone; the picture is
never decoded), each bitmap is timed from its display set (a bitmap without an end lasts
until the next event, at most MAX_CUE seconds), prepared for Tesseract (alpha over the
outline's colour, dark letters on white, upscaled, padded) and read by `tesseract` through
pytesseract. Lines Tesseract is unsure of are dropped and counted in the log.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import av
import numpy as np
import pytesseract
from PIL import Image

from .errors import CinecutError

log = logging.getLogger(__name__)

BITMAP_CODECS = ("hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle")
# A bitmap whose stream gives it no end (PGS and DVB end one by the next display set) is
# shown until the next event, and never longer than this: the longest subtitles stay ~7 s.
MAX_CUE = 10.0
# Tesseract's mean word confidence (0-100) under which a line is taken for garbage: clean
# subtitle text reads at 85-96, a smudge or a logo read as letters at 0-40.
MIN_CONFIDENCE = 50.0
# Tesseract reads best when capital letters are ~30-40 px tall: each bitmap is scaled so
# that one line of it (letters and outline) is about this high.
LINE_HEIGHT = 60
PAD = 16
INSTALL = "install tesseract-ocr and tesseract-ocr-eng (apt-get install; tools/setup.sh does it)"

# Stream language tags (ISO 639-1, 639-2/B or /T, BCP 47) to ISO 639-2/T, which is also
# the name of Tesseract's language data, but for Chinese.
_BIBLIOGRAPHIC = {
    "alb": "sqi", "arm": "hye", "baq": "eus", "bur": "mya", "chi": "zho", "cze": "ces", "dut": "nld",
    "fre": "fra", "geo": "kat", "ger": "deu", "gre": "ell", "ice": "isl", "mac": "mkd", "mao": "mri",
    "may": "msa", "per": "fas", "rum": "ron", "slo": "slk", "tib": "bod", "wel": "cym",
}  # fmt: skip
_TWO_LETTER = {
    "ar": "ara", "bg": "bul", "ca": "cat", "cs": "ces", "da": "dan", "de": "deu", "el": "ell", "en": "eng",
    "es": "spa", "et": "est", "eu": "eus", "fa": "fas", "fi": "fin", "fr": "fra", "gl": "glg", "he": "heb",
    "hi": "hin", "hr": "hrv", "hu": "hun", "id": "ind", "is": "isl", "it": "ita", "ja": "jpn", "ko": "kor",
    "lt": "lit", "lv": "lav", "ms": "msa", "nb": "nor", "nl": "nld", "nn": "nor", "no": "nor", "pl": "pol",
    "pt": "por", "ro": "ron", "ru": "rus", "sk": "slk", "sl": "slv", "sq": "sqi", "sr": "srp", "sv": "swe",
    "th": "tha", "tr": "tur", "uk": "ukr", "vi": "vie", "zh": "zho",
}  # fmt: skip
_UNKNOWN = {"", "und", "mul", "zxx", "mis"}


def normalise_language(tag: str | None) -> str | None:
    """ISO 639-2/T code of a language tag ("ger", "de", "de-AT", "deu" are all "deu"), or
    None for an unknown or undetermined one."""
    primary = re.split(r"[-_]", (tag or "").strip().lower())[0]
    if primary in _UNKNOWN:
        return None
    if len(primary) == 2:
        return _TWO_LETTER.get(primary, primary)
    return _BIBLIOGRAPHIC.get(primary, primary)


def tesseract_language(tag: str | None, installed: set[str]) -> str:
    """Tesseract's language data for a stream's language tag: English when the tag is
    unknown or its data is not installed (said in the log)."""
    code = normalise_language(tag)
    if code == "zho":
        code = "chi_tra" if re.search(r"hant|tw|hk", (tag or "").lower()) else "chi_sim"
    if code is None:
        log.info("subtitle language %r unknown: reading it as English", tag)
        return "eng"
    if code not in installed:
        log.warning(
            "no Tesseract language data for %r (%s; install tesseract-ocr-%s): reading it as English",
            tag, code, code.replace("_", "-"),
        )  # fmt: skip
        return "eng"
    return code


def check_tesseract(film: str | Path) -> set[str]:
    """The installed Tesseract languages; a one-line error naming what to install when
    Tesseract or its English data is missing."""
    if shutil.which(pytesseract.pytesseract.tesseract_cmd) is None:
        raise CinecutError(film, f"its subtitles are bitmaps, and reading them needs `tesseract`: {INSTALL}")
    installed = _installed_languages()
    if "eng" not in installed:
        raise CinecutError(film, f"Tesseract has no English language data: {INSTALL}")
    return installed


@cache
def _installed_languages() -> set[str]:
    return set(pytesseract.get_languages(config=""))


# --------------------------------------------------------------------------- decoding


@dataclass(frozen=True)
class Bitmap:
    start: float
    end: float
    luma: np.ndarray  # uint8, H x W
    alpha: np.ndarray  # uint8, H x W (0: transparent)


class _Rect(ctypes.Structure):
    """The head of FFmpeg's AVSubtitleRect (libavcodec/avcodec.h, unchanged since FFmpeg 5)."""

    _fields_ = [
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("w", ctypes.c_int),
        ("h", ctypes.c_int),
        ("nb_colors", ctypes.c_int),
        ("data", ctypes.c_void_p * 4),
        ("linesize", ctypes.c_int * 4),
    ]


def _rect_pixels(rect: av.subtitles.subtitle.BitmapSubtitle) -> tuple[np.ndarray, np.ndarray]:
    """(luma, alpha) of one bitmap rectangle.

    PyAV gives a bitmap's palette indices but not its palette (PyAV issue #177: FFmpeg
    leaves the palette plane's linesize at 0, so PyAV makes no plane of it). The palette is
    read from the AVSubtitleRect that the PyAV object points to, found at the pointer after
    the object's header and its proxy, and used only if that struct's position, size and
    first plane are the object's own; otherwise a one-line error (a PyAV whose layout changed).
    """
    indices = np.frombuffer(rect.planes[0], dtype=np.uint8)
    address = ctypes.c_void_p.from_address(id(rect) + object.__basicsize__ + ctypes.sizeof(ctypes.c_void_p)).value
    head = _Rect.from_address(address) if address else None
    if (
        head is None
        or (head.x, head.y, head.w, head.h, head.nb_colors) != (rect.x, rect.y, rect.width, rect.height, rect.nb_colors)
        or head.data[0] != indices.ctypes.data
        or not head.data[1]
        or not 0 < head.nb_colors <= 256
    ):
        raise CinecutError(None, f"cannot read bitmap subtitle palettes with this PyAV ({av.__version__})")
    stride = head.linesize[0] or rect.width
    plane = np.ctypeslib.as_array((ctypes.c_uint8 * (stride * rect.height)).from_address(head.data[0]))
    indices = plane.reshape(rect.height, stride)[:, : rect.width]
    argb = np.ctypeslib.as_array((ctypes.c_uint32 * 256).from_address(head.data[1]))[: head.nb_colors].copy()
    palette = np.zeros((256, 2), np.uint8)  # luma, alpha; indices past nb_colors are transparent
    r, g, b = (argb >> 16) & 0xFF, (argb >> 8) & 0xFF, argb & 0xFF
    palette[: head.nb_colors, 0] = np.round(0.299 * r + 0.587 * g + 0.114 * b).astype(np.uint8)
    palette[: head.nb_colors, 1] = (argb >> 24) & 0xFF
    pixels = palette[indices]
    return pixels[..., 0], pixels[..., 1]


def _compose(rects: list) -> tuple[np.ndarray, np.ndarray] | None:
    """All rectangles of one display set on one canvas that just holds them."""
    rects = [r for r in rects if isinstance(r, av.subtitles.subtitle.BitmapSubtitle) and r.width and r.height]
    if not rects:
        return None
    x0, y0 = min(r.x for r in rects), min(r.y for r in rects)
    x1, y1 = max(r.x + r.width for r in rects), max(r.y + r.height for r in rects)
    luma = np.zeros((y1 - y0, x1 - x0), np.uint8)
    alpha = np.zeros_like(luma)
    for r in rects:
        rl, ra = _rect_pixels(r)
        luma[r.y - y0 : r.y - y0 + r.height, r.x - x0 : r.x - x0 + r.width] = rl
        alpha[r.y - y0 : r.y - y0 + r.height, r.x - x0 : r.x - x0 + r.width] = ra
    return (luma, alpha) if alpha.any() else None


def _events(film: str | Path, index: int) -> Iterator[tuple[float, float | None, tuple[np.ndarray, np.ndarray] | None]]:
    """(time from the container's start, end if the stream says it, pixels or None for a
    clear) of each display set. A packet that does not decode is skipped, as players do;
    a stream of which nothing decodes is an error."""
    with av.open(str(film)) as container:
        stream = container.streams[index]
        origin = (container.start_time or 0) / 1_000_000  # times are from the container's start
        failed, decoded_any, last_error = 0, False, None
        for packet in container.demux(stream):
            if packet.pts is None or packet.time_base is None:
                continue
            try:
                decoded = stream.codec_context.decode2(packet)
            except av.FFmpegError as exc:
                failed, last_error = failed + 1, exc
                continue
            if decoded is None:
                continue
            decoded_any = True
            at = float(packet.pts * packet.time_base) - origin + decoded.start_display_time / 1000
            shown = decoded.end_display_time - decoded.start_display_time
            end = at + shown / 1000 if 0 < decoded.end_display_time < 0xFFFFFFFF and shown > 0 else None
            yield at, end, _compose(list(decoded.rects))
        if failed:
            log.warning("%s: %d packets of subtitle stream %d did not decode (%s)", film, failed, index, last_error)
            if not decoded_any:
                raise CinecutError(film, f"subtitle stream {index} does not decode ({last_error})")


def decode_bitmaps(film: str | Path, index: int, film_duration: float | None = None) -> list[Bitmap]:
    """The stream's bitmaps with their start and end, in display order; a bitmap shown
    again unchanged right after itself (PGS palette fades) is one bitmap."""
    bitmaps: list[Bitmap] = []
    pending: tuple[float, float | None, np.ndarray, np.ndarray] | None = None

    def close(at: float) -> None:
        nonlocal pending
        if pending is None:
            return
        start, end, luma, alpha = pending
        stop = min(at, end if end is not None else at, start + MAX_CUE)
        if film_duration is not None:
            stop = min(stop, film_duration)
        previous = bitmaps[-1] if bitmaps else None
        if previous and abs(previous.end - start) < 0.05 and _same(previous, luma, alpha):
            bitmaps[-1] = Bitmap(previous.start, max(stop, previous.end), previous.luma, previous.alpha)
        elif stop > start:
            bitmaps.append(Bitmap(start, stop, luma, alpha))
        pending = None

    try:
        for at, end, pixels in _events(film, index):
            close(at)
            if pixels is not None:
                pending = (at, end, *pixels)
    except av.FFmpegError as exc:  # the container itself
        raise CinecutError(film, f"cannot read subtitle stream {index} ({exc})") from exc
    close(float("inf"))
    bitmaps.sort(key=lambda b: b.start)
    return bitmaps


def _same(bitmap: Bitmap, luma: np.ndarray, alpha: np.ndarray) -> bool:
    return bitmap.luma.shape == luma.shape and bool(np.array_equal(bitmap.luma, luma))


# --------------------------------------------------------------------------- reading


def prepare(luma: np.ndarray, alpha: np.ndarray) -> Image.Image | None:
    """A bitmap as Tesseract reads best: dark letters on white, a line ~LINE_HEIGHT px tall,
    padded. Subtitle bitmaps are light letters with a dark outline on transparent; the
    outline's colour is taken as the ground, so the letters stand out whatever the palette
    (a DVD stream without one gets guessed greys, the outline sometimes lighter than the
    letters)."""
    opaque = alpha >= 128
    if not opaque.any():
        return None
    padded = np.pad(opaque, 1)
    inner = opaque & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    edge = opaque & ~inner
    fill = float(luma[inner].mean()) if inner.any() else float(luma[opaque].mean())
    rim = float(luma[edge].mean())
    ground = rim if abs(fill - rim) >= 48 else (0.0 if fill >= 128 else 255.0)
    a = alpha.astype(np.float32) / 255
    grey = luma.astype(np.float32) * a + ground * (1 - a)
    if fill > ground:
        grey = 255 - grey
    rows = opaque.any(axis=1)
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate(([0], rows.view(np.int8), [0])))))[::2]
    scale = min(max(LINE_HEIGHT / max(float(np.median(runs)), 1.0), 0.5), 4.0)
    image = Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8), "L")
    if abs(scale - 1) > 0.1:
        image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.LANCZOS)
    framed = Image.new("L", (image.width + 2 * PAD, image.height + 2 * PAD), 255)
    framed.paste(image, (PAD, PAD))
    return framed


def recognise(image: Image.Image, language: str) -> tuple[str, float]:
    """(text, one line of the bitmap per line; mean word confidence 0-100) of an image."""
    data = pytesseract.image_to_data(image, lang=language, config="--psm 6", output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences = []
    for i, word in enumerate(data["text"]):
        conf = float(data["conf"][i])
        if conf < 0 or not word.strip():
            continue
        lines.setdefault((data["block_num"][i], data["par_num"][i], data["line_num"][i]), []).append(word.strip())
        confidences.append(conf)
    text = "\n".join(" ".join(words) for _, words in sorted(lines.items()))
    return text, (sum(confidences) / len(confidences) if confidences else 0.0)


@dataclass(frozen=True)
class OcrLine:
    start: float
    end: float
    text: str  # lines of the bitmap joined by "\n"
    confidence: float


def read_stream(
    film: str | Path,
    index: int,
    language_tag: str | None,
    film_duration: float | None = None,
    workers: int = 1,
) -> tuple[list[OcrLine], str]:
    """The timed text of a bitmap subtitle stream, and the Tesseract language it was read
    in. Lines with no letters or digits, or read with low confidence, are dropped."""
    installed = check_tesseract(film)
    # Tesseract's OpenMP threads cost more than they bring on a bitmap this small (0.35 s
    # against 0.21 s a read, measured): parallel reads are `workers` processes instead.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    language = tesseract_language(language_tag, installed)
    began = time.perf_counter()
    bitmaps = decode_bitmaps(film, index, film_duration)
    decoded = time.perf_counter()

    def read(bitmap: Bitmap) -> tuple[str, float]:
        image = prepare(bitmap.luma, bitmap.alpha)
        return recognise(image, language) if image is not None else ("", 0.0)

    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # each read is a tesseract process
            results = list(pool.map(read, bitmaps))
    except pytesseract.TesseractNotFoundError as exc:
        raise CinecutError(film, f"reading its bitmap subtitles needs `tesseract`: {INSTALL}") from exc
    except pytesseract.TesseractError as exc:
        raise CinecutError(film, f"Tesseract failed on subtitle stream {index}: {exc.message}") from exc
    lines, garbage = [], []
    for bitmap, (text, confidence) in zip(bitmaps, results, strict=True):
        if not re.search(r"\w", text) or confidence < MIN_CONFIDENCE:
            garbage.append((bitmap.start, text, confidence))
            continue
        lines.append(OcrLine(bitmap.start, bitmap.end, text, confidence))
    for start, text, confidence in garbage:
        log.info("dropped the bitmap at %.2f s: read %r, confidence %.0f", start, text, confidence)
    done = time.perf_counter()
    mean = sum(line.confidence for line in lines) / len(lines) if lines else 0.0
    log.info(
        "%s: subtitle stream %d (%s): %d bitmaps, %d lines (%d dropped as unreadable), mean OCR confidence %.1f;"
        " decode %.2f s, OCR %.2f s (%.0f ms per bitmap)",
        film, index, language, len(bitmaps), len(lines), len(garbage), mean, decoded - began, done - decoded,
        1000 * (done - decoded) / max(len(bitmaps), 1),
    )  # fmt: skip
    return lines, language
