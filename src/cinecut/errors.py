"""The one exception type users see: its message names the file and the problem."""

from __future__ import annotations

from pathlib import Path


class CinecutError(Exception):
    """A problem the user can act on; scripts print it as one line and exit 1."""

    def __init__(self, path: str | Path | None, problem: str) -> None:
        self.path = str(path) if path is not None else None
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)
