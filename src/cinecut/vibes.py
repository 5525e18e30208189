"""The 18 vibe profiles. Every field is read by some stage (see README's table)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Vibe:
    name: str
    length: float  # default trailer length, seconds (scaled down for short films)
    clip_seconds: tuple[float, float, float]  # typical clip length in acts 1, 2, 3
    act_share: tuple[float, float, float]  # share of the trailer per act
    dialogue_weight: float  # how much a line raises a clip's score, and dialogue_share
    grade: str  # ffmpeg colour filters applied to every clip
    loudness: float  # integrated loudness target, LUFS
    title_colour: str
    title_font: str  # fonts-dejavu-core face
    tempo: tuple[int, int]  # music tempo range, BPM (used by the music stage)
    transition: str  # between clips of acts 1 and 2: cut | dissolve | fade_black | fade_white

    @property
    def dialogue_share(self) -> float:
        """Most of an act's time that clips carrying a dialogue line may take: talkier vibes speak more."""
        return min(0.2 + 0.5 * self.dialogue_weight, 0.7)


def _v(name, length, clips, share, dlg, grade, lufs, colour, font, tempo, transition) -> Vibe:
    return Vibe(name, length, clips, share, dlg, grade, lufs, colour, font, tempo, transition)


SERIF, SANS, SANS_BOLD = "DejaVuSerif-Bold.ttf", "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"
VIBES: dict[str, Vibe] = {
    v.name: v
    for v in [
        _v(
            "action",
            110,
            (2.2, 1.5, 0.9),
            (0.25, 0.4, 0.35),
            0.3,
            "eq=contrast=1.15:saturation=1.1,colorbalance=rs=0.05:bs=-0.05:rh=0.05:bh=-0.08",
            -14,
            "white",
            SANS_BOLD,
            (120, 150),
            "cut",
        ),
        _v(
            "adventure",
            120,
            (3.0, 2.0, 1.2),
            (0.3, 0.4, 0.3),
            0.4,
            "eq=contrast=1.08:saturation=1.2,colorbalance=rm=0.04:bm=-0.03",
            -15,
            "#ffd27f",
            SERIF,
            (100, 130),
            "dissolve",
        ),
        _v(
            "animation",
            100,
            (2.5, 1.8, 1.2),
            (0.3, 0.4, 0.3),
            0.5,
            "eq=saturation=1.35:brightness=0.03",
            -15,
            "#ffe14d",
            SANS_BOLD,
            (110, 140),
            "cut",
        ),
        _v(
            "comedy",
            100,
            (3.0, 2.4, 1.8),
            (0.35, 0.4, 0.25),
            0.8,
            "eq=saturation=1.15:brightness=0.04:gamma=1.05",
            -15,
            "#fff3b0",
            SANS_BOLD,
            (100, 128),
            "cut",
        ),
        _v(
            "crime",
            120,
            (3.0, 2.0, 1.2),
            (0.3, 0.4, 0.3),
            0.6,
            "eq=contrast=1.12:saturation=0.8,colorbalance=gs=0.03:gm=0.02",
            -16,
            "#d9d9d9",
            SERIF,
            (85, 110),
            "fade_black",
        ),
        _v(
            "documentary",
            130,
            (4.0, 3.2, 2.5),
            (0.35, 0.4, 0.25),
            0.9,
            "eq=saturation=0.95",
            -18,
            "white",
            SANS,
            (70, 100),
            "dissolve",
        ),
        _v(
            "drama",
            130,
            (4.0, 3.0, 2.2),
            (0.35, 0.4, 0.25),
            0.8,
            "eq=contrast=1.05:saturation=0.9,colorbalance=rm=0.03:bm=-0.02",
            -17,
            "#f0e6d2",
            SERIF,
            (60, 90),
            "dissolve",
        ),
        _v(
            "family",
            110,
            (3.0, 2.2, 1.6),
            (0.35, 0.4, 0.25),
            0.6,
            "eq=saturation=1.2:brightness=0.04",
            -16,
            "#ffe9a8",
            SANS_BOLD,
            (95, 120),
            "dissolve",
        ),
        _v(
            "fantasy",
            130,
            (3.5, 2.4, 1.5),
            (0.3, 0.4, 0.3),
            0.5,
            "eq=saturation=1.2:gamma=1.05,colorbalance=bs=0.06:rh=0.04",
            -15,
            "#e8d9ff",
            SERIF,
            (80, 110),
            "dissolve",
        ),
        _v(
            "history",
            130,
            (4.0, 3.0, 2.0),
            (0.35, 0.4, 0.25),
            0.7,
            "eq=saturation=0.75:contrast=1.05,colorbalance=rm=0.05:gm=0.02:bm=-0.05",
            -17,
            "#e6d3a3",
            SERIF,
            (60, 90),
            "dissolve",
        ),
        _v(
            "horror",
            110,
            (3.5, 2.0, 0.8),
            (0.35, 0.35, 0.3),
            0.4,
            "eq=saturation=0.6:contrast=1.2:brightness=-0.05,colorbalance=gs=0.04:bs=0.05",
            -18,
            "#b30000",
            SERIF,
            (60, 90),
            "fade_black",
        ),
        _v(
            "music",
            100,
            (2.5, 1.8, 1.2),
            (0.3, 0.4, 0.3),
            0.3,
            "eq=saturation=1.3:contrast=1.08",
            -14,
            "#ff66cc",
            SANS_BOLD,
            (110, 140),
            "cut",
        ),
        _v(
            "mystery",
            120,
            (3.5, 2.5, 1.5),
            (0.35, 0.4, 0.25),
            0.6,
            "eq=saturation=0.8:brightness=-0.03,colorbalance=bs=0.06:bm=0.03",
            -17,
            "#a8c8ff",
            SERIF,
            (70, 95),
            "fade_black",
        ),
        _v(
            "romance",
            120,
            (4.0, 3.0, 2.2),
            (0.35, 0.4, 0.25),
            0.8,
            "eq=saturation=1.05:gamma=1.08,colorbalance=rm=0.06:rh=0.04",
            -17,
            "#ffd6e0",
            SERIF,
            (65, 95),
            "dissolve",
        ),
        _v(
            "sci-fi",
            120,
            (3.0, 2.0, 1.2),
            (0.3, 0.4, 0.3),
            0.4,
            "eq=contrast=1.1:saturation=0.9,colorbalance=bs=0.08:gs=0.03:rh=0.04",
            -15,
            "#7fe0ff",
            SANS,
            (90, 125),
            "fade_white",
        ),
        _v(
            "thriller",
            120,
            (3.0, 1.8, 1.0),
            (0.3, 0.4, 0.3),
            0.5,
            "eq=contrast=1.12:saturation=0.85,colorbalance=bs=0.06:rh=0.05:bh=-0.04",
            -16,
            "white",
            SANS_BOLD,
            (90, 120),
            "fade_black",
        ),
        _v(
            "war",
            130,
            (3.0, 2.0, 1.2),
            (0.3, 0.4, 0.3),
            0.5,
            "eq=saturation=0.55:contrast=1.18,colorbalance=gm=0.03",
            -15,
            "#c8c8b4",
            SERIF,
            (70, 100),
            "fade_black",
        ),
        _v(
            "western",
            120,
            (3.5, 2.5, 1.5),
            (0.35, 0.4, 0.25),
            0.5,
            "eq=saturation=0.9:contrast=1.08,colorbalance=rm=0.08:gm=0.03:bm=-0.08",
            -16,
            "#f2c77f",
            SERIF,
            (80, 105),
            "dissolve",
        ),
    ]
}


def get_vibe(name: str) -> Vibe:
    return VIBES[name]


def target_length(vibe: Vibe, film_duration: float, configured: float = 0) -> float:
    """Trailer length: the configured one, else the vibe's, scaled down for short films."""
    if configured > 0:
        return min(configured, film_duration)
    return min(vibe.length, max(30.0, 0.4 * film_duration), 0.8 * film_duration)
