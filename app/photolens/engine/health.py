"""Checking and repairing a library, and the backup of the user's own work that repair uses.

Everything in a library can be derived again from the photos (vectors, auto tags, the graph)
except what the user made: their tags, the tags they removed, concept examples, and their word
on people (names, hidden people, faces moved or "not this person", by photo content). Those are
written, at most once per BACKUP_INTERVAL_S, to a small JSON export keyed by photo content
(`backups/user-data.json`, the previous one kept as `user-data.1.json`). `check` says what is
wrong without changing anything; `repair` rebuilds what can be derived: a damaged database is
moved aside (never deleted) and a new one made, holding the library's folders and the user's
facts by content, which come back on photos as `photolens index` finds them again.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from .archive import KEPT_TABLES
from .dbfile import check_library_file, make_private
from .errors import LibraryError
from .facestore import people_backup, restore_people
from .fsutil import atomic_write_text, path_key, path_str
from .graphfile import read_sidecar, verify_graph
from .store import Store

__all__ = ["check", "repair", "backup_user_data", "BACKUP_NAME"]

BACKUP_DIR = "backups"
BACKUP_NAME = "user-data.json"
# A day's work at most is lost to a database destroyed beyond salvage, for a write of a few
# hundred kB per day (about 100 bytes per user fact).
BACKUP_INTERVAL_S = 24 * 3600
USER_SOURCES = ("user", "rejected")  # auto tags are derived: left out of the backup


def _user_facts(query) -> dict:
    """The user's facts by content hash: {hash: {"size", "path", "facts": [[kind, data], ...]}},
    read with `query(sql)` (the store's locked query, or a damaged file's own connection)."""
    photos: dict[str, dict] = {}

    def entry(digest: str, size: int, path: bytes | None) -> dict:
        return photos.setdefault(digest, {"size": size, "path": path_str(path) if path else None, "facts": []})

    for kind, (table, columns) in KEPT_TABLES.items():
        where = f"AND t.source IN {USER_SOURCES}" if table == "tags" else ""
        cols = ", ".join(f"t.{c}" for c in columns)
        for row in query(f"SELECT p.hash, p.size, p.path, {cols} FROM {table} t JOIN photos p "
                                f"ON p.id = t.photo_id WHERE p.hash IS NOT NULL {where}"):
            entry(row[0], row[1], row[2])["facts"].append([kind, json.dumps(list(row[3:]))])
    for digest, size, path, kind, data in query(
            "SELECT k.hash, k.size, k.path, f.kind, f.data FROM kept_facts f JOIN kept_photos k ON k.hash = f.hash"):
        if kind != "tag" or json.loads(data)[1] in USER_SOURCES:
            entry(digest, size, path)["facts"].append([kind, data])
    return photos


def backup_user_data(store: Store, library_dir: Path, force: bool = False) -> Path | None:
    """Write the export if the last one is older than BACKUP_INTERVAL_S (or `force`)."""
    folder = Path(library_dir) / BACKUP_DIR
    target = folder / BACKUP_NAME
    try:
        if not force and time.time() - target.stat().st_mtime < BACKUP_INTERVAL_S:
            return None
    except OSError:
        pass
    # Plain reads, no write lock: a watcher writing meanwhile is not held up (a fact it adds
    # now is in the next backup).
    data = {"version": 1, "made": time.time(),
            "folders": [path_str(r[0]) for r in store.query("SELECT path FROM folders")],
            "photos": _user_facts(store.query), "people": people_backup(store.query)}
    folder.mkdir(mode=0o700, exist_ok=True)
    if target.exists():
        os.replace(target, folder / "user-data.1.json")
    atomic_write_text(target, json.dumps(data))
    make_private(target)
    return target


def check(library_dir: Path) -> dict:
    """What is wrong with a library, changing nothing: {"database": "ok" or the problem,
    "graphs": {file: "ok" or the problem}, "backup": its path and age, or None, "ok": bool}."""
    library_dir = Path(library_dir)
    db = library_dir / "library.db"
    report: dict = {"library": str(library_dir), "database": "ok", "graphs": {}, "backup": None}
    try:
        check_library_file(db)
        if db.exists():
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
            try:
                rows = conn.execute("PRAGMA integrity_check(5)").fetchall()
            finally:
                conn.close()
            verdict = "; ".join(str(r[0]) for r in rows)
            report["database"] = "ok" if verdict == "ok" else f"damaged: {verdict}"
    except LibraryError as e:
        report["database"] = str(e)
    except (sqlite3.Error, UnicodeDecodeError) as e:  # the report may quote damaged bytes: not UTF-8
        report["database"] = f"damaged: {e}"
    for sidecar in sorted(library_dir.glob("index-*.json")):
        meta = read_sidecar(sidecar)
        graph = sidecar.with_suffix(".hnsw")
        problem = "its record is unreadable" if meta is None else verify_graph(graph, meta)
        report["graphs"][graph.name] = problem or "ok"
    backup = library_dir / BACKUP_DIR / BACKUP_NAME
    if backup.exists():
        report["backup"] = {"path": str(backup), "age_hours": round((time.time() - backup.stat().st_mtime) / 3600, 1)}
    report["ok"] = report["database"] == "ok" and all(v == "ok" for v in report["graphs"].values())
    return report


def repair(library_dir: Path) -> dict:
    """Rebuild what can be derived, keeping the user's facts. Graph files that fail their
    check are deleted (rebuilt at the next search). A damaged database is moved aside to
    `library.db.damaged-<time>`, its user facts salvaged (or, failing that, taken from the
    backup), and a new database made with the folders and those facts kept by content."""
    library_dir = Path(library_dir)
    report = check(library_dir)
    done: dict = {"graphs_removed": [], "database": "kept", "facts_restored": 0, "people_restored": 0,
                  "moved_aside": None}
    for name, state in report["graphs"].items():
        if state != "ok":
            for path in (library_dir / name, (library_dir / name).with_suffix(".json")):
                path.unlink(missing_ok=True)
            done["graphs_removed"].append(name)
    if report["database"] == "ok":
        return done
    db = library_dir / "library.db"
    salvaged, source = _salvage(db), "database"
    if salvaged is None:
        salvaged, source = _read_backup(library_dir), "backup"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = db.with_name(f"library.db.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = db.with_name(db.name + suffix)
        if part.exists():
            os.replace(part, aside.with_name(aside.name + suffix))
    store = Store(db)
    try:
        with store.transaction():
            for folder in salvaged.get("folders", []):
                store.add_folder(folder)
            for digest, photo in salvaged.get("photos", {}).items():
                store.execute("INSERT OR IGNORE INTO kept_photos(hash, size, path, removed_at) VALUES (?, ?, ?, ?)",
                              [digest, photo["size"], path_key(photo["path"]) if photo.get("path") else None,
                               time.time()])
                for kind, data in photo["facts"]:
                    store.execute("INSERT OR IGNORE INTO kept_facts(hash, kind, data) VALUES (?, ?, ?)",
                                  [digest, kind, data])
                    done["facts_restored"] += 1
        people, notes = restore_people(store, salvaged.get("people") or {})
        done["people_restored"] = people
        done["facts_restored"] += notes
    finally:
        store.close()
    done.update(database="rebuilt", moved_aside=str(aside), facts_from=source)
    return done


def _salvage(db: Path) -> dict | None:
    """The user's facts read from a damaged database, or None if it cannot be read."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            def query(sql):
                return conn.execute(sql).fetchall()

            return {"folders": [path_str(r[0]) for r in conn.execute("SELECT path FROM folders")],
                    "photos": _user_facts(query), "people": people_backup(query)}
        finally:
            conn.close()
    except (sqlite3.Error, ValueError, TypeError):
        return None


def _read_backup(library_dir: Path) -> dict:
    for name in (BACKUP_NAME, "user-data.1.json"):
        try:
            data = json.loads((library_dir / BACKUP_DIR / name).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("photos"), dict):
            return data
    return {"folders": [], "photos": {}}
