"""`photolens export`: every photo of the library, as JSON Lines or a readable table."""
from __future__ import annotations

import json

from .common import open_catalog

TABLE_TAGS = 4  # tags shown per photo in the table: the row stays one line


def cmd_export(args) -> int:
    with open_catalog(args) as cat:
        for record in cat.export_records():
            if args.json:  # JSON Lines: one object per photo, streamed
                print(json.dumps(record.to_json(), ensure_ascii=False))
            else:
                r = record.to_json()
                size = f"{r['width']}x{r['height']}" if r["width"] else "?"
                tags = ", ".join(t["tag"] for t in r["tags"][:TABLE_TAGS])
                more = f" +{len(r['tags']) - TABLE_TAGS}" if len(r["tags"]) > TABLE_TAGS else ""
                print(f"{r['path']}\t{size}\t{r['taken'] or '-'}\t{r['camera'] or '-'}\t{tags}{more}")
    return 0


def register(command) -> None:
    command("export", cmd_export, "every photo with its size, date, camera and tags (--json: JSON Lines)")
