"""One decode pass over the film: shots, per-shot signals and keyframes together.

PyAV decodes video and audio from one demux loop. Every video frame is reduced to a
small picture for the shot boundaries (`cinecut.shots`) and the motion signal; only a
frame that becomes the sharpest so far of its second of the shot is converted at
keyframe size. No proxy file, no second pass, no seeking.
"""

from __future__ import annotations

import bisect
import logging
import time
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import imagehash
import numpy as np
from PIL import Image

from .errors import CinecutError
from .models import Analysis, DialogueLine, Keyframe, Shot, Stamp
from .shots import CUT_CONTEXT, DISSOLVE_HALF, BoundaryDetector, Features, fade_frames

log = logging.getLogger(__name__)

SMALL = (160, 90)  # analysis picture size
KEYFRAME_WIDTH = 640
AUDIO_RATE = 16000


# cv2.rotate codes that show a frame upright, by the display matrix's counter-clockwise turn.
TURNS = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
SLOT = 1.0  # s: a shot keeps its sharpest frame per second while a boundary may still split it
STRETCH = 15.0  # s: each stretch of the film's timeline keeps, per shot, its sharpest frame
GAP = 30.0  # s: the longest time without a keyframe that those frames are used to fill
DUPLICATE_BITS = 8  # pHash distance (of 64 bits) up to which two frames of a shot show the same
LONG_SHOT = 6.0  # s: a shot this long also gets a keyframe where each of its lines is said
APART = 2.0  # s: closer than this to a keyframe kept from its shot, a line's frame adds nothing


@dataclass
class _Candidate:
    """The sharpest frame so far of one second (SLOT) of a shot."""

    time: float
    sharpness: float
    frame: av.VideoFrame | None  # the decoded picture until sealed: most candidates are
    size: tuple[int, int]  # overtaken and never converted; keyframe width, height
    turn: int | None  # cv2.rotate code that shows it upright, None for none
    small: np.ndarray  # analysis size, BGR
    jpeg: bytes = b""
    _phash: imagehash.ImageHash | None = None

    def seal(self) -> None:
        """Convert the picture to a keyframe JPEG and let the decoded frame go: memory then
        stays flat over a film's thousands of shots (~40 KB each, not a frame's megabytes)."""
        if self.frame is None:
            return
        image = self.frame.to_ndarray(width=self.size[0], height=self.size[1], format="bgr24")
        if self.turn is not None:
            image = cv2.rotate(image, self.turn)
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        if not ok:
            raise CinecutError("keyframe", f"cannot encode the frame at {self.time:.3f} s")
        self.jpeg, self.frame = jpeg.tobytes(), None

    def phash(self) -> imagehash.ImageHash:
        """Perceptual hash, computed when first asked (most shots never need one)."""
        if self._phash is None:
            self._phash = imagehash.phash(Image.fromarray(np.ascontiguousarray(self.small[..., ::-1])))
        return self._phash


@dataclass
class _ShotAccumulator:
    start: float
    boundary: str
    slots: dict[int, _Candidate] = field(default_factory=dict)  # by whole SLOT of film time
    motion_times: array = field(default_factory=lambda: array("d"))
    motion: array = field(default_factory=lambda: array("f"))
    short: bool = False  # ended before LONG_SHOT: the frames where lines are said need not stay

    @property
    def best(self) -> _Candidate:
        return max(self.slots.values(), key=lambda c: c.sharpness)

    def _sharpest_per_stretch(self, keys) -> dict[int, int]:
        """Of the slots `keys`, the one with the sharpest frame in each STRETCH of film time."""
        out: dict[int, int] = {}
        for k in keys:
            stretch = int(self.slots[k].time // STRETCH)
            if stretch not in out or self.slots[k].sharpness > self.slots[out[stretch]].sharpness:
                out[stretch] = k
        return out

    @property
    def stretches(self) -> dict[int, _Candidate]:
        """The sharpest frame of each STRETCH of film time that the shot covers."""
        return {stretch: self.slots[k] for stretch, k in self._sharpest_per_stretch(self.slots).items()}

    def settle(self, before: float, spoken: dict[int, DialogueLine]) -> None:
        """Of the slots that end before `before` (no boundary can split them any more),
        keep the sharpest frame of each stretch and the slots where a line's midpoint
        falls (`spoken`, by slot), as JPEGs."""
        old = [k for k in self.slots if (k + 1) * SLOT <= before]
        keep = set(self._sharpest_per_stretch(old).values())
        for k in old:
            if k in keep or (k in spoken and not self.short):
                self.slots[k].seal()
            else:
                del self.slots[k]

    def split(self, t: float, boundary: str) -> _ShotAccumulator:
        """Move what was counted from `t` on into a new shot that begins there."""
        new = _ShotAccumulator(start=t, boundary=boundary)
        for k in [k for k, c in self.slots.items() if c.time >= t]:
            new.slots[k] = self.slots.pop(k)
        at = bisect.bisect_left(self.motion_times, t)
        # The change into the boundary frame spans two pictures: neither shot keeps it.
        new.motion_times, new.motion = self.motion_times[at + 1 :], self.motion[at + 1 :]
        del self.motion_times[at:], self.motion[at:]
        return new


def _small_picture(frame: av.VideoFrame) -> np.ndarray:
    """The analysis picture (SMALL, BGR). Scaling a film frame down is most of the cost
    above decoding: 8-bit 4:2:0 (nearly every film) is shrunk plane by plane with OpenCV
    and converted at the small size (1080p: ~0.2 ms, swscale ~1.9 ms). A large plane is
    first sampled to 4x the small size (every third pixel of 1080p), then averaged 4x4:
    each small pixel is the mean of 16 samples, which reads a ninth of the plane."""
    if frame.format.name not in ("yuv420p", "yuvj420p"):
        return frame.to_ndarray(width=SMALL[0], height=SMALL[1], format="bgr24", interpolation="FAST_BILINEAR")
    sizes = (SMALL, (SMALL[0] // 2, SMALL[1] // 2), (SMALL[0] // 2, SMALL[1] // 2))
    planes = []
    for plane, size in zip(frame.planes, sizes, strict=True):
        pixels = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)[:, : plane.width]
        if plane.width > 4 * size[0]:  # an area filter over all of a 1080p plane costs 4x
            pixels = cv2.resize(pixels, (4 * size[0], 4 * size[1]), interpolation=cv2.INTER_NEAREST)
        planes.append(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA).ravel())
    i420 = np.concatenate(planes).reshape(SMALL[1] * 3 // 2, SMALL[0])
    return cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)


def _colourfulness(bgr: np.ndarray) -> float:
    """Hasler & Suesstrunk colourfulness, scaled so ~1 is very colourful."""
    b, g, r = (bgr[..., i].astype(np.float32) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    value = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    return float(min(value / 110.0, 1.0))


def _dominant_hue(hsv: np.ndarray) -> float:
    saturated = hsv[..., 1] > 60
    if saturated.mean() < 0.1:
        return -1.0
    hist = np.bincount(hsv[..., 0][saturated].ravel() // 10, minlength=18)
    return float(hist.argmax() * 20 + 10)


_FACES: cv2.CascadeClassifier | None = None


def count_faces(jpeg: bytes) -> tuple[int, float]:
    """Frontal faces (OpenCV Haar cascade) in a keyframe: count and area of the largest, as a
    fraction. Run on the chosen keyframes only, from their JPEG (~2 ms to decode against
    ~23 ms to search): most sealed candidates are never chosen."""
    global _FACES
    if _FACES is None:
        _FACES = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    faces = _FACES.detectMultiScale(gray, scaleFactor=1.15, minNeighbors=6, minSize=(24, 24))
    if len(faces) == 0:
        return 0, 0.0
    largest = max(w * h for (_x, _y, w, h) in faces)
    return len(faces), float(largest / (gray.shape[0] * gray.shape[1]))


def _loudness_db(samples: np.ndarray) -> float:
    if samples.size == 0:
        return -90.0
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
    return max(20 * np.log10(rms + 1e-9), -90.0)


def analyse(stamp: Stamp, keyframe_dir: Path, lines: Sequence[DialogueLine] = ()) -> Analysis:
    """Decode the film once; write keyframe JPEGs into `keyframe_dir`; return the analysis.
    `lines` (the film's dialogue) add keyframes where a line is said inside a long shot."""
    film = stamp.film
    spoken: dict[int, DialogueLine] = {}  # the first line whose midpoint falls in each SLOT
    for line in lines:
        spoken.setdefault(int((line.start + line.end) / 2 // SLOT), line)
    try:
        container = av.open(film)
    except (av.FFmpegError, OSError) as exc:
        raise CinecutError(film, f"cannot open the film for decoding: {exc}") from exc
    with container:
        vstream = container.streams.video[0]
        vstream.thread_type = "AUTO"
        streams = [vstream]
        astream = container.streams.audio[0] if container.streams.audio else None
        resampler = None
        if astream is not None:
            streams.append(astream)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
        audio_chunks: list[np.ndarray] = []
        shots: list[_ShotAccumulator] = []
        fps = float(Fraction(stamp.fps)) or 24.0
        usable = stamp.duration
        detector = BoundaryDetector(fps)
        pending: deque[_Frame] = deque()
        # Boundaries are placed up to `detector.delay` frames behind the newest one; what
        # lies further back is settled.
        horizon = detector.delay / fps + 2 * SLOT
        settled_at = 0
        prev_gray = None
        frames = 0
        tones = _Tones()
        started = last_report = time.monotonic()
        tb = vstream.time_base or Fraction(1, 1000)
        # Film seconds count from the container's start, as ffmpeg's -ss does (conform
        # seeks with it): an MPEG-TS often starts at 1.4 s, not 0.
        origin = container.start_time / 1_000_000 if container.start_time else 0.0
        # Keyframes at the shape the film is shown in: non-square pixels stretched.
        sar = Fraction(stamp.sar)
        size = (0, 0)  # of the keyframes, from the first frame
        turn = TURNS.get(stamp.rotation)  # keyframes as the film is shown: a phone's upright
        try:
            for packet in container.demux(*streams):
                for frame in packet.decode():
                    if isinstance(frame, av.AudioFrame):
                        for out in resampler.resample(frame):
                            audio_chunks.append(out.to_ndarray().ravel())
                        continue
                    if frame.pts is not None:
                        t = max(float(frame.pts * tb) - origin, 0.0)
                    else:
                        t = frames / float(Fraction(stamp.fps))
                    small = _small_picture(frame)
                    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
                    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
                    features = Features.of(t, small, hsv, gray)
                    tones.add(t, features.level, features.tone)
                    for at, kind in detector.push(features):
                        _place(shots, at, kind)
                    # Mean absolute luma change and Laplacian variance, with OpenCV's reductions
                    # (a tenth of numpy's cost on a picture this small).
                    motion = None if prev_gray is None else cv2.norm(gray, prev_gray, cv2.NORM_L1) / gray.size / 255
                    sharp = float(cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_32F))[1][0, 0]) ** 2
                    sharp *= 0.2 if features.black else 1.0
                    if not size[0]:
                        size = (KEYFRAME_WIDTH, round(KEYFRAME_WIDTH * frame.height / (frame.width * sar) / 2) * 2)
                    # A frame is counted into its shot once no hard cut can be placed before
                    # it any more: a frame after a cut never stands in for the shot before.
                    pending.append(_Frame(t, frame, small, motion, sharp))
                    if len(pending) > CUT_CONTEXT:
                        _count(shots, pending.popleft(), size, turn, fps)
                    slot = int(t // SLOT)
                    if slot > settled_at:
                        settled_at = slot
                        for acc in shots[-8:]:
                            acc.settle(t - horizon, spoken)
                    prev_gray = gray
                    frames += 1
                    if time.monotonic() - last_report > 3:
                        last_report = time.monotonic()
                        done = min(max(t / stamp.duration, 1e-6), 1.0)
                        log.info(
                            "analysis: %.0f%% (%.0f s of %.0f s), ETA %.0f s",
                            100 * done, t, stamp.duration, (last_report - started) * (1 - done) / done,
                        )  # fmt: skip
        except av.FFmpegError as exc:
            if frames == 0:
                raise CinecutError(film, f"no decodable video: {exc}") from exc
            log.warning("%s: decoding stopped at frame %d: %s", film, frames, exc)
            # The picture ends at the last frame decoded: no clip may reach past it.
            usable = min(usable, t + 1 / fps)
    if not shots:
        raise CinecutError(film, "no decodable video frames")
    for at, kind in detector.finish():
        _place(shots, at, kind)
    for waiting in pending:
        _count(shots, waiting, size, turn, fps)
    audio = np.concatenate(audio_chunks) if audio_chunks else np.zeros(0, np.float32)
    for i, acc in enumerate(shots):
        if not acc.slots:  # a dissolve placed inside one second: the nearest frame stands in
            around = [c for a in shots[max(i - 1, 0) : i + 2] for c in a.slots.values()] or [
                c for a in shots for c in a.slots.values()
            ]
            nearest = min(around, key=lambda c: abs(c.time - acc.start))
            acc.slots[int(nearest.time // SLOT)] = nearest
        acc.settle(float("inf"), spoken)
    return _finish(stamp, shots, frames, audio, keyframe_dir, usable, spoken, tones)


@dataclass
class _Tones:
    """Each frame's time, mean luma and tone (-1 blank black, 1 blank white, 0 a picture):
    13 bytes a frame, about 2 MB for two hours at 24 fps."""

    times: array = field(default_factory=lambda: array("d"))
    levels: array = field(default_factory=lambda: array("f"))
    tones: array = field(default_factory=lambda: array("b"))

    def add(self, t: float, level: float, tone: int) -> None:
        self.times.append(t)
        self.levels.append(level)
        self.tones.append(tone)

    def fades(self, start: float, end: float, faded_in: bool) -> tuple[float, float]:
        """Seconds at the start and at the end of the shot [start, end) that fade from or to
        black or white (shots.fade_frames); `faded_in`: the shot begins at a fade boundary."""
        lo, hi = bisect.bisect_left(self.times, start - 1e-6), bisect.bisect_left(self.times, end - 1e-6)
        if hi <= lo:
            return 0.0, 0.0
        # A shot that begins out of a blank frame (a fade boundary, not a cut) fades in from it.
        before = self.tones[lo - 1] if faded_in and lo > 0 else 0
        first, last = fade_frames(self.levels[lo:hi], self.tones[lo:hi], before)
        fade_in = (self.times[lo + first] if first < hi - lo else end) - start if first else 0.0
        fade_out = end - self.times[hi - last] if last else 0.0
        return round(max(fade_in, 0.0), 4), round(max(fade_out, 0.0), 4)


@dataclass
class _Frame:
    """A decoded frame waiting to be counted into its shot."""

    t: float
    frame: av.VideoFrame
    small: np.ndarray
    motion: float | None  # mean absolute luma change from the frame before
    sharpness: float


def _count(shots: list[_ShotAccumulator], f: _Frame, size: tuple[int, int], turn: int | None, fps: float) -> None:
    """Add a frame's motion to its shot and make it the keyframe candidate of its second
    if it is the sharpest so far (a frame just after a cut or fade, whose picture often
    still carries the encoder's smear of the shot before, only if nothing else is there)."""
    shot = shots[_shot_at(shots, f.t)]
    if f.motion is not None and f.t > shot.start:  # the change into a shot is not its motion
        shot.motion_times.append(f.t)
        shot.motion.append(f.motion)
    sharpness = f.sharpness
    if shot.boundary in ("cut", "fade") and f.t - shot.start < 3.5 / fps:
        sharpness *= 0.2
    slot = int(f.t // SLOT)
    held = shot.slots.get(slot)
    if held is None or sharpness > held.sharpness:
        shot.slots[slot] = _Candidate(f.t, sharpness, f.frame, size, turn, f.small)


def _place(shots: list[_ShotAccumulator], t: float, kind: str) -> None:
    """Begin a shot at film time `t`, which may lie behind frames already counted."""
    if kind == "start":
        shots.append(_ShotAccumulator(start=t, boundary=kind))
        return
    i = _shot_at(shots, t)
    if t > shots[i].start:
        shots.insert(i + 1, shots[i].split(t, kind))
        shots[i].short = t - shots[i].start < LONG_SHOT  # a later boundary only shortens it


def _shot_at(shots: list[_ShotAccumulator], t: float) -> int:
    """The shot that film time `t` falls in: one of the last few, so searched from the end."""
    i = len(shots) - 1
    while i > 0 and shots[i].start > t:
        i -= 1
    return i


def _select(
    acc: list[_ShotAccumulator], shots: list[Shot], duration: float, spoken: dict[int, DialogueLine]
) -> tuple[list[tuple[int, _Candidate, str]], int]:
    """(shot, frame, why) in time order: the sharpest frame of every shot; then, wherever
    that leaves more than GAP seconds without a keyframe (a long take, a run of long shots),
    the sharpest frames of the stretches in between; then, in shots of LONG_SHOT or more,
    the sharpest frame of the second where each line's midpoint falls, at least APART from
    the shot's other keyframes. A frame that looks like one already kept from its shot
    (pHash) is dropped; also how many were dropped so."""
    best = [a.best for a in acc]
    fixed = sorted(c.time for c in best)
    frames = sorted(
        [(c.time, i, c) for i, a in enumerate(acc) for c in a.stretches.values()],
        key=lambda item: item[0],
    )
    chosen: list[tuple[int, _Candidate, str]] = []
    # Each shot's sharpest frame is kept whatever comes before it in time, so a frame that
    # fills a gap ahead of it is compared with it too.
    kept: dict[int, list[_Candidate]] = {shot: [b] for shot, b in enumerate(best)}
    dropped = 0

    def looks_kept(shot: int, cand: _Candidate) -> bool:
        nonlocal dropped
        if any(cand.phash() - other.phash() <= DUPLICATE_BITS for other in kept[shot]):
            dropped += 1
            return True
        return False

    last = 0.0
    for t, shot, cand in frames:
        if cand is best[shot]:
            reason = "sharpest frame of the shot"
        else:
            after = bisect.bisect_right(fixed, t)
            following = fixed[after] if after < len(fixed) else duration
            if following - last <= GAP or t - last < STRETCH / 2 or looks_kept(shot, cand):
                continue
            reason = f"fills {following - last:.0f} s without a keyframe (sharpest of its stretch)"
            kept[shot].append(cand)
        chosen.append((shot, cand, reason))
        last = t
    for shot, (a, s) in enumerate(zip(acc, shots, strict=True)):
        if s.end - s.start < LONG_SHOT:
            continue
        for k in sorted(k for k in a.slots if k in spoken):
            cand, line = a.slots[k], spoken[k]
            if any(abs(cand.time - other.time) < APART for other in kept[shot]) or looks_kept(shot, cand):
                continue
            chosen.append((shot, cand, f"where a line is said in a long shot ({line.start:.1f}-{line.end:.1f} s)"))
            kept[shot].append(cand)
    return sorted(chosen, key=lambda item: item[1].time), dropped


def _finish(
    stamp: Stamp,
    acc: list[_ShotAccumulator],
    frames: int,
    audio: np.ndarray,
    keyframe_dir: Path,
    usable: float,
    spoken: dict[int, DialogueLine],
    tones: _Tones | None = None,
) -> Analysis:
    shots: list[Shot] = []
    keyframes: list[Keyframe] = []
    faded = 0  # shots with frames that fade to or from black or white
    keyframe_dir.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(acc):
        end = acc[i + 1].start if i + 1 < len(acc) else usable
        seg = audio[int(a.start * AUDIO_RATE) : int(end * AUDIO_RATE)]
        best = a.best
        gray = cv2.cvtColor(best.small, cv2.COLOR_BGR2GRAY)
        motion = float(np.mean(a.motion)) if len(a.motion) else 0.0
        # Clips never use a dissolve's double exposure, nor the frames that fade to or from
        # black or white inside the shot: both are blends, with the next shot or with a colour.
        fade_in, fade_out = tones.fades(a.start, end, a.boundary == "fade") if tones else (0.0, 0.0)
        faded += bool(fade_in or fade_out)
        dissolve_in = DISSOLVE_HALF if a.boundary == "dissolve" else 0.0
        dissolve_out = DISSOLVE_HALF if i + 1 < len(acc) and acc[i + 1].boundary == "dissolve" else 0.0
        shots.append(
            Shot(
                index=i,
                start=round(a.start, 4),
                end=round(end, 4),
                boundary=a.boundary,
                motion=round(motion, 5),
                brightness=round(float(gray.mean()) / 255, 4),
                contrast=round(float(gray.std()) / 128, 4),
                colourfulness=round(_colourfulness(best.small), 4),
                loudness_db=round(_loudness_db(seg), 2),
                sharpness=round(best.sharpness, 2),
                blend_in=max(dissolve_in, fade_in),
                blend_out=max(dissolve_out, fade_out),
            )
        )
    chosen, dropped = _select(acc, shots, stamp.duration, spoken)
    for i, cand, reason in chosen:
        keyframes.append(_keyframe(len(keyframes), i, cand, reason, shots[i], keyframe_dir, cand is acc[i].best))
    log.info(
        "analysis: %d frames, %d shots, %d keyframes (%d near-duplicates dropped), %d shots with fades",
        frames, len(shots), len(keyframes), dropped, faded,
    )  # fmt: skip
    return Analysis(
        film=stamp.film,
        fingerprint=stamp.fingerprint,
        duration=stamp.duration,
        fps=stamp.fps,
        frames=frames,
        shots=shots,
        keyframes=keyframes,
        near_duplicates_dropped=dropped,
    )


def _keyframe(
    index: int, shot_index: int, cand: _Candidate, reason: str, shot: Shot, folder: Path, representative: bool
) -> Keyframe:
    name = f"kf{index:05d}.jpg"
    (folder / name).write_bytes(cand.jpeg)
    faces, face_area = count_faces(cand.jpeg)
    gray = cv2.cvtColor(cand.small, cv2.COLOR_BGR2GRAY)
    return Keyframe(
        index=index,
        time=round(cand.time, 4),
        shot=shot_index,
        image=name,
        reason=reason,
        brightness=round(float(gray.mean()) / 255, 4),
        contrast=round(float(gray.std()) / 128, 4),
        colourfulness=round(_colourfulness(cand.small), 4),
        hue=_dominant_hue(cv2.cvtColor(cand.small, cv2.COLOR_BGR2HSV)),
        motion=shot.motion,
        faces=faces,
        face_area=round(face_area, 4),
        representative=representative,
    )
