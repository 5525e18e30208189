"""Speech at known times over real film sound: the ground truth of the voice activity tests
and of benchmarks/speech.py.

Phrases are spoken by espeak-ng (Debian package `espeak-ng`; tools/setup.sh --dev installs
it), placed at chosen times, and mixed over a real film's sound (music and effects: Big
Buck Bunny's 5.1 track, looped) at a chosen speech-to-background ratio. The truth is where
the clean synthesised speech itself is above -45 dBFS in 10 ms steps (pauses under 0.3 s
closed), so it is exact, whatever espeak's own leading and trailing silence.

The real speech clips (apollo15, whitehouse) are annotated by hand in tests/media/speech.json.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile

MEDIA = Path(__file__).resolve().parents[1] / "tests" / "media"
BED = MEDIA / "big_buck_bunny_bunny_wakes_720p25_aac51.mp4"
RATE = 16000

PHRASES = (
    (1.5, "Nobody leaves the island before the storm is over."),
    (7.0, "Where were you last night?"),
    (11.5, "I told you, I was at the lighthouse, watching the ships."),
    (19.0, "Run!"),
    (22.0, "We have twelve hours until the tide comes back."),
)


def _speak(text: str, voice: str, folder: Path) -> np.ndarray:
    wav = folder / "phrase.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", "165", "-w", str(wav), text], check=True, capture_output=True)
    samples, rate = soundfile.read(wav, dtype="float32")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-ar", str(RATE), "-ac", "1", str(folder / "p16.wav")],
        check=True,
    )
    samples, _ = soundfile.read(folder / "p16.wav", dtype="float32")
    return samples


def _bed(seconds: float) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-stream_loop", "-1", "-i", str(BED), "-t", f"{seconds}", "-vn", "-ac", "1",
         "-ar", str(RATE), "-f", "f32le", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, np.float32).copy()


def _rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(max(float(np.mean(x.astype(np.float64) ** 2)), 1e-12)))


def truth_spans(clean: np.ndarray, floor_db: float = -45.0, gap: float = 0.3) -> list[tuple[float, float]]:
    hop = RATE // 100
    n = len(clean) // hop
    power = (clean[: n * hop].astype(np.float64).reshape(n, hop) ** 2).mean(axis=1)
    loud = 10 * np.log10(np.maximum(power, 1e-12)) > floor_db
    spans: list[list[float]] = []
    for i in np.nonzero(loud)[0]:
        t = i / 100
        if spans and t - spans[-1][1] <= gap:
            spans[-1][1] = t + 0.01
        else:
            spans.append([t, t + 0.01])
    return [(round(float(a), 2), round(float(b), 2)) for a, b in spans]


def make_mix(
    dest: Path, snr_db: float, seconds: float = 26.0, voice: str = "en-us", speech_dbfs: float = -22.0
) -> list[tuple[float, float]]:
    """Write `dest` (a 16 kHz mono WAV, `seconds` long): PHRASES at their times, the speech
    at `speech_dbfs` RMS while it speaks, the bed `snr_db` below that. Returns the truth."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clean = np.zeros(int(seconds * RATE), np.float32)
        for at, text in PHRASES:
            said = _speak(text, voice, folder)
            i = int(at * RATE)
            clean[i : i + len(said)] += said[: len(clean) - i]
    spans = truth_spans(clean)
    speaking = np.concatenate([clean[int(a * RATE) : int(b * RATE)] for a, b in spans])
    clean *= 10 ** ((speech_dbfs - _rms_db(speaking)) / 20)
    bed = _bed(seconds)[: len(clean)]
    bed = np.pad(bed, (0, len(clean) - len(bed)))
    bed *= 10 ** ((speech_dbfs - snr_db - _rms_db(bed)) / 20)
    soundfile.write(dest, np.clip(clean + bed, -1, 1), RATE, subtype="PCM_16")
    return spans


def hand_annotations() -> dict[str, list[tuple[float, float]]]:
    """tests/media/speech.json: the real clips' speech, annotated by hand."""
    data = json.loads((MEDIA / "speech.json").read_text())
    return {name: [tuple(span) for span in entry["speech"]] for name, entry in data["clips"].items()}


def score(found: list[tuple[float, float]], truth: list[tuple[float, float]], tolerance: float = 0.5) -> dict:
    """recall: the share of the truth's speech time that regions cover; precision: the share
    of region time inside the truth widened by `tolerance` (the issue's measure), on a 10 ms grid."""
    end = max([b for _, b in found + truth] + [0.0]) + tolerance + 1
    grid = np.arange(0, end, 0.01) + 0.005
    cover = np.zeros_like(grid, bool)
    for a, b in found:
        cover |= (grid >= a) & (grid < b)
    said = np.zeros_like(grid, bool)
    near = np.zeros_like(grid, bool)
    for a, b in truth:
        said |= (grid >= a) & (grid < b)
        near |= (grid >= a - tolerance) & (grid < b + tolerance)
    recall = float((cover & said).sum() / max(said.sum(), 1))
    outside = float((cover & ~near).sum() / max(cover.sum(), 1))
    return {"recall": round(recall, 3), "precision": round(1 - outside, 3), "outside": round(outside, 3)}
