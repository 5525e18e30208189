"""The one place that runs ffmpeg/ffprobe and turns failures into clear errors."""

from __future__ import annotations

import io
import json
import logging
import re
import subprocess
import tempfile
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import atomic
from .errors import CinecutError

log = logging.getLogger(__name__)

AUDIO_RATE = 48000  # every sound cinecut makes: the trailer's, its stems', the music bed's


# ffmpeg's closing words that say nothing about the cause.
_GENERIC = (
    "error configuring filter",
    "error while filtering",
    "conversion failed",
    "error reinitializing",
    "error while processing the decoded data",
    "failed to inject frame",
)


def run(cmd: list[str], path: str | Path, what: str, cwd: str | Path | None = None) -> str:
    """Run a command; on failure raise CinecutError naming `path` and ffmpeg's last words."""
    return _run(cmd, path, what, cwd).stdout


def run_stderr(cmd: list[str], path: str | Path, what: str) -> str:
    """As `run`, for commands that report on stderr (loudnorm, ebur128)."""
    return _run(cmd, path, what).stderr


def _run(cmd: list[str], path: str | Path, what: str, cwd: str | Path | None = None) -> subprocess.CompletedProcess:
    log.info("run: %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", cwd=cwd)
    if proc.stderr:
        log.debug("%s", proc.stderr[-20000:])
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        specific = [ln for ln in lines if not ln.lower().startswith(_GENERIC)]
        reason = (specific or lines or [f"exit status {proc.returncode}"])[-1]
        raise CinecutError(path, f"{what} failed: {reason}")
    return proc


@dataclass(frozen=True)
class MediaInfo:
    """What the workflow needs to know about a film, read by ffprobe."""

    path: str
    duration: float
    width: int
    height: int
    fps: Fraction
    has_audio: bool
    audio_channels: int
    sar: Fraction = Fraction(1)  # sample (pixel) aspect ratio: 32/27 for an anamorphic NTSC DVD
    rotation: int = 0  # display matrix, counter-clockwise degrees: 0, 90, 180 or 270
    # Seconds from the container's start (where every time in the workflow counts from):
    # the picture's first frame, and the end of its last frame and of the sound. A
    # container can outlast both (a subtitle stream running on).
    picture_start: float = 0.0
    picture_end: float = 0.0
    sound_end: float | None = None
    container_duration: float = 0.0
    seek_points: tuple[float, ...] = ()  # keyframes, where the container has no index


def _rate(text: str | None) -> Fraction:
    try:
        rate = Fraction(text or "0")
    except (ValueError, ZeroDivisionError):
        return Fraction(0)
    return rate


def probe(path: str | Path) -> MediaInfo:
    """Probe a film; raise CinecutError if it is missing or has no decodable video."""
    path = Path(path)
    if not path.is_file():
        raise CinecutError(path, "film not found")
    if path.stat().st_size == 0:
        raise CinecutError(path, "film is an empty file")
    out = run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        path,
        "reading the film (ffprobe)",
    )
    data = json.loads(out)
    streams = data.get("streams", [])
    video = next(
        (s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")),
        None,
    )
    if video is None:
        raise CinecutError(path, "not a film: no video stream")
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    duration = float(data.get("format", {}).get("duration") or video.get("duration") or 0)
    if duration <= 0:
        raise CinecutError(path, "not a film: no duration")
    fps = _rate(video.get("avg_frame_rate"))
    if not 1 <= fps <= 240:
        fps = _rate(video.get("r_frame_rate"))
    origin = _float(data.get("format", {}).get("start_time"))
    picture = _packet_span(path, "v", origin, duration)
    sound = _packet_span(path, "a", origin, duration) if audio is not None else None
    picture_start, picture_end = picture or (0.0, duration)
    indexless = set(data.get("format", {}).get("format_name", "").split(",")) & INDEXLESS
    return MediaInfo(
        path=str(path),
        duration=picture_end,
        picture_start=picture_start,
        picture_end=picture_end,
        sound_end=sound[1] if sound else (duration if audio is not None else None),
        container_duration=duration,
        width=int(video.get("width") or 0),
        height=int(video.get("height") or 0),
        fps=fps if 1 <= fps <= 240 else Fraction(25),
        has_audio=audio is not None,
        audio_channels=int(audio.get("channels") or 0) if audio else 0,
        sar=_ratio(video.get("sample_aspect_ratio")),
        rotation=_rotation(video),
        seek_points=_keyframes(path, origin) if indexless else (),
    )


def _float(text: str | None) -> float:
    try:
        return float(text or 0)
    except ValueError:
        return 0.0


def _packet_span(path: Path, kind: str, origin: float, duration: float) -> tuple[float, float] | None:
    """(first, end) of a stream's packets, seconds from the container's start: the
    smallest timestamp of its first packets, and the largest timestamp plus duration of
    those in its last 10 s (B-frames come out of order). None when nothing is timed."""

    def times(interval: str) -> list[tuple[float, float]]:
        out = run(
            ["ffprobe", "-v", "error", "-select_streams", f"{kind}:0", "-read_intervals", interval,
             "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", str(path)],
            path,
            "reading the film's packets (ffprobe)",
        )  # fmt: skip
        found = []
        for line in out.splitlines():
            pts, _, length = line.partition(",")
            try:
                found.append((float(pts), float(length or 0)))
            except ValueError:  # N/A: an untimed packet
                continue
        return found

    head = times("%+#16")
    tail = times(f"{origin + max(duration - 10, 0):.3f}%") or head
    if not head or not tail:
        return None
    first = min(t for t, _ in head) - origin
    end = max(t + d for t, d in tail) - origin
    return (round(max(first, 0.0), 6), round(end, 6)) if end > first else None


#: Containers without a seek index (MPEG transport and program streams, elementary
#: streams): ffmpeg finds a time in them by bisecting timestamps, and in ffmpeg 5.1 that
#: can land on the keyframe *after* the time asked for, seconds late. Seeking to just
#: before a known keyframe lands on it.
INDEXLESS = {"mpegts", "mpeg", "mpegvideo", "h264", "hevc", "m4v", "mpeg1video", "mpeg2video"}


def _keyframes(path: Path, origin: float) -> tuple[float, ...]:
    """The video keyframes' times, seconds from the container's start (one pass over the
    packets; no decoding)."""
    out = run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags",
         "-of", "csv=p=0", str(path)],
        path,
        "indexing the film's keyframes (ffprobe)",
    )  # fmt: skip
    found = set()
    for line in out.splitlines():
        pts, _, flags = line.partition(",")
        if flags.startswith("K"):
            try:
                found.add(round(max(float(pts) - origin, 0.0), 6))
            except ValueError:  # N/A: an untimed packet
                continue
    return tuple(sorted(found))


def seek_point(start: float, keyframes: Sequence[float]) -> float:
    """Where ffmpeg's input should seek so that decoding reaches `start` from at or
    before it: `start` itself where the container seeks reliably (no keyframes given),
    else just before the last keyframe at or before `start`. The frames between the
    two are decoded and dropped (`decode_skip`)."""
    if not keyframes:
        return start
    i = bisect_right(keyframes, start + 1e-6) - 1
    return round(max(keyframes[i] - 0.005, 0.0), 6) if i >= 0 else 0.0


def _rotation(video: dict) -> int:
    """The display matrix's turn, counter-clockwise degrees in 0/90/180/270 (a phone held
    upright writes -90, i.e. 270: the picture is shown turned a quarter clockwise)."""
    for side in video.get("side_data_list") or []:
        if "rotation" in side:
            return round(float(side["rotation"]) / 90) * 90 % 360
    return 0


def _ratio(text: str | None) -> Fraction:
    """ffprobe's "32:27"; "0:1", "N/A" or nothing mean square pixels."""
    try:
        num, den = (int(x) for x in (text or "").split(":"))
        return Fraction(num, den) if num > 0 and den > 0 else Fraction(1)
    except ValueError:
        return Fraction(1)


def escape_filter_value(text: str) -> str:
    """Escape a value for use inside an ffmpeg filter graph option (paths, text)."""
    for ch in ("\\", "'", ":", ",", ";", "[", "]", "="):
        text = text.replace(ch, "\\" + ch)
    return text


def decode_audio(
    path: str | Path,
    rate: int,
    channels: int,
    start: float = 0.0,
    duration: float | None = None,
    stream: int = 0,
    keyframes: Sequence[float] = (),
) -> np.ndarray:
    """Decode audio to float32 samples, shape (n, channels), resampled and down-/up-mixed by
    ffmpeg (so any file ffmpeg reads works: wav, flac, mp3, m4a, opus, a film's 5.1).
    `keyframes`: the film's seek points, for a container without an index."""
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error"]
    cmd += input_seek(start, keyframes)
    cmd += ["-i", str(path), "-map", f"0:a:{stream}", "-vn", "-ac", str(channels), "-ar", str(rate)]
    cmd += output_seek(start, keyframes)
    if duration is not None:
        cmd += ["-t", f"{duration:.6f}"]
    cmd += ["-f", "f32le", "-acodec", "pcm_f32le", "-"]
    log.info("run: %s", " ".join(cmd))
    proc = subprocess.run(cmd, capture_output=True)
    if proc.returncode != 0:
        raise _audio_failure(path, proc.stderr, proc.returncode)
    return np.frombuffer(proc.stdout, np.float32).reshape(-1, channels).copy()


def stream_audio(path: str | Path, rate: int, block_seconds: float = 60.0, stream: int = 0) -> Iterator[np.ndarray]:
    """The first audio stream, mono float32 at `rate`, in blocks of `block_seconds` (the
    last one shorter) from one ffmpeg pipe: a whole film in bounded memory, no seeking."""
    cmd = ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-i", str(path), "-map", f"0:a:{stream}", "-vn"]
    # A film whose sound is mostly broken still gives what decodes (ffmpeg would exit 69
    # past 2/3 of its frames failing); a file it cannot read at all still fails.
    cmd += ["-max_error_rate", "1", "-ac", "1", "-ar", str(rate), "-f", "f32le", "-acodec", "pcm_f32le", "-"]
    log.info("run: %s", " ".join(cmd))
    block = max(int(block_seconds * rate), 1) * 4
    with tempfile.TemporaryFile() as err, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err) as proc:
        assert proc.stdout is not None
        while data := proc.stdout.read(block):
            yield np.frombuffer(data[: len(data) // 4 * 4], np.float32)
        proc.wait()
        err.seek(0)
        errors = err.read()
        if proc.returncode != 0:
            raise _audio_failure(path, errors, proc.returncode)
        if errors.strip():
            log.warning("%s: the sound had decode errors; what decoded was read (%d lines)", path, errors.count(b"\n"))


def _audio_failure(path: str | Path, stderr: bytes, returncode: int) -> CinecutError:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return CinecutError(path, f"decoding audio failed: {lines[-1] if lines else returncode}")


def input_seek(start: float, keyframes: Sequence[float] = ()) -> list[str]:
    """ffmpeg input options that seek to `start`, or to just before the keyframe before it
    in a container without an index (then `output_seek` drops the frames in between)."""
    at = seek_point(start, keyframes)
    return ["-ss", f"{at:.6f}"] if at > 0 else []


def output_seek(start: float, keyframes: Sequence[float] = ()) -> list[str]:
    skip = seek_skip(start, keyframes)
    return ["-ss", f"{skip:.6f}"] if skip > 0 else []


def seek_skip(start: float, keyframes: Sequence[float] = ()) -> float:
    """Seconds to decode and drop after `seek_point` to reach `start`."""
    return decode_skip(start, seek_point(start, keyframes))


def decode_skip(start: float, seeked: float) -> float:
    """Seconds to decode and drop after seeking to `seeked` to reach `start`, less a
    millisecond: the frame at `start` may be timed a tick before it (90 kHz in a transport
    stream) and must stay."""
    skip = start - seeked
    return round(skip - 0.001, 6) if skip > 0.001 else 0.0


def count_packets(path: str | Path) -> int:
    """Frames in the first video stream, counted from its packets (no decoding)."""
    out = run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_packets", "-show_entries",
         "stream=nb_read_packets", "-of", "csv=p=0", str(path)],
        path,
        "counting frames",
    )  # fmt: skip
    return int(out.strip().rstrip(",") or 0)


def audio_report(path: str | Path, audio_filter: str, what: str) -> str:
    """Run an audio analysis filter (ebur128, loudnorm) over the first audio stream; its stderr."""
    cmd = ["ffmpeg", "-hide_banner", "-nostats", "-nostdin", "-i", str(path), "-map", "0:a:0", "-af", audio_filter]
    return run_stderr([*cmd, "-f", "null", "-"], path, what)


def loudness(path: Path) -> tuple[float, float]:
    """EBU R128 integrated loudness (LUFS) and true peak (dBTP) via ffmpeg's ebur128."""
    err = audio_report(path, "ebur128=peak=true", "measuring loudness")
    summary = err[err.rfind("Summary:") :]
    i = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    return (float(i.group(1)) if i else float("nan"), float(peak.group(1)) if peak else float("nan"))


def write_wav(path: str | Path, samples: np.ndarray, rate: int, subtype: str = "PCM_16") -> None:
    """A WAV file, written atomically. Encoded in memory first: libsndfile reports a full
    disk only as "System error", a Python write names the problem."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, subtype=subtype, format="WAV")
    atomic.write_bytes(path, buffer.getvalue())
