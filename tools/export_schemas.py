"""Write the JSON Schemas of the file formats into schemas/, and the vibe names into the
config and sheet schemas (tests check they are current).

.venv/bin/python tools/export_schemas.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from cinecut.models import Manifest, SceneDescFile
from cinecut.vibes import VIBES

SCHEMAS = {"manifest.schema.json": Manifest, "scenedesc.schema.json": SceneDescFile}
FOLDER = Path(__file__).resolve().parents[1] / "schemas"
# The YAML schemas that list the vibes, and whether an empty cell is one (the sheet's).
VIBE_LISTS = {"config.schema.yaml": False, "sheet.schema.yaml": True}
VIBE_ENUM = re.compile(
    r"^(?P<note>(?P<indent> *)# [^\n]*cinecut\.vibes\.VIBES[^\n]*\n)(?P=indent)enum: \[[^\]]*\]$", re.M
)


def render(model) -> str:
    return json.dumps(model.model_json_schema(), indent=2) + "\n"


def with_vibes(text: str, blank: bool) -> str:
    """`text` with its vibe enum (the line after a comment naming VIBES) listing the names of VIBES."""
    names = ['""'] * blank + list(VIBES)
    new, count = VIBE_ENUM.subn(lambda m: f"{m['note']}{m['indent']}enum: [{', '.join(names)}]", text)
    if count != 1:
        raise SystemExit("no vibe enum after a comment naming cinecut.vibes.VIBES")
    return new


if __name__ == "__main__":
    for name, model in SCHEMAS.items():
        (FOLDER / name).write_text(render(model))
        print(f"wrote schemas/{name}")
    for name, blank in VIBE_LISTS.items():
        path = FOLDER / name
        path.write_text(with_vibes(path.read_text(), blank))
        print(f"wrote the vibes into schemas/{name}")
