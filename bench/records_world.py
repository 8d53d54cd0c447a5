"""The demo world's records, shared by bench/records.py (search) and bench/records_classify.py (classify):
a picture of a *white* shape plus a note naming a colour, labelled "a red circle", so that only the two
parts together know the record.
"""

from __future__ import annotations

import json
from pathlib import Path

PER_COMBINATION = 3
NOTE_TEMPLATES = ("{c}", "the colour is {c}", "it should be {c}", "{c} please")


def world(folder: Path, per_combination: int = PER_COMBINATION, seed: int = 0) -> Path:
    """The records as a JSONL manifest in `folder` (pictures beside it): id, picture, note and label."""
    from data.demo_scenes import COLOURS, SHAPES, draw_scene

    manifest = folder / "records.jsonl"
    if manifest.exists():
        return manifest
    (folder / "pictures").mkdir(parents=True, exist_ok=True)
    rows = []
    colours = [c for c in COLOURS if c != "white"]
    for c_index, colour in enumerate(colours):
        for s_index, shape in enumerate(SHAPES):
            for n in range(per_combination):
                # opaque ids: a record's id is in its lexical names, and must not give its label away
                record_id = f"r{len(rows):04d}"
                picture = f"pictures/{record_id}.png"
                draw_scene("white", shape, seed=f"{seed}-{colour}-{shape}-{n}").save(folder / picture)
                note = NOTE_TEMPLATES[(c_index + s_index + n) % len(NOTE_TEMPLATES)].format(c=colour)
                rows.append({"id": record_id, "picture": picture, "note": note, "label": f"a {colour} {shape}"})
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return manifest
