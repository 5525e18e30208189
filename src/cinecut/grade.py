"""Colour grades as 3D LUTs (.cube): each vibe's look written as a lattice that ffmpeg's
lut3d applies to every clip, and that an editor can load in Resolve or Premiere.

The look is built in this order, on RGB in 0-1: lift (raised blacks), gamma, contrast
around mid-grey, saturation around the pixel's luma, split-toning (a tint added to the
shadows and another to the highlights, weighted by luma), then gain.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import atomic

SIZE = 33  # lattice points per axis: the usual size for grading LUTs
REC709 = np.array([0.2126, 0.7152, 0.0722])


@dataclass(frozen=True)
class Grade:
    contrast: float = 1.0
    saturation: float = 1.0
    lift: float = 0.0  # 0-0.15: where black lands
    gamma: float = 1.0  # > 1 brightens the mid-tones
    gain: float = 1.0
    shadows: tuple[float, float, float] = (0.0, 0.0, 0.0)  # RGB tint of the shadows
    highlights: tuple[float, float, float] = (0.0, 0.0, 0.0)  # RGB tint of the highlights

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """The look on an (..., 3) array of RGB values in 0-1."""
        x = self.lift + (1 - self.lift) * np.clip(rgb, 0, 1)
        x = x ** (1 / self.gamma)
        x = (x - 0.5) * self.contrast + 0.5
        luma = (x @ REC709)[..., None]
        x = luma + (x - luma) * self.saturation
        weight = np.clip(luma, 0, 1)
        x = x + (1 - weight) ** 2 * np.array(self.shadows) + weight**2 * np.array(self.highlights)
        return np.clip(x * self.gain, 0, 1)


def lattice(grade: Grade, size: int = SIZE) -> np.ndarray:
    """The LUT's output values in .cube order: red changes fastest, then green, then blue."""
    axis = np.linspace(0, 1, size)
    b, g, r = np.meshgrid(axis, axis, axis, indexing="ij")
    return grade.apply(np.stack([r, g, b], axis=-1).reshape(-1, 3))


def write_cube(grade: Grade, path: str | Path, title: str = "cinecut") -> Path:
    rows = "\n".join(f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in lattice(grade))
    atomic.write_text(path, f'TITLE "{title}"\nLUT_3D_SIZE {SIZE}\n{rows}\n')
    return Path(path)
