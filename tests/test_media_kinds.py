"""The analysis stage on the media users have: each codec and container, frame rates,
10-bit, non-square pixels, odd sizes, a phone's rotation, 5.1 and no sound, a film shorter
than a trailer.
Each film has a known cut; its shot times must be in the film's own seconds (counted from
its start, as ffmpeg seeks: an MPEG-TS starts at 1.4 s) and its keyframes must decode as
images of the film's display shape."""

from __future__ import annotations

import subprocess
from fractions import Fraction

import cv2
import numpy as np
import pytest
from conftest import turn_upright

from cinecut import analysis, source

TWO_SHOTS = (
    "testsrc2=s={size}:r={rate}:d={half},format={pix}[a];"
    "mandelbrot=s={size}:r={rate},trim=duration={half},setpts=PTS-STARTPTS,format={pix}[b];"
    "[a][b]concat=n=2{post}[v]"
)
X264 = ("-c:v", "libx264", "-preset", "ultrafast")
KINDS = {  # name: (file, encoder arguments, size, rate, pixel format, filter after the cut, audio channels, seconds)
    "H.264 mp4": ("f.mp4", X264, "320x180", "24", "yuv420p", "", 2, 4),
    "H.264 mov": ("f.mov", X264, "320x180", "25", "yuv420p", "", 0, 4),
    "HEVC 10-bit mkv": ("f.mkv", ("-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error"),
                        "320x180", "24", "yuv420p10le", "", 0, 4),
    "VP8 webm": ("f.webm", ("-c:v", "libvpx", "-b:v", "300k"), "320x180", "24", "yuv420p", "", 0, 4),
    "VP9 webm": ("f.webm", ("-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime", "-cpu-used", "8"),
                 "320x180", "24", "yuv420p", "", 0, 4),
    "AV1 mkv": ("f.mkv", ("-c:v", "libsvtav1", "-preset", "12"), "320x180", "24", "yuv420p", "", 0, 4),
    "MPEG-2 ts": ("f.ts", ("-c:v", "mpeg2video", "-q:v", "4"), "320x180", "25", "yuv420p", "", 2, 4),
    "MPEG-2 avi": ("f.avi", ("-c:v", "mpeg2video", "-q:v", "4"), "320x180", "25", "yuv420p", "", 0, 4),
    "Theora mkv": ("f.mkv", ("-c:v", "libtheora", "-q:v", "6"), "320x180", "24", "yuv420p", "", 0, 4),
    "60 fps": ("f.mp4", X264, "320x180", "60", "yuv420p", "", 0, 4),
    "29.97 fps": ("f.mp4", X264, "320x180", "30000/1001", "yuv420p", "", 0, 4),
    "anamorphic 720x480 (32:27)": ("f.mkv", X264, "720x480", "30000/1001", "yuv420p", ",setsar=32/27", 0, 4),
    "odd 853x479 FFV1": ("f.mkv", ("-c:v", "ffv1"), "853x479", "24", "yuv444p", "", 0, 4),
    "5.1 sound": ("f.mp4", X264, "320x180", "24", "yuv420p", "", 6, 4),
    "1.5 s film": ("f.mp4", X264, "320x180", "24", "yuv420p", "", 2, 1.5),
    "rotated (a phone held upright)": ("f.mp4", X264, "320x180", "30", "yuv420p", "", 2, 4),
}  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_shots_in_film_seconds_and_keyframes_in_display_shape(kind, tmp_path):
    name, encoder, size, rate, pix, post, channels, seconds = KINDS[kind]
    film = tmp_path / name
    graph = TWO_SHOTS.format(size=size, rate=rate, half=seconds / 2, pix=pix, post=post)
    cmd = ["ffmpeg", "-v", "error", "-filter_complex", graph]
    if channels:
        cmd += ["-f", "lavfi", "-i", f"sine=f=300:d={seconds}", "-map", "[v]", "-map", "0:a", "-ac", str(channels)]
    else:
        cmd += ["-map", "[v]"]
    subprocess.run([*cmd, *encoder, str(film)], check=True)
    rotated = kind.startswith("rotated")
    if rotated:
        turn_upright(film)

    stamp = source.make_stamp(film)
    frame = float(1 / Fraction(rate)) + 1e-6
    result = analysis.analyse(stamp, tmp_path / "keyframes")
    starts = [shot.start for shot in result.shots]
    assert len(starts) == 2 and abs(starts[0]) <= frame and abs(starts[1] - seconds / 2) <= frame, starts
    assert abs(stamp.duration - seconds) <= 2 * frame
    width, height = (int(x) for x in size.split("x"))
    shown = width * Fraction(post.split("=")[1]) / height if post else Fraction(width, height)
    if rotated:
        shown = 1 / shown
        assert (stamp.display_width, stamp.display_height) == (height, width)
    for kf in result.keyframes:
        image = cv2.imread(str(tmp_path / "keyframes" / kf.image))
        assert image is not None and abs(image.shape[1] / image.shape[0] - shown) < 0.01, (kf.image, image.shape)
        if rotated:  # upright as ffmpeg shows it, not upside down
            shown_by_ffmpeg = tmp_path / "ffmpeg.png"
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", f"{kf.time}", "-i", str(film), "-frames:v", "1",
                            str(shown_by_ffmpeg)], check=True)  # fmt: skip
            upright = cv2.resize(cv2.imread(str(shown_by_ffmpeg)), image.shape[1::-1]).astype(int)
            assert np.abs(upright - image).mean() < 0.2 * np.abs(upright - cv2.rotate(image, cv2.ROTATE_180)).mean()
    assert all(shot.loudness_db > -60 for shot in result.shots) == bool(channels), result.shots
