"""The bundled demo film, generated with ffmpeg's own sources: no download, no weights.

A four-minute story in four acts. The time ranges below (fractions of the film's
duration) are the ground truth that later stages are scored against:

    set-up      0.00 - 0.33   calm, bright, warm, slow shots, quiet chord pad
    escalation  0.33 - 0.70   darker, cooler, faster shots, drone with rising pulse
    climax      0.70 - 0.88   short, red, strobing shots, loud noise hits
    resolution  0.88 - 1.00   soft blue dawn, long shots, quiet pad again

Mostly hard cuts, three 1 s dissolves and one fade through black (climax -> resolution).
Every boundary is written to `<stem>.truth.json` with its exact time and kind.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from pathlib import Path

from . import atomic, media

STORY: dict[str, tuple[float, float]] = {
    "setup": (0.00, 0.33),
    "escalation": (0.33, 0.70),
    "climax": (0.70, 0.88),
    "resolution": (0.88, 1.00),
}
# Typical shot length per act at the full 240 s length; scaled with the duration.
SHOT_SECONDS = {"setup": 9.0, "escalation": 6.0, "climax": 3.0, "resolution": 8.0}
FULL_DURATION = 240.0
DISSOLVE_SECONDS = 1.0
FADE_SECONDS = 0.75  # out to black, then in from black

DIALOGUE: dict[str, list[str]] = {
    "setup": [
        "Morning, Mara. The sea is calm today.",
        "Another quiet shift at the lighthouse.",
        "I love this light before the sun comes up.",
        "Did you log the ships from last night?",
        "Only the ferry. Nothing else out there.",
        "My father kept this light for thirty years.",
        "Wait. What is that signal on the radar?",
        "Probably a glitch. It happens.",
    ],
    "escalation": [
        "It's moving. Against the current.",
        "The radio is dead. All channels.",
        "Something is under the water, Tom.",
        "Call the coast guard. Now.",
        "I can't get through! The line is down!",
        "The lights in the village just went out.",
        "Stay away from the window.",
        "Did you hear that? Something is on the rocks.",
        "We have to warn them before it reaches the shore.",
        "It's too late for that. It's here.",
    ],
    "climax": [
        "RUN! Get to the lamp room!",
        "Light the beacon! It's afraid of the light!",
        "I can't hold the door!",
        "Help me! Hurry!",
        "Now, Mara! NOW!",
        "Turn it to full power!",
        "It's burning! It's pulling back!",
        "Don't let go of the switch!",
    ],
    "resolution": [
        "It's gone. The sea is quiet again.",
        "The sun is coming up.",
        "Nobody will believe us.",
        "Then we keep the light on. Every night.",
    ],
}

# Look of each act: (hue shift range in degrees, brightness, contrast, saturation, speed)
ACT_LOOK = {
    "setup": ((10, 40), 0.06, 0.9, 1.1, 0.15),
    "escalation": ((180, 240), -0.08, 1.15, 0.9, 1.0),
    "climax": ((330, 360), 0.0, 1.5, 1.6, 2.5),
    "resolution": ((190, 210), 0.08, 0.85, 0.7, 0.15),
}
# Source pictures per act: the set-up gets the calm ones, the climax the restless ones.
KINDS = {
    "setup": ("bars", "testsrc", "gradient", "plasma", "rings"),
    "escalation": ("storm", "cells", "mandel", "life", "plasma", "rings"),
    "climax": ("storm", "cells", "life", "mandel", "testsrc", "rings"),
    "resolution": ("gradient", "plasma", "bars"),
}


@dataclass(frozen=True)
class ShotSpec:
    index: int
    act: str
    kind: str
    start: float  # in the finished film
    frames: int
    transition_in: str  # cut | dissolve | fade | start
    hue: float
    seed: int


def plan_shots(duration: float, fps: int, seed: int = 7) -> list[ShotSpec]:
    """Lay out shots over the four acts; consecutive shots never share a source kind."""
    rng = random.Random(seed)
    scale = duration / FULL_DURATION
    shots: list[ShotSpec] = []
    t = 0.0
    last_kind = ""
    dissolve_after = {"setup": 3, "escalation": 5, "resolution": 1}
    for act, (_, b) in STORY.items():
        end = b * duration
        count_in_act = 0
        while t < end - 1e-6:
            remaining = end - t
            length = SHOT_SECONDS[act] * scale * rng.uniform(0.75, 1.25)
            length = max(length, 1.0)
            if remaining - length < 0.6 * SHOT_SECONDS[act] * scale:
                length = remaining
            frames = max(round(length * fps), fps // 2)
            kind = rng.choice([k for k in KINDS[act] if k != last_kind])
            last_kind = kind
            if not shots:
                trans = "start"
            elif count_in_act == 0 and act == "resolution":
                trans = "fade"
            elif count_in_act == dissolve_after.get(act, -1):
                trans = "dissolve"
            else:
                trans = "cut"
            lo, hi = ACT_LOOK[act][0]
            shots.append(ShotSpec(len(shots), act, kind, t, frames, trans, rng.uniform(lo, hi), rng.randrange(1 << 30)))
            t += frames / fps
            count_in_act += 1
    return shots


def _source(spec: ShotSpec, w: int, h: int, fps: int, frames: int) -> str:
    """A moving picture of `frames` frames for one shot, as a filter-graph chain."""
    speed = ACT_LOOK[spec.act][4]
    r = random.Random(spec.seed)
    sw, sh = max(w // 4, 64), max(h // 4, 36)
    d = frames / fps + 1
    if spec.kind == "bars":
        src = f"smptehdbars=s={w}x{h}:r={fps}:d={d},scroll=h={0.002 * speed:.4f}:v={0.001 * speed:.4f}"
    elif spec.kind == "testsrc":
        src = f"testsrc2=s={w}x{h}:r={fps}:d={d},scroll=h={-0.003 * speed:.4f}"
    elif spec.kind == "mandel":
        src = (
            f"mandelbrot=s={sw}x{sh}:r={fps}:maxiter=96:start_scale={r.uniform(1.5, 3):.2f}"
            f":end_scale=0.05:end_pts={30 / speed:.1f},scale={w}x{h}"
        )
    elif spec.kind == "life":
        src = (
            f"life=s={sw // 2}x{sh // 2}:r={fps}:mold=8:ratio={r.uniform(0.3, 0.6):.2f}"
            f":seed={spec.seed % 100000}:life_color=#ffdd66:death_color=#223355:mold_color=#884422,"
            # From its 20th generation: the random soup it starts from boils away in a flash.
            f"trim=start_frame=20,setpts=PTS-STARTPTS,scale={w}x{h}:flags=neighbor"
        )
    elif spec.kind == "cells":
        src = (
            f"cellauto=s={sw}x{sh}:r={fps}:rule={r.choice([18, 30, 90, 110, 150])}:random_fill_ratio=0.5"
            f":seed={spec.seed % 100000}:scroll=1,scale={w}x{h}:flags=neighbor,"
            f"colorchannelmixer=rr=0.9:gg=0.6:bb=0.3"
        )
    elif spec.kind == "gradient":
        src = (
            f"gradients=s={sw}x{sh}:r={fps}:speed={0.02 * speed:.3f}:seed={spec.seed % 100000}"
            f":nb_colors=4,scale={w}x{h}"
        )
    elif spec.kind == "storm":
        src = (
            f"color=c=0x305070:s={sw}x{sh}:r={fps}:d={d},noise=alls=60:allf=t,"
            f"boxblur=2,scale={w}x{h},scroll=h={0.004 * speed:.4f}"
        )
    elif spec.kind == "plasma":
        fx, fy = r.uniform(8, 20), r.uniform(8, 20)
        src = (
            f"color=c=black:s={sw // 2}x{sh // 2}:r={fps}:d={d},format=yuv444p,"
            f"geq=lum='128+100*sin(X/{fx:.1f}+{speed:.2f}*T*2)*cos(Y/{fy:.1f}-{speed:.2f}*T)'"
            f":cb='128+60*sin((X+Y)/{fx:.1f}+{speed:.2f}*T)':cr='128+60*cos(X/{fy:.1f}-T*{speed:.2f})',scale={w}x{h}"
        )
    else:  # rings
        cx, cy = r.uniform(0.3, 0.7), r.uniform(0.3, 0.7)
        src = (
            f"color=c=black:s={sw // 2}x{sh // 2}:r={fps}:d={d},format=yuv444p,"
            f"geq=lum='128+110*sin(hypot(X-W*{cx:.2f},Y-H*{cy:.2f})/3-{speed * 4:.2f}*T)'"
            f":cb='128+70*sin(T*{speed:.2f})':cr='140',scale={w}x{h}"
        )
    look = ACT_LOOK[spec.act]
    grade = f"hue=h={spec.hue:.0f}:s={look[3]},eq=brightness={look[1]}:contrast={look[2]}"
    if spec.act == "climax":
        grade += ":eval=frame:gamma='1+0.25*sin(18*t)'"
    return f"{src},{grade},format=yuv420p,setsar=1,trim=end_frame={frames},setpts=PTS-STARTPTS"


def _audio_expr(act: str) -> str:
    """Stereo aevalsrc expressions; loudness and texture change with the act."""
    if act == "setup":
        pad = "0.06*(sin(2*PI*220*t)+sin(2*PI*277.2*t)+sin(2*PI*329.6*t))*(0.8+0.2*sin(2*PI*0.2*t))"
        return f"{pad}+0.01*(random(0)-0.5)|{pad}*0.9+0.01*(random(1)-0.5)"
    if act == "escalation":
        drone = "0.18*sin(2*PI*55*t)*(0.6+0.4*sin(2*PI*(0.5+t/40)*t))"
        noise = "(0.04+t*0.0015)*(random(0)-0.5)"
        return f"{drone}+{noise}|{drone}*0.95+(0.04+t*0.0015)*(random(1)-0.5)"
    if act == "climax":
        hit = "0.7*exp(-9*mod(t,0.5))*sin(2*PI*60*t)"
        noise = "0.35*(random(0)-0.5)*(0.6+0.4*sin(2*PI*7*t))"
        return f"{hit}+{noise}|{hit}+0.35*(random(1)-0.5)*(0.6+0.4*cos(2*PI*7*t))"
    pad = "0.04*(sin(2*PI*196*t)+sin(2*PI*246.9*t)+sin(2*PI*293.7*t))"
    return f"{pad}|{pad}*1.05"


def _srt_time(t: float) -> str:
    ms = round(t * 1000)
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def make_srt(duration: float) -> tuple[str, list[dict]]:
    """Spread each act's lines evenly over the act."""
    entries, cues = [], []
    for act, (a, b) in STORY.items():
        lines = DIALOGUE[act]
        span = (b - a) * duration
        slot = span / len(lines)
        for i, text in enumerate(lines):
            start = a * duration + slot * (i + 0.2)
            end = start + min(2.6, slot * 0.75)
            cues.append({"start": round(start, 3), "end": round(end, 3), "text": text, "act": act})
    for n, cue in enumerate(cues, 1):
        entries.append(f"{n}\n{_srt_time(cue['start'])} --> {_srt_time(cue['end'])}\n{cue['text']}\n")
    return "\n".join(entries), cues


def join_shots(shots: list[ShotSpec], width: int, height: int, fps: int) -> tuple[list[str], str, list[dict], int]:
    """The filter graph that renders and joins the shots: its chains, its output label,
    every boundary (time, kind, span) and the film's length in frames.

    Every shot is cut into pieces by frame number and the pieces are concatenated once, so
    each boundary lands on the frame the truth names (xfade's offset, a time, can land a
    frame late). A dissolve blends the previous shot's extra second with the shot's first
    second; a fade goes out to black over a shot's last 0.75 s and in over the next's first."""
    dissolve, fade = round(DISSOLVE_SECONDS * fps), round(FADE_SECONDS * fps)
    graph: list[str] = []
    pieces: list[str] = []
    boundaries: list[dict] = []
    frame = 0
    for s in shots:
        nxt = shots[s.index + 1].transition_in if s.index + 1 < len(shots) else ""
        head = dissolve if s.transition_in == "dissolve" else 0
        tail = dissolve if nxt == "dissolve" else 0
        chain = _source(s, width, height, fps, s.frames + tail)
        if s.transition_in == "fade":
            chain += f",fade=t=in:start_frame=0:nb_frames={min(fade, s.frames)}"
        if nxt == "fade":
            chain += f",fade=t=out:start_frame={max(s.frames - fade, 0)}:nb_frames={min(fade, s.frames)}"
        spans = {"h": (0, head), "b": (head, s.frames), "t": (s.frames, s.frames + tail)}
        spans = {k: v for k, v in spans.items() if v[1] > v[0]}
        labels = "".join(f"[{k}{s.index}]" for k in spans)
        graph.append(f"{chain},split={len(spans)}{labels}" if len(spans) > 1 else f"{chain}{labels}")
        for k, (lo, hi) in spans.items():
            graph.append(f"[{k}{s.index}]trim=start_frame={lo}:end_frame={hi},setpts=PTS-STARTPTS[{k}{s.index}p]")
        t = frame / fps
        if s.transition_in == "dissolve":
            graph.append(
                f"[t{s.index - 1}p][h{s.index}p]xfade=transition=fade:duration={DISSOLVE_SECONDS}:offset=0[x{s.index}]"
            )
            pieces.append(f"[x{s.index}]")
            span = (t, t + DISSOLVE_SECONDS)
            boundaries.append({"time": round(t + DISSOLVE_SECONDS / 2, 4), "kind": "dissolve"})
        elif s.transition_in == "fade":
            span = (t - FADE_SECONDS, t + FADE_SECONDS)
            boundaries.append({"time": round(t, 4), "kind": "fade"})
        elif s.transition_in == "cut":
            span = (t, t)
            boundaries.append({"time": round(t, 4), "kind": "cut"})
        if s.index:
            boundaries[-1].update(start=round(span[0], 4), end=round(span[1], 4))
        if "b" in spans:
            pieces.append(f"[b{s.index}p]")
        frame += s.frames
    graph.append(f"{''.join(pieces)}concat=n={len(pieces)}:v=1:a=0[video]")
    return graph, "video", boundaries, frame


def build_demo(
    film: str | Path,
    subtitles: str | Path,
    truth: str | Path,
    duration: float = FULL_DURATION,
    width: int = 1280,
    height: int = 720,
    fps: int = 24,
    preset: str = "veryfast",
) -> None:
    """Render the demo film, its SRT and its ground truth, each written atomically."""
    shots = plan_shots(duration, fps)
    graph, acc, boundaries, acc_frames = join_shots(shots, width, height, fps)
    total = acc_frames / fps
    # Audio: one segment per act, with short fades so the act changes are heard, not clicked.
    audio_labels = []
    for i, (act, (a, b)) in enumerate(STORY.items()):
        seg = (b - a) * duration if i < len(STORY) - 1 else total - a * duration
        graph.append(
            f"aevalsrc=exprs='{_audio_expr(act)}':s=48000:c=stereo:d={seg:.4f},"
            f"afade=t=in:d=0.3,afade=t=out:st={max(seg - 0.3, 0):.4f}:d=0.3[a{i}]"
        )
        audio_labels.append(f"[a{i}]")
    graph.append(f"{''.join(audio_labels)}concat=n={len(audio_labels)}:v=0:a=1,atrim=end={total:.6f}[aout]")
    srt_text, cues = make_srt(total)
    film = Path(film)
    with atomic.atomic_path(film) as tmp:
        media.run(
            [
                "ffmpeg",
                "-y",
                "-v",
                "error",
                "-filter_complex",
                ";".join(graph),
                "-map",
                f"[{acc}]",
                "-map",
                "[aout]",
                "-c:v",
                "libx264",
                "-preset",
                preset,
                "-crf",
                "20",
                "-pix_fmt",
                "yuv420p",
                "-r",
                str(fps),
                "-c:a",
                "aac",
                "-b:a",
                "160k",
                "-movflags",
                "+faststart",
                "-f",
                "mp4",
                str(tmp),
            ],
            film,
            "rendering the demo film",
        )
    atomic.write_text(subtitles, srt_text)
    atomic.write_json(
        truth,
        {
            "duration": total,
            "fps": fps,
            "width": width,
            "height": height,
            "story": {act: [round(a * total, 3), round(b * total, 3)] for act, (a, b) in STORY.items()},
            "boundaries": boundaries,
            "shots": [asdict(s) for s in shots],
            "dialogue": cues,
        },
    )
