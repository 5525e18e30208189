"""The music bed: a track from the user's music folder, chosen by tempo and length, or
one synthesised for the vibe at its tempo. Either way its beats are known on the
*trailer* timeline (seconds from the trailer's first frame), so the manifest can put
cuts on them without moving any film timestamp.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from . import media
from .errors import CinecutError
from .media import AUDIO_RATE as RATE  # the bed is at the trailer's rate
from .models import Library, MusicPlan, Track
from .vibes import Vibe

log = logging.getLogger(__name__)

ANALYSIS_RATE = 22050
HOP = 128  # onset envelope hop at ANALYSIS_RATE: 5.8 ms, fine enough for frame-exact cuts
AUDIO_EXTENSIONS = {".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".aif", ".aiff", ".wma"}
TAIL = 20.0  # seconds of bed beyond the planned length: room for hand edits that lengthen the cut


def library_files(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)


def library_signature(folder: str) -> str:
    """Names, sizes and mtimes of the folder's audio files: a new or changed track rescans."""
    if not folder:
        return ""
    if not Path(folder).is_dir():
        raise CinecutError(folder, "music folder not found (config music.folder)")
    h = hashlib.sha256()
    for p in library_files(folder):
        st = p.stat()
        h.update(f"{p.relative_to(folder)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def detect_beats(samples: np.ndarray, rate: int = ANALYSIS_RATE) -> tuple[float, list[float]]:
    """Tempo (BPM) and beat times by librosa's beat tracker on a fine onset envelope, each
    beat then moved to the strongest onset within ±3 hops (±17 ms): the tracker's grid
    is a hop too coarse for cuts that must land within one frame."""
    import librosa  # numba compiles on first use: import only where beats are needed

    env = librosa.onset.onset_strength(y=samples, sr=rate, hop_length=HOP)
    _, frames = librosa.beat.beat_track(onset_envelope=env, sr=rate, hop_length=HOP, units="frames")
    refined = [int(f) - 3 + int(np.argmax(env[max(int(f) - 3, 0) : int(f) + 4])) for f in frames]
    beats = librosa.frames_to_time(np.array(refined, dtype=int), sr=rate, hop_length=HOP)
    if len(beats) < 4:
        return 0.0, []
    bpm = 60.0 / float(np.median(np.diff(beats)))
    return round(bpm, 2), [round(float(b), 4) for b in beats]


def scan_library(folder: str | Path) -> Library:
    tracks, skipped = [], []
    for path in library_files(folder):
        try:
            mono = media.decode_audio(path, ANALYSIS_RATE, 1)[:, 0]
        except CinecutError as exc:
            skipped.append(f"{path}: {exc.problem}")
            log.warning("music: skipped %s", exc)
            continue
        duration = len(mono) / ANALYSIS_RATE
        bpm, beats = detect_beats(mono) if duration >= 5 else (0.0, [])
        if not beats:
            skipped.append(f"{path}: no steady beat found")
            continue
        st = path.stat()
        log.info("music: %s: %.1f s, %.1f BPM, %d beats", path, duration, bpm, len(beats))
        tracks.append(
            Track(path=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns, duration=duration, bpm=bpm, beats=beats)
        )
    return Library(folder=str(folder), tracks=tracks, skipped=skipped)


def _tempo_miss(bpm: float, vibe: Vibe) -> float:
    """BPM outside the vibe's range, counting half and double time as the same pulse."""
    low, high = vibe.tempo
    return min(max(low - b, b - high, 0.0) for b in (bpm, bpm / 2, bpm * 2))


def choose_track(library: Library, vibe: Vibe, length: float) -> tuple[Track, list[str]] | None:
    """The track that best fits the vibe's tempo, then the trailer's length (no loop)."""

    def cost(t: Track) -> tuple[float, float, str]:
        usable = t.duration - t.beats[0]
        return (_tempo_miss(t.bpm, vibe) / 10, max(length - usable, 0.0) / length, t.path)

    if not library.tracks:
        return None
    best = min(library.tracks, key=cost)
    reasons = [
        f"{Path(best.path).name}: {best.bpm:.1f} BPM (vibe {vibe.tempo[0]}-{vibe.tempo[1]}), {best.duration:.1f} s",
        f"best of {len(library.tracks)} tracks in {library.folder}",
    ]
    return best, reasons


def _loop(samples: np.ndarray, n: int, fade: int) -> np.ndarray:
    """Repeat `samples` to n frames, with short fades at each seam against clicks."""
    if len(samples) >= n:
        return samples[:n]
    piece = samples.copy()
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
    piece[:fade] *= ramp
    piece[-fade:] *= ramp[::-1]
    reps = -(-n // len(piece))
    return np.tile(piece, (reps, 1))[:n]


def track_bed(track: Track, length: float) -> tuple[np.ndarray, MusicPlan]:
    """The track from its first beat on, looped if it is shorter than `length`."""
    offset = track.beats[0]
    samples = media.decode_audio(track.path, RATE, 2, start=offset)
    n = int(length * RATE)
    period = len(samples) / RATE
    beats = [b - offset for b in track.beats]
    looped = [b + k * period for k in range(int(length // period) + 1) for b in beats]
    plan = MusicPlan(
        source=track.path,
        bpm=track.bpm,
        offset=round(offset, 4),
        length=length,
        beats=[round(b, 4) for b in looped if b < length],
        reasons=[] if period >= length else [f"looped: the track gives {period:.1f} s of {length:.1f} s"],
    )
    return _loop(samples, n, fade=int(0.05 * RATE)), plan


def _note(freq: float, seconds: float, decay: float, harmonics=(1.0,)) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    wave = sum(a * np.sin(2 * np.pi * freq * (i + 1) * t) for i, a in enumerate(harmonics))
    return (wave * np.exp(-t / decay) * np.minimum(t / 0.005, 1.0)).astype(np.float32)


def _add(out: np.ndarray, at: float, sound: np.ndarray, gain: float, pan: float = 0.0) -> None:
    i = int(round(at * RATE))
    if i >= len(out):
        return
    piece = sound[: len(out) - i] * gain
    out[i : i + len(piece), 0] += piece * (1 - pan) ** 0.5
    out[i : i + len(piece), 1] += piece * (1 + pan) ** 0.5


def synthesised_bed(vibe: Vibe, length: float) -> tuple[np.ndarray, MusicPlan]:
    """A bed at the vibe's tempo: a chord pad, a bass ostinato, a kick on the beat, a
    boom every four bars, hats on the off-beats for fast vibes; minor or major by vibe."""
    bpm = round(sum(vibe.tempo) / 2)
    beat = 60.0 / bpm
    n = int(length * RATE)
    out = np.zeros((n, 2), np.float32)
    minor = vibe.minor
    # Two bars per chord: i VI III VII in minor, I V vi IV in major (semitones above A).
    chords = (
        [[0, 3, 7], [8, 12, 15], [3, 7, 10], [10, 14, 17]]
        if minor
        else [[0, 4, 7], [7, 11, 14], [9, 12, 16], [5, 9, 12]]
    )
    bar = 4 * beat
    rng = np.random.default_rng(int(hashlib.sha256(vibe.name.encode()).hexdigest()[:8], 16))  # same bed every run
    t = np.arange(int(0.35 * RATE)) / RATE
    kick = (np.sin(2 * np.pi * (50 * t + 100 * 0.03 * (1 - np.exp(-t / 0.03)))) * np.exp(-t / 0.12)).astype(np.float32)
    beater = rng.normal(0, 1, int(0.006 * RATE)) * np.exp(-np.arange(int(0.006 * RATE)) / (0.0015 * RATE))
    kick[: len(beater)] += (0.5 * beater).astype(np.float32)  # the beater's click: the beat is heard, and found
    boom_t = np.arange(int(1.6 * RATE)) / RATE
    boom = (np.sin(2 * np.pi * 38 * boom_t) * np.exp(-boom_t / 0.5)).astype(np.float32)
    hat = (rng.normal(0, 1, int(0.03 * RATE)) * np.exp(-np.arange(int(0.03 * RATE)) / (0.006 * RATE))).astype(
        np.float32
    )
    hat = np.diff(hat, prepend=0).astype(np.float32)  # a crude high-pass: hats are bright
    chord_len = 2 * bar
    for c in range(int(length // chord_len) + 1):
        start = c * chord_len
        chord = chords[c % len(chords)]
        for semis in chord:
            freq = 220.0 * 2 ** (semis / 12)
            pad = _note(freq, chord_len + 0.5, decay=chord_len, harmonics=(1.0, 0.3, 0.1))
            pad *= np.minimum(np.arange(len(pad)) / (0.4 * RATE), 1.0).astype(np.float32)  # slow attack
            _add(out, start, pad, 0.05, pan=(-0.4 if semis % 2 else 0.4))
        root = 55.0 * 2 ** (chord[0] % 12 / 12)
        step = beat / 2 if bpm >= 85 else beat
        for k in range(int(chord_len / step)):  # accented on the beat, so the beat is unambiguous
            on_beat = (k * step) % beat < 1e-9
            _add(out, start + k * step, _note(root, step, decay=0.12, harmonics=(1.0, 0.5)), 0.22 if on_beat else 0.11)
    for k in range(int(length / beat) + 1):
        at = k * beat
        if bpm >= 100 or k % 2 == 0:
            _add(out, at, kick, 0.6)
        if k % 16 == 0:
            _add(out, at, boom, 0.45)
        if bpm >= 110:
            _add(out, at + beat / 2, hat, 0.03, pan=0.3)
    out *= 0.7 / max(float(np.abs(out).max()), 1e-9)
    plan = MusicPlan(
        source="synthesised",
        bpm=float(bpm),
        offset=0.0,
        length=length,
        beats=[round(k * beat, 4) for k in range(int(length / beat) + 1)],
        reasons=[f"synthesised for {vibe.name} at {bpm} BPM ({'minor' if minor else 'major'})"],
    )
    return out, plan


def write_bed(samples: np.ndarray, path: str | Path) -> None:
    media.write_wav(path, samples, RATE)


def plan_music(vibe: Vibe, length: float, library: Library | None) -> tuple[np.ndarray, MusicPlan]:
    """The bed for a trailer of `length` seconds (plus TAIL): a library track when one
    fits, else synthesised; the plan says which and why."""
    seconds = length + TAIL
    if library is not None:
        chosen = choose_track(library, vibe, seconds)
        if chosen is not None:
            track, reasons = chosen
            samples, plan = track_bed(track, seconds)
            plan.reasons = reasons + plan.reasons
            return samples, plan
        log.warning("music: no usable track in %s; synthesising a bed", library.folder)
    samples, plan = synthesised_bed(vibe, seconds)
    if library is not None:
        plan.reasons.append(f"no usable track in {library.folder}")
    return samples, plan
