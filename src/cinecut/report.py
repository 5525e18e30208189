"""Figures for `snakemake --report`: a contact sheet of the chosen shots per act, the
story anchors on a timeline, the QC table, and the trailer to play.

The report shows images, HTML and PDF in its page and offers anything else as a
download, so the QC table and the trailer are HTML pages. The report shows each as a data
URL, and Chromium shows none over 2 MB: the trailer's page holds a copy small enough."""

from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np

from . import atomic, media
from .errors import CinecutError
from .models import Manifest, QCReport, Structure
from .placement import place_segments

THUMB = (192, 108)
PER_ROW = 8
ZONE_COLOURS = {"BEGINNING": "#4f8fc0", "ESCALATION": "#e0a030", "CLIMAX": "#c03030"}


def _thumbnails(trailer: Path, frames: set[int]) -> dict[int, np.ndarray]:
    """Decode the trailer once and keep the wanted frames, scaled to THUMB."""
    found: dict[int, np.ndarray] = {}
    try:
        with av.open(str(trailer)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for n, frame in enumerate(container.decode(stream)):
                if n in frames:
                    found[n] = frame.to_ndarray(width=THUMB[0], height=THUMB[1], format="bgr24")
                if len(found) == len(frames):
                    break
    except (av.FFmpegError, OSError) as exc:
        raise CinecutError(trailer, f"cannot read the trailer for the contact sheet: {exc}") from exc
    return found


def contact_sheet(trailer: Path, manifest: Manifest, out: Path) -> None:
    """One row (or more) per act: the middle frame of every clip as it appears in the trailer."""
    fps = media.probe(trailer).fps
    acts: dict[int, list[int]] = {1: [], 2: [], 3: []}
    for p in place_segments(manifest, fps):
        if p.segment.kind == "clip" and p.segment.act in acts:
            acts[p.segment.act].append(p.first_frame + p.frames // 2)
    thumbs = _thumbnails(trailer, {n for frames in acts.values() for n in frames})
    label_w, pad = 90, 4
    rows = []
    for act, frames in acts.items():
        for start in range(0, max(len(frames), 1), PER_ROW):
            row = np.full((THUMB[1] + 2 * pad, label_w + PER_ROW * (THUMB[0] + pad) + pad, 3), 24, np.uint8)
            if start == 0:
                cv2.putText(
                    row,
                    f"ACT {act}",
                    (8, THUMB[1] // 2 + 12),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.7,
                    (230, 230, 230),
                    2,
                    cv2.LINE_AA,
                )
            for i, n in enumerate(frames[start : start + PER_ROW]):
                x = label_w + pad + i * (THUMB[0] + pad)
                if n in thumbs:
                    row[pad : pad + THUMB[1], x : x + THUMB[0]] = thumbs[n]
            rows.append(row)
    ok, png = cv2.imencode(".png", np.vstack(rows))
    if not ok:
        raise CinecutError(out, "cannot encode the contact sheet")
    atomic.write_bytes(out, png.tobytes())


def anchors_svg(structure: Structure, manifest: Manifest, out: Path, width: int = 900) -> None:
    """The film as a bar: zones coloured, anchors marked, chosen clips as ticks."""
    d = max(structure.duration, 1e-6)

    def x(t: float) -> float:
        return 20 + (width - 40) * min(max(t / d, 0), 1)

    spans = [
        ("BEGINNING", 0, structure.escalation),
        ("ESCALATION", structure.escalation, structure.climax),
        ("CLIMAX", structure.climax, structure.resolution),
    ]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="130" font-family="sans-serif">',
        f'<rect x="20" y="40" width="{width - 40}" height="30" fill="#ddd"/>',
    ]
    for zone, a, b in spans:
        parts.append(
            f'<rect x="{x(a):.1f}" y="40" width="{x(b) - x(a):.1f}" height="30" '
            f'fill="{ZONE_COLOURS[zone]}"><title>{zone}</title></rect>'
        )
    for seg in manifest.segments:
        if seg.kind == "clip":
            left, right = x(seg.source_in or 0), x(seg.source_out or 0)
            parts.append(f'<rect x="{left:.1f}" y="74" width="{max(right - left, 1.5):.1f}" height="10" fill="#222"/>')
    for name, t in (
        ("begin", structure.begin),
        ("escalation", structure.escalation),
        ("climax", structure.climax),
        ("resolution", structure.resolution),
    ):
        parts.append(f'<line x1="{x(t):.1f}" y1="30" x2="{x(t):.1f}" y2="72" stroke="#000" stroke-width="2"/>')
        parts.append(f'<text x="{x(t):.1f}" y="24" font-size="12" text-anchor="middle">{name} {t:.0f} s</text>')
    parts.append(
        f'<text x="20" y="105" font-size="12">0 s</text><text x="{width - 20}" y="105" '
        f'font-size="12" text-anchor="end">{d:.0f} s</text>'
    )
    parts.append(
        f'<text x="{width / 2}" y="120" font-size="11" text-anchor="middle">anchors: {structure.backend}; '
        "black ticks: clips in the trailer</text></svg>"
    )
    atomic.write_text(out, "\n".join(parts) + "\n")


PREVIEW_HEIGHT = 240  # lines of the trailer's copy in the report
# Bytes of the copy: base64 in the page, the page base64 in the report's data URL, so the
# URL stays under Chromium's 2 MB (2 * 4/3 * 4/3 of this, and the page around it).
PREVIEW_BYTES = 1_000_000
PREVIEW_AUDIO = 32_000  # bits/s, mono AAC: the dialogue stays intelligible
PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title><style>"
    "body{{font-family:sans-serif;margin:1em;background:#fff}} table{{border-collapse:collapse}}"
    "td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}} tr.failed{{background:#fdd}}"
    "video{{max-width:100%}}</style></head><body>{body}</body></html>\n"
)


def trailer_page(trailer: Path, out: Path, duration: float) -> None:
    """A page that plays a copy of the trailer at PREVIEW_HEIGHT lines, its bit rate fitted
    to PREVIEW_BYTES (x264's one-pass rate control can overshoot: then once more, lower)."""
    total = PREVIEW_BYTES * 8 * 0.9 / max(duration, 1.0)  # bits/s, with room for the container
    with tempfile.TemporaryDirectory() as scratch:
        small = Path(scratch) / "trailer.mp4"
        for _ in range(3):
            video = max(int(total - PREVIEW_AUDIO), 20_000)
            media.run(
                ["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-i", str(trailer),
                 "-vf", f"scale=-2:'min({PREVIEW_HEIGHT},ih)'", "-c:v", "libx264", "-preset", "veryfast",
                 "-b:v", str(video), "-maxrate", str(video * 3 // 2), "-bufsize", str(video * 2), "-pix_fmt", "yuv420p",
                 "-c:a", "aac", "-ac", "1", "-b:a", str(PREVIEW_AUDIO), "-movflags", "+faststart", "-f", "mp4",
                 str(small)],
                trailer,
                "making the report's copy of the trailer",
            )  # fmt: skip
            size = small.stat().st_size
            if size <= PREVIEW_BYTES:
                break
            total *= 0.9 * PREVIEW_BYTES / size
        data = base64.b64encode(small.read_bytes()).decode()
    body = f"<video controls preload='auto' src='data:video/mp4;base64,{data}'></video>"
    atomic.write_text(out, PAGE.format(title=html.escape(trailer.name), body=body))


def qc_page(report: QCReport, out: Path) -> None:
    """The QC checks as a table; failed ones are marked."""
    rows = "".join(
        f"<tr class='{'passed' if c.ok else 'failed'}'><td>{html.escape(c.name)}</td>"
        f"<td>{html.escape(str(c.value))}</td><td>{html.escape(c.expected)}</td><td>{'yes' if c.ok else 'NO'}</td></tr>"
        for c in report.checks
    )
    verdict = "passed" if report.passed else "FAILED"
    body = (
        f"<p>QC {verdict}: {report.clips} clips, {report.duration:.2f} s.</p>"
        f"<table><tr><th>check</th><th>value</th><th>expected</th><th>ok</th></tr>{rows}</table>"
    )
    atomic.write_text(out, PAGE.format(title="QC", body=body))
