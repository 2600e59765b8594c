"""What a removed photo carried, kept by its content, and given back when that content returns.

Removing a folder, or a photo vanishing from a readable folder, deletes the photo's row; before
that, its vectors, metadata and every fact the user made about it (tags and removed-tag
decisions, concept examples, and any table registered with `keep_table`) are copied here under
the photo's content hash. When a file with that hash appears again (the folder added back, the
photo moved out of the library and back), its row is revived from them: nothing is embedded
again and the user's work is back.

Why a separate store keyed by hash rather than keeping removed photos' rows with a 'removed'
status: a photo row belongs to a folder (a foreign key) that may be gone, and every query that
lists, counts, searches or tags photos (several modules, more to come) would have to learn to
skip such rows; one missed filter would show removed photos. Kept rows are invisible by
construction, and reviving is one place.

Vectors are large, so they are kept for KEEP_VECTORS_DAYS; the user's facts are small and kept
for good. The tables are made by schema step 3 (schema._m3_kept_by_content).
"""
from __future__ import annotations

import json
import time
from typing import Iterable

from .errors import ImageError
from .fsutil import path_key
from .reading import file_hash

__all__ = ["keep", "revive", "keep_table", "kept_counts", "KEPT_TABLES"]

# Long enough to undo a mistaken removal or bring a drive back from a trip; after that the
# photo is embedded again if it returns (its user facts still come back).
KEEP_VECTORS_DAYS = 180
MAX_PARAMS = 900  # ids per statement: under SQLite's limit on bound parameters

# Tables keyed by photo_id whose rows are the user's work, by fact kind: (table, columns).
# Auto tags are kept with user tags, so a revived photo needs no retagging either.
KEPT_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tag": ("tags", ("tag", "source", "score", "model")),
    "concept": ("concept_examples", ("concept", "positive")),
}
_PHOTO_FIELDS = ("size", "path", "width", "height", "taken", "camera", "gps_lat", "gps_lon", "tagged_with")


def keep_table(kind: str, table: str, columns: tuple[str, ...]) -> None:
    """Keep the rows of another photo_id-keyed table (albums, names) across removal."""
    KEPT_TABLES[kind] = (table, tuple(columns))


def _chunks(ids: Iterable) -> Iterable[tuple[list, str]]:
    ids = list(ids)
    for i in range(0, len(ids), MAX_PARAMS):
        chunk = ids[i:i + MAX_PARAMS]
        yield chunk, ",".join("?" * len(chunk))


def keep(store, photo_ids: Iterable[int]) -> int:
    """Copy what these photos carry into the kept tables (call in the transaction that deletes
    them). Photos never indexed have no hash, and nothing to keep. Returns how many were kept."""
    kept = 0
    now = time.time()
    cols = ", ".join(_PHOTO_FIELDS)
    with store.transaction():
        for chunk, marks in _chunks(photo_ids):
            rows = store.query(f"SELECT id, hash, {cols} FROM photos WHERE id IN ({marks}) AND hash IS NOT NULL",
                               chunk)
            hashes = {r[0]: r[1] for r in rows}
            for r in rows:
                store.execute(f"INSERT OR REPLACE INTO kept_photos(hash, {cols}, removed_at) "
                              f"VALUES (?, {', '.join('?' * len(_PHOTO_FIELDS))}, ?)", [*r[1:], now])
            store.execute(f"INSERT OR REPLACE INTO kept_vectors(hash, model, kind, vec) SELECT p.hash, v.model, "
                          f"v.kind, v.vec FROM vectors v JOIN photos p ON p.id = v.photo_id "
                          f"WHERE p.id IN ({marks}) AND p.hash IS NOT NULL", chunk)
            for kind, (table, columns) in KEPT_TABLES.items():
                for row in store.query(f"SELECT photo_id, {', '.join(columns)} FROM {table} "
                                       f"WHERE photo_id IN ({marks})", chunk):
                    if row[0] in hashes:
                        store.execute("INSERT OR IGNORE INTO kept_facts(hash, kind, data) VALUES (?, ?, ?)",
                                      [hashes[row[0]], kind, json.dumps(list(row[1:]))])
            kept += len(rows)
        _prune(store, now)
    return kept


def _prune(store, now: float) -> None:
    """Drop kept vectors past their time, and kept photos with nothing of the user's left."""
    cutoff = now - KEEP_VECTORS_DAYS * 86400
    store.execute("DELETE FROM kept_vectors WHERE hash IN (SELECT hash FROM kept_photos WHERE removed_at < ?)",
                  [cutoff])
    store.execute("DELETE FROM kept_photos WHERE removed_at < ? AND hash NOT IN (SELECT hash FROM kept_facts)",
                  [cutoff])


def revive(store, new: list[tuple[int, object]]) -> tuple[list[int], set[str]]:
    """Give new files (folder id, FileEntry) whose content was kept their photo back: row,
    vectors and facts. Only files whose size matches a kept photo are hashed. Returns the
    revived photo ids and their paths; the caller adds the rest as new photos."""
    sizes = sorted({e.size for _, e in new})
    kept_sizes: set[int] = set()
    for chunk, marks in _chunks(sizes):
        kept_sizes.update(r[0] for r in store.query(f"SELECT DISTINCT size FROM kept_photos WHERE size IN ({marks})",
                                                    chunk))
    by_hash: dict[str, list] = {}
    for folder_id, entry in new:
        if entry.size in kept_sizes:
            try:
                by_hash.setdefault(file_hash(entry.path), []).append((folder_id, entry))
            except ImageError:
                continue  # unreadable now: it is added as new and fails with its reason
    ids: list[int] = []
    paths: set[str] = set()
    cols = ", ".join(_PHOTO_FIELDS[2:])
    with store.transaction():
        for digest, entries in by_hash.items():
            rows = store.query(f"SELECT {cols} FROM kept_photos WHERE hash = ?", [digest])
            if not rows:
                continue
            facts = store.query("SELECT kind, data FROM kept_facts WHERE hash = ?", [digest])
            for folder_id, entry in entries:
                pid = store.execute(
                    f"INSERT INTO photos(folder_id, path, size, mtime_ns, hash, {cols}, status, added_at, indexed_at) "
                    f"VALUES (?, ?, ?, ?, ?, {', '.join('?' * len(rows[0]))}, 'indexed', ?, ?)",
                    [folder_id, path_key(entry.path), entry.size, entry.mtime_ns, digest, *rows[0],
                     time.time(), time.time()]).lastrowid
                store.execute("INSERT INTO vectors(photo_id, model, kind, vec) SELECT ?, model, kind, vec "
                              "FROM kept_vectors WHERE hash = ?", [pid, digest])
                _restore_facts(store, pid, facts)
                ids.append(pid)
                paths.add(entry.path)
            for table in ("kept_photos", "kept_vectors"):
                store.execute(f"DELETE FROM {table} WHERE hash = ?", [digest])
            known = sorted(KEPT_TABLES)  # a kind a newer version kept stays for that version
            store.execute(f"DELETE FROM kept_facts WHERE hash = ? AND kind IN ({', '.join('?' * len(known))})",
                          [digest, *known])
    return ids, paths


def _restore_facts(store, photo_id: int, facts: list[tuple[str, str]]) -> None:
    for kind, data in facts:
        if kind not in KEPT_TABLES:
            continue  # a kind this version does not know (a newer one kept it): stays unused
        table, columns = KEPT_TABLES[kind]
        values = json.loads(data)
        store.execute(f"INSERT OR IGNORE INTO {table}(photo_id, {', '.join(columns)}) "
                      f"VALUES (?, {', '.join('?' * len(columns))})", [photo_id, *values])


def kept_counts(store) -> dict:
    """How many removed photos are kept, and how many of them carry the user's facts."""
    photos = store.query("SELECT count(*) FROM kept_photos")[0][0]
    facts = store.query("SELECT count(DISTINCT hash) FROM kept_facts WHERE kind != 'tag' "
                        "OR json_extract(data, '$[1]') IN ('user', 'rejected')")[0][0]
    return {"kept_photos": photos, "kept_with_user_data": facts}
