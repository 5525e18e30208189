"""The 18 vibe profiles. Every field is read by some stage (see the table in docs/configuration.md)."""

from __future__ import annotations

from dataclasses import dataclass

from .grade import Grade


@dataclass(frozen=True)
class Vibe:
    name: str
    length: float  # default trailer length, seconds (scaled down for short films)
    clip_seconds: tuple[float, float, float]  # typical clip length in acts 1, 2, 3
    act_share: tuple[float, float, float]  # share of the trailer per act
    dialogue_weight: float  # how much a line raises a clip's score, and dialogue_share
    grade: Grade  # the look, applied to every clip as a 3D LUT (grade.py)
    loudness: float  # integrated loudness target, LUFS
    title_colour: str
    title_font: str  # fonts-dejavu-core face
    tempo: tuple[int, int]  # music tempo range, BPM (used by the music stage)
    transition: str  # between clips of acts 1 and 2: cut | dissolve | fade_black | fade_white

    @property
    def title_capitals(self) -> bool:
        """Hard-edged vibes set their cards in capitals."""
        return self.name in CAPITALS

    @property
    def minor(self) -> bool:
        """Darker vibes get their synthesised bed in a minor key."""
        return self.name in MINOR

    @property
    def dialogue_share(self) -> float:
        """Most of an act's time that clips carrying a dialogue line may take: talkier vibes speak more."""
        return min(0.2 + 0.5 * self.dialogue_weight, 0.7)


def _v(name, length, clips, share, dlg, grade, lufs, colour, font, tempo, transition) -> Vibe:
    return Vibe(name, length, clips, share, dlg, grade, lufs, colour, font, tempo, transition)


CAPITALS = {"action", "crime", "horror", "mystery", "sci-fi", "thriller", "war"}
MINOR = {"crime", "drama", "history", "horror", "mystery", "sci-fi", "thriller", "war", "western"}
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
            Grade(contrast=1.15, saturation=1.1, shadows=(-0.04, 0.02, 0.06), highlights=(0.07, 0.02, -0.06)),
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
            Grade(contrast=1.08, saturation=1.2, highlights=(0.06, 0.03, -0.04)),
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
            Grade(saturation=1.35, gamma=1.05),
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
            Grade(saturation=1.15, gamma=1.08, lift=0.02, highlights=(0.03, 0.02, -0.01)),
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
            Grade(contrast=1.12, saturation=0.8, shadows=(-0.02, 0.03, 0.0), highlights=(0.02, 0.03, -0.02)),
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
            Grade(contrast=1.06, saturation=0.9, shadows=(-0.01, 0.0, 0.03)),
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
            Grade(contrast=1.02, saturation=0.88, lift=0.05, highlights=(0.04, 0.02, -0.02)),
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
            Grade(saturation=1.2, gamma=1.06, highlights=(0.03, 0.02, -0.02)),
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
            Grade(saturation=1.2, gamma=1.05, shadows=(0.02, -0.02, 0.07), highlights=(0.05, 0.03, -0.02)),
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
            Grade(
                contrast=1.05, saturation=0.7, lift=0.03, shadows=(0.03, 0.01, -0.03), highlights=(0.06, 0.03, -0.05)
            ),
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
            Grade(contrast=1.2, saturation=0.6, gamma=0.9, shadows=(-0.02, 0.03, 0.05)),
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
            Grade(contrast=1.08, saturation=1.3, shadows=(0.05, -0.02, 0.06)),
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
            Grade(saturation=0.8, gamma=0.95, shadows=(-0.02, 0.01, 0.07), highlights=(0.0, 0.02, 0.03)),
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
            Grade(saturation=1.05, gamma=1.08, lift=0.03, highlights=(0.06, 0.01, 0.02)),
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
            Grade(contrast=1.1, saturation=0.9, shadows=(-0.03, 0.03, 0.08), highlights=(0.0, 0.03, 0.05)),
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
            Grade(contrast=1.12, saturation=0.85, shadows=(-0.03, 0.01, 0.06), highlights=(0.05, 0.01, -0.04)),
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
            Grade(contrast=1.18, saturation=0.55, lift=0.03, shadows=(0.0, 0.02, 0.0)),
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
            Grade(contrast=1.08, saturation=0.9, shadows=(0.03, 0.01, -0.03), highlights=(0.08, 0.03, -0.08)),
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
