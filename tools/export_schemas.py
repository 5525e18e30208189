"""Write the JSON Schemas of the file formats into schemas/ (tests check they are current).

.venv/bin/python tools/export_schemas.py
"""

from __future__ import annotations

import json
from pathlib import Path

from cinecut.manifest import Manifest
from cinecut.scenes import SceneDescFile

SCHEMAS = {"manifest.schema.json": Manifest, "scenedesc.schema.json": SceneDescFile}
FOLDER = Path(__file__).resolve().parents[1] / "schemas"


def render(model) -> str:
    return json.dumps(model.model_json_schema(), indent=2) + "\n"


if __name__ == "__main__":
    for name, model in SCHEMAS.items():
        (FOLDER / name).write_text(render(model))
        print(f"wrote schemas/{name}")
