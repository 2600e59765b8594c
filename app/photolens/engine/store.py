"""The library database: every query the engine makes (the schema and its migrations: schema.py).

Paths are stored as the file system's bytes (BLOB) so names that are not valid UTF-8 round
trip exactly. Embeddings are stored as float16 blobs: half the space of float32, and cosine
rankings do not change at that precision for these unit vectors; the tagger's inputs take one
byte a value (vecblob.py).
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import sqlite_utils

from . import vecblob
from .dbfile import DIR_MODE, SessionMarker, check_library_file, ensure_sound, library_error, make_private
from .fsutil import path_key, path_str
from .schema import MIGRATIONS

# Seconds a writer waits for another process's transaction before giving up. The watcher and
# a CLI command may write at once; batches commit in well under a second, so this is ample.
BUSY_TIMEOUT_MS = 30_000
MAX_PARAMS = 900  # ids per statement: under SQLite's limit on bound parameters
PAGE_SIZE = 16384

STATUS_FAILED = "failed"


@dataclass
class PhotoRow:
    id: int
    folder_id: int
    path: str
    size: int
    mtime_ns: int
    hash: str | None
    status: str
    error_kind: str | None = None
    error: str | None = None


class Store:
    """One SQLite library database. Thread-safe: one connection guarded by a lock; open one
    Store per process (other processes coordinate through SQLite's WAL locking)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        check_library_file(self.path)
        self.path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        new = not self.path.exists()
        self._marker = SessionMarker(self.path)
        unclean = not new and self._marker.unclean_before()
        try:
            self._open(new, unclean)
        except sqlite3.Error as e:
            raise library_error(self.path, e) from e
        self._marker.enter()

    def _open(self, new: bool, unclean: bool) -> None:
        conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False,
                               isolation_level=None)
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._depth = 0
        if unclean:  # a process died with the library open: check it before trusting it
            ensure_sound(conn, self.path)
        # 16 KiB pages for a new library (an existing one keeps its own: changing it means a full
        # VACUUM). A photo's vectors are 0.75-2.5 kB rows: in 4 KiB pages of this WITHOUT ROWID
        # table they spill into overflow pages and the table takes 1.9x their size; in 16 KiB
        # pages, 1.1x (tests/test_engine_units.py measures it).
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode=WAL")
        if new:
            make_private(self.path)  # SQLite gives its -wal and -shm files the same permissions
        # FULL: a commit survives a power cut, which is what "nothing lost" means; with batched
        # transactions the extra fsync costs little.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        # REPLACE deletes the row it replaces: with this, that delete fires the delete triggers
        # too, so the tag counts (schema.py) stay right when a tag is replaced.
        conn.execute("PRAGMA recursive_triggers=ON")
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self._migrate()

    # -- plumbing ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self.transaction():
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for step, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(self.db)
                self.db.execute(f"PRAGMA user_version={step}")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction (nested calls join the outer one). BEGIN IMMEDIATE takes the
        write lock up front, so two processes never deadlock upgrading read locks."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException as e:
                try:
                    self.db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite already rolled back (a full disk does)
                if isinstance(e, sqlite3.Error):
                    raise library_error(self.path, e) from e
                raise
            else:
                self.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, params: Iterable = ()) -> list[tuple]:
        with self._lock:
            try:
                return self.db.execute(sql, tuple(params)).fetchall()
            except sqlite3.Error as e:
                raise library_error(self.path, e) from e

    def execute(self, sql: str, params: Iterable = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self.db.execute(sql, tuple(params))
            except sqlite3.Error as e:
                raise library_error(self.path, e) from e

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()
        self._marker.leave()

    # -- meta -------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = ?", [key])
        return rows[0][0] if rows else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction():
            self.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [key, value])

    def bump_generation(self, model: str) -> int:
        """Counts changes to a model's vectors, so a saved index can tell it is stale."""
        with self.transaction():
            gen = int(self.get_meta(f"generation:{model}", "0")) + 1
            self.set_meta(f"generation:{model}", str(gen))
        return gen

    def drop_vectors(self, model: str) -> int:
        """Forget every vector of `model` (they came from another build of it), so its photos
        are embedded again; the saved index sees a new generation and is rebuilt."""
        with self.transaction():
            n = self.query("SELECT count(*) FROM vectors WHERE model = ? AND kind = 'embedding'", [model])[0][0]
            self.execute("DELETE FROM vectors WHERE model = ?", [model])
            self.bump_generation(model)
        return n

    def drop_vector_kinds(self, model: str, kinds: tuple[str, ...]) -> int:
        """Forget some kinds of `model`'s vectors (not the embeddings search uses): of how many photos."""
        marks = ",".join("?" * len(kinds))
        where = f"WHERE model = ? AND kind IN ({marks})"
        photos = self.query(f"SELECT count(DISTINCT photo_id) FROM vectors {where}", [model, *kinds])[0][0]
        self.execute(f"DELETE FROM vectors {where}", [model, *kinds])
        return int(photos)

    def generation(self, model: str) -> int:
        return int(self.get_meta(f"generation:{model}", "0"))

    # -- folders ----------------------------------------------------------------------------

    def add_folder(self, path: str) -> int:
        key = path_key(path)
        with self.transaction():
            rows = self.query("SELECT id FROM folders WHERE path = ?", [key])
            if rows:
                return rows[0][0]
            return self.execute("INSERT INTO folders(path, added_at) VALUES (?, ?)", [key, time.time()]).lastrowid

    def folders(self) -> list[dict]:
        rows = self.query("""SELECT f.id, f.path, f.online, f.last_scan,
                                    (SELECT count(*) FROM photos p WHERE p.folder_id = f.id), f.offline_reason,
                                    f.unreachable FROM folders f ORDER BY f.path""")
        return [{"id": r[0], "path": path_str(r[1]), "online": bool(r[2]), "last_scan": r[3], "photos": r[4],
                 "offline_reason": r[5], "unreachable": [tuple(u) for u in json.loads(r[6] or "[]")]} for r in rows]

    def remove_folder(self, folder_id: int) -> int:
        """Forget a folder and everything indexed in it (the photos on disk are untouched)."""
        with self.transaction():
            n = self.execute("DELETE FROM photos WHERE folder_id = ?", [folder_id]).rowcount
            self.execute("DELETE FROM folders WHERE id = ?", [folder_id])
        return n

    def set_folder_state(self, folder_id: int, online: bool, scanned: bool = False) -> None:
        with self.transaction():
            if scanned:
                self.execute("UPDATE folders SET online = ?, last_scan = ? WHERE id = ?",
                             [int(online), time.time(), folder_id])
            else:
                self.execute("UPDATE folders SET online = ? WHERE id = ?", [int(online), folder_id])

    # -- photos -----------------------------------------------------------------------------

    _PHOTO_COLS = "id, folder_id, path, size, mtime_ns, hash, status, error_kind, error"

    @staticmethod
    def _photo(r: tuple) -> PhotoRow:
        return PhotoRow(r[0], r[1], path_str(r[2]), r[3], r[4], r[5], r[6], r[7], r[8])

    def photos_in_folder(self, folder_id: int) -> dict[str, PhotoRow]:
        rows = self.query(f"SELECT {self._PHOTO_COLS} FROM photos WHERE folder_id = ?", [folder_id])
        return {p.path: p for p in map(self._photo, rows)}

    def photo_by_path(self, path: str) -> PhotoRow | None:
        rows = self.query(f"SELECT {self._PHOTO_COLS} FROM photos WHERE path = ?", [path_key(path)])
        return self._photo(rows[0]) if rows else None

    @staticmethod
    def _id_chunks(ids: Iterable[int]) -> Iterator[tuple[list[int], str]]:
        """The ids in lists short enough for one statement, each with its "?,?,..." placeholders."""
        ids = list(ids)
        for i in range(0, len(ids), MAX_PARAMS):
            chunk = ids[i:i + MAX_PARAMS]
            yield chunk, ",".join("?" * len(chunk))

    def photos_by_ids(self, ids: Iterable[int]) -> dict[int, PhotoRow]:
        out: dict[int, PhotoRow] = {}
        for chunk, marks in self._id_chunks(ids):
            rows = self.query(f"SELECT {self._PHOTO_COLS} FROM photos WHERE id IN ({marks})", chunk)
            out.update((r[0], self._photo(r)) for r in rows)
        return out

    def photo_details(self, photo_id: int) -> dict | None:
        rows = self.query("""SELECT id, path, size, mtime_ns, width, height, taken, camera, gps_lat, gps_lon,
                                    status, error_kind, error FROM photos WHERE id = ?""", [photo_id])
        if not rows:
            return None
        r = rows[0]
        return {"id": r[0], "path": path_str(r[1]), "size": r[2], "mtime": r[3] / 1e9, "width": r[4],
                "height": r[5], "taken": r[6], "camera": r[7], "gps": [r[8], r[9]] if r[8] is not None else None,
                "status": r[10], "error_kind": r[11], "error": r[12]}

    def taken_dates(self, ids: Iterable[int]) -> dict[int, float]:
        """Date taken (or, lacking EXIF, the file's mtime) for sorting by date."""
        out: dict[int, float] = {}
        for chunk, marks in self._id_chunks(ids):
            out.update(self.query(f"SELECT id, coalesce(taken, mtime_ns / 1e9) FROM photos WHERE id IN ({marks})",
                                  chunk))
        return out

    def add_photo(self, folder_id: int, path: str, size: int, mtime_ns: int) -> int:
        return self.execute("INSERT INTO photos(folder_id, path, size, mtime_ns, status, added_at) "
                            "VALUES (?, ?, ?, ?, 'pending', ?)",
                            [folder_id, path_key(path), size, mtime_ns, time.time()]).lastrowid

    def mark_changed(self, photo_id: int, size: int, mtime_ns: int) -> None:
        """The file's content changed: embed it again."""
        self.execute("UPDATE photos SET size = ?, mtime_ns = ?, hash = NULL, status = 'pending', error_kind = NULL, "
                     "error = NULL WHERE id = ?", [size, mtime_ns, photo_id])

    def touch(self, photo_id: int, size: int, mtime_ns: int) -> None:
        """Same content, new mtime (a `touch`, a copy that kept the bytes): nothing to redo."""
        self.execute("UPDATE photos SET size = ?, mtime_ns = ? WHERE id = ?", [size, mtime_ns, photo_id])

    def move_photo(self, photo_id: int, folder_id: int, new_path: str, size: int, mtime_ns: int) -> None:
        """A renamed or moved photo keeps its id, and so its vectors and tags."""
        self.execute("UPDATE photos SET folder_id = ?, path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                     [folder_id, path_key(new_path), size, mtime_ns, photo_id])

    def remove_photos(self, ids: Iterable[int]) -> None:
        for chunk, marks in self._id_chunks(ids):
            self.execute(f"DELETE FROM photos WHERE id IN ({marks})", chunk)

    def record_failure(self, photo_id: int, kind: str, message: str) -> None:
        self.execute("UPDATE photos SET status = 'failed', error_kind = ?, error = ?, indexed_at = ? WHERE id = ?",
                     [kind, message, time.time(), photo_id])

    def record_indexed(self, photo_id: int, content_hash: str, info: dict) -> None:
        self.execute("""UPDATE photos SET status = 'indexed', hash = ?, width = ?, height = ?, taken = ?,
                        camera = ?, gps_lat = ?, gps_lon = ?, error_kind = NULL, error = NULL, indexed_at = ?
                        WHERE id = ?""",
                     [content_hash, info.get("width"), info.get("height"), info.get("taken"), info.get("camera"),
                      info.get("gps_lat"), info.get("gps_lon"), time.time(), photo_id])

    def pending_photos(self, model: str) -> list[PhotoRow]:
        """Photos to embed with `model`: new or changed ones, and indexed ones that have no
        vector from this model yet (after switching models)."""
        rows = self.query(f"""SELECT {self._PHOTO_COLS} FROM photos p WHERE p.status = 'pending'
                              OR (p.status = 'indexed' AND NOT EXISTS (SELECT 1 FROM vectors v
                                  WHERE v.photo_id = p.id AND v.model = ? AND v.kind = 'embedding'))
                              ORDER BY p.id""", [model])
        return [self._photo(r) for r in rows]

    # Indexed photos with `model`'s embedding but no vector of `kind`, in online folders.
    _LACKING = """FROM photos p WHERE p.status = 'indexed'
                  AND p.folder_id IN (SELECT id FROM folders WHERE online = 1)
                  AND EXISTS (SELECT 1 FROM vectors v WHERE v.photo_id = p.id AND v.model = ?
                              AND v.kind = 'embedding')
                  AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.photo_id = p.id AND v.model = ?
                                  AND v.kind = ?)"""

    def photos_lacking(self, model: str, kind: str, limit: int | None = None) -> list[PhotoRow]:
        """Indexed photos that have `model`'s embedding but no vector of `kind` (not yet given a
        later pass, indexed before the model had that output, or with it turned off); photos in
        offline folders wait until their folder is back. At most `limit`, lowest ids first: a
        pass in chunks reads one chunk, not the whole library each time."""
        rows = self.query(f"SELECT {self._PHOTO_COLS} {self._LACKING} ORDER BY p.id LIMIT ?",
                          [model, model, kind, -1 if limit is None else limit])
        return [self._photo(r) for r in rows]

    def count_lacking(self, model: str, kind: str) -> int:
        """How many photos `photos_lacking` would give, counted by SQLite alone."""
        return self.query(f"SELECT count(*) {self._LACKING}", [model, model, kind])[0][0]

    def failures(self) -> list[dict]:
        rows = self.query("SELECT path, error_kind, error FROM photos WHERE status = 'failed' ORDER BY path")
        return [{"path": path_str(r[0]), "kind": r[1], "reason": r[2]} for r in rows]

    def counts(self, model: str) -> dict:
        total, failed, pending_status = self.query(
            "SELECT count(*), sum(status = 'failed'), sum(status = 'pending') FROM photos")[0]
        indexed = self.query("SELECT count(*) FROM vectors v JOIN photos p ON p.id = v.photo_id "
                             "WHERE v.model = ? AND v.kind = 'embedding' AND p.status = 'indexed'", [model])[0][0]
        offline = self.query("SELECT count(*) FROM photos p JOIN folders f ON f.id = p.folder_id "
                             "WHERE f.online = 0")[0][0]
        failed = failed or 0
        return {"photos": total, "indexed": indexed, "failed": failed,
                "pending": total - indexed - failed, "offline": offline}

    # -- vectors ----------------------------------------------------------------------------

    def put_vectors(self, model: str, kind: str, items: Iterable[tuple[int, np.ndarray]]) -> None:
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO vectors(photo_id, model, kind, vec) VALUES (?, ?, ?, ?)",
            [(pid, model, kind, vecblob.encode(kind, v)) for pid, v in items])

    def vectors(self, model: str, kind: str = "embedding", only_online: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """All of a model's vectors as (ids int64[N], float32[N, D])."""
        sql = "SELECT v.photo_id, v.vec FROM vectors v"
        if only_online:
            sql += " JOIN photos p ON p.id = v.photo_id JOIN folders f ON f.id = p.folder_id AND f.online = 1"
        sql += " WHERE v.model = ? AND v.kind = ? ORDER BY v.photo_id"
        rows = self.query(sql, [model, kind])
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        return ids, vecblob.decode_many([r[1] for r in rows])

    def vector(self, photo_id: int, model: str, kind: str = "embedding") -> np.ndarray | None:
        rows = self.query("SELECT vec FROM vectors WHERE photo_id = ? AND model = ? AND kind = ?",
                          [photo_id, model, kind])
        return vecblob.decode(rows[0][0]) if rows else None

    def vector_ids(self, model: str, kind: str = "embedding") -> np.ndarray:
        """The ids of the photos that have a vector of this kind (the index alone is read)."""
        rows = self.query("SELECT photo_id FROM vectors WHERE model = ? AND kind = ? ORDER BY photo_id", [model, kind])
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def vectors_for(self, ids: Iterable[int], model: str, kind: str) -> dict[int, np.ndarray]:
        out = {}
        for chunk, marks in self._id_chunks(ids):
            rows = self.query(f"SELECT photo_id, vec FROM vectors WHERE model = ? AND kind = ? AND photo_id IN ({marks})",
                              [model, kind, *chunk])
            if rows:
                out.update(zip((r[0] for r in rows), vecblob.decode_many([r[1] for r in rows])))
        return out

    def models_with_vectors(self) -> dict[str, int]:
        return dict(self.query("SELECT model, count(*) FROM vectors WHERE kind = 'embedding' GROUP BY model"))

    # -- tags -------------------------------------------------------------------------------

    def replace_auto_tags(self, model: str, items: Iterable[tuple[int, list[tuple[str, float]]]]) -> None:
        """Set the auto tags of some photos; user tags and the user's removals stay as they are."""
        for pid, tags in items:
            self.execute("DELETE FROM tags WHERE photo_id = ? AND source = 'auto'", [pid])
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO tags(photo_id, tag, source, score, model) VALUES (?, ?, 'auto', ?, ?)",
                [(pid, t, float(s), model) for t, s in tags])

    def set_user_tag(self, photo_id: int, tag: str) -> None:
        with self.transaction():
            self.execute("INSERT OR REPLACE INTO tags(photo_id, tag, source, score, model) VALUES (?, ?, 'user', 1.0, NULL)",
                         [photo_id, tag])

    def remove_tag(self, photo_id: int, tag: str) -> None:
        """The user says this tag is wrong: remember that, so auto-tagging won't add it back."""
        with self.transaction():
            self.execute("INSERT OR REPLACE INTO tags(photo_id, tag, source, score, model) "
                         "VALUES (?, ?, 'rejected', NULL, NULL)", [photo_id, tag])

    def tags_of(self, photo_id: int) -> list[dict]:
        rows = self.query("SELECT tag, score, source FROM tags WHERE photo_id = ? AND source != 'rejected' "
                          "ORDER BY source = 'user' DESC, score DESC", [photo_id])
        return [{"tag": r[0], "score": r[1], "source": r[2]} for r in rows]

    def tag_counts(self) -> list[dict]:
        rows = self.query("SELECT tag, n FROM tag_counts ORDER BY n DESC, tag")
        return [{"tag": r[0], "count": r[1]} for r in rows]

    def has_tag(self, tag: str) -> bool:
        return bool(self.query("SELECT 1 FROM tags WHERE tag = ? AND source != 'rejected' LIMIT 1", [tag]))

    def tag_scores(self, tag: str, limit: int) -> dict[int, float]:
        """The photos with a tag and its score (1 for the user's own), best first; a tag the user
        removed from a photo is not there."""
        rows = self.query("SELECT photo_id, coalesce(score, 1.0) FROM tags WHERE tag = ? AND source != 'rejected' "
                          "ORDER BY coalesce(score, 1.0) DESC LIMIT ?", [tag, limit])
        return {r[0]: float(r[1]) for r in rows}

    def user_tagged(self, tag: str) -> list[int]:
        return [r[0] for r in self.query("SELECT photo_id FROM tags WHERE tag = ? AND source = 'user'", [tag])]

    def recent_photo_ids(self, limit: int) -> list[int]:
        """Indexed photos, newest first by the local date taken (as the timeline counts months),
        then those without a date, newest file first."""
        rows = self.query("SELECT id FROM photos WHERE status = 'indexed' ORDER BY taken_local IS NULL, "
                          "taken_local DESC, coalesce(taken, mtime_ns / 1e9) DESC LIMIT ?", [limit])
        return [r[0] for r in rows]

    def photos_with_tag(self, tag: str) -> list[tuple[int, float]]:
        return self.query("SELECT photo_id, coalesce(score, 1.0) FROM tags WHERE tag = ? AND source != 'rejected' "
                          "ORDER BY source = 'user' DESC, score DESC", [tag])

    def photos_to_tag(self, identity: str, model: str, also: tuple[str, ...] = ()) -> list[int]:
        """Photos with vectors of `model` whose auto tags were not computed under `identity` (or
        one of `also`; see Tagger.identity)."""
        done = (identity, *also)
        return [r[0] for r in self.query(
            "SELECT p.id FROM photos p JOIN vectors v ON v.photo_id = p.id AND v.model = ? AND v.kind = 'embedding' "
            f"WHERE p.status = 'indexed' AND coalesce(p.tagged_with, '') NOT IN ({','.join('?' * len(done))}) "
            "ORDER BY p.id", [model, *done])]

    def tagged_under(self, identity: str, prefix: bool = False) -> bool:
        """Whether a photo's tags were computed under `identity` (or, with `prefix`, under a mark
        that starts with it)."""
        if prefix:
            return bool(self.query("SELECT 1 FROM photos WHERE substr(tagged_with, 1, ?) = ? LIMIT 1",
                                   [len(identity), identity]))
        return bool(self.query("SELECT 1 FROM photos WHERE tagged_with = ? LIMIT 1", [identity]))

    def mark_tagged(self, ids: Iterable[int], identity: str) -> None:
        self.db.conn.executemany("UPDATE photos SET tagged_with = ? WHERE id = ?", [(identity, i) for i in ids])

    def rejected_tags_of(self, ids: Iterable[int]) -> dict[int, set[str]]:
        """The tags the user removed, per photo (photos without any left out)."""
        out: dict[int, set[str]] = {}
        for chunk, marks in self._id_chunks(ids):
            for pid, tag in self.query(f"SELECT photo_id, tag FROM tags WHERE source = 'rejected' AND photo_id IN "
                                       f"({marks})", chunk):
                out.setdefault(pid, set()).add(tag)
        return out

    # -- concepts ---------------------------------------------------------------------------

    def set_concept_example(self, concept: str, photo_id: int, positive: bool) -> None:
        with self.transaction():
            self.execute("INSERT OR REPLACE INTO concept_examples(concept, photo_id, positive) VALUES (?, ?, ?)",
                         [concept, photo_id, int(positive)])

    def concept_examples(self, concept: str) -> tuple[list[int], list[int]]:
        rows = self.query("SELECT photo_id, positive FROM concept_examples WHERE concept = ?", [concept])
        return [r[0] for r in rows if r[1]], [r[0] for r in rows if not r[1]]

    def concepts(self) -> list[str]:
        return [r[0] for r in self.query("SELECT DISTINCT concept FROM concept_examples ORDER BY concept")]
