"""Every photo of the library as one record: what `photolens export` writes.

`PhotoRecord` is the one place a photo's exported fields live. A feature that adds a field
(place, people, text) adds it to the dataclass and fills it in `export_records`, from one
library-wide query of its own, so exporting stays a handful of queries for any library size.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from .facestore import names_in_photos
from .fsutil import printable
from .records import PhotoTag
from .store import MAX_PARAMS, Store
from .tag_rules import SOURCE_REJECTED

__all__ = ["PhotoRecord", "export_records"]

BATCH = MAX_PARAMS  # photos per query: memory stays flat for any library size, ids fit one statement


@dataclass(frozen=True)
class PhotoRecord:
    """One exported photo. `taken`: when it was taken (EXIF), ISO 8601 in local time, or None;
    `tags`: those a user sees (theirs, then the tagger's best first; rejected ones left out)."""
    path: str
    size: int
    width: int | None
    height: int | None
    taken: str | None
    camera: str | None
    tags: list[PhotoTag] = field(default_factory=list)
    text: str | None = None  # words: the text read in it, a line per line; None before it is read
    caption: str = ""        # words: the user's caption
    people: list[str] = field(default_factory=list)  # the named people in it (issue 19)

    def to_json(self) -> dict:
        d = asdict(self)
        d["path"] = printable(self.path)
        d["tags"] = [t.to_json() for t in self.tags]
        return d


def iso_time(ts: float | None) -> str | None:
    """A stored EXIF time as ISO 8601: the indexer read the camera's clock as local time
    (imaging.py), so local time gives the camera's clock back."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts).isoformat(timespec="seconds")


def export_records(store: Store) -> Iterator[PhotoRecord]:
    """Every indexed or pending photo, by path, in batches of BATCH."""
    from .fsutil import path_str

    last = None
    while True:
        where, params = ("WHERE path > ?", [last]) if last is not None else ("", [])
        rows = store.query(f"SELECT id, path, size, width, height, taken, camera FROM photos {where} "
                           f"ORDER BY path LIMIT {BATCH}", params)
        if not rows:
            return
        ids = [r[0] for r in rows]
        tags: dict[int, list[PhotoTag]] = {i: [] for i in ids}
        marks = ",".join("?" * len(ids))
        for pid, tag, score, source in store.query(
                f"SELECT photo_id, tag, score, source FROM tags WHERE photo_id IN ({marks}) AND source != ? "
                f"ORDER BY photo_id, source = 'user' DESC, score DESC, tag", [*ids, SOURCE_REJECTED]):
            tags[pid].append(PhotoTag(tag, None if source == "user" else score, source))
        texts = {pid: "\n".join(d["text"] for d in json.loads(lines)) for pid, lines in store.query(
            f"SELECT photo_id, lines FROM photo_text WHERE photo_id IN ({marks})", ids)}
        captions = dict(store.query(f"SELECT p.id, c.text FROM photos p JOIN captions c ON c.hash = p.hash "
                                    f"WHERE p.id IN ({marks})", ids))
        people = names_in_photos(store, ids)
        for r in rows:
            yield PhotoRecord(path_str(r[1]), r[2], r[3], r[4], iso_time(r[5]), r[6], tags[r[0]],
                              texts.get(r[0]), captions.get(r[0], ""), people.get(r[0], []))
        last = rows[-1][1]
