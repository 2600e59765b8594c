"""The people feature's tables and every query it makes (the Store keeps the connection).

    faces          one row per face found: where it is (shares of the photo), its landmarks,
                   its 128-d vector (float32), and the person it belongs to (or none yet)
    photos.faces_hash  the content hash the face pass saw (a photo whose bytes change is looked
                   at again; one with no face is not)
    people         a person: an optional name given by the user, hidden or not
    face_notes     the user's word on a face, kept by photo content (hash + the face's centre):
                   "this is person P" or "this is not person P". Faces are deleted with their
                   photo (a folder removed), notes are not: when the same photo comes back, its
                   faces are found again and the notes put them back where the user said.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .faces import EMBEDDING_DIM, MAX_FACES, Face
from .fsutil import path_str
from .store import Store

__all__ = ["FaceRow", "FaceStore", "NOTE_IS", "NOTE_IS_NOT", "names_in_photos", "people_backup", "restore_people"]

# Face ids per photo: a face's id is photo id * FACE_SLOTS + its place (schema._m7_people).
FACE_SLOTS = 64
assert MAX_FACES <= FACE_SLOTS
NOTE_IS = "is"
NOTE_IS_NOT = "is_not"
ASSIGNED_AUTO = "auto"
ASSIGNED_USER = "user"
# A note belongs to the face of the same photo whose centre is this close (a share of the
# photo): the same detector on the same bytes gives the same box; the tolerance covers a
# change of analysis size between versions, and is well under the gap between two faces.
NOTE_MATCH = 0.04


@dataclass(frozen=True)
class FaceRow:
    id: int
    photo_id: int
    box: tuple[float, float, float, float]
    person_id: int | None

    @property
    def centre(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


def _face(r: tuple) -> FaceRow:
    return FaceRow(r[0], r[1], (r[2], r[3], r[4], r[5]), r[6])


_FACE_COLS = "f.id, f.photo_id, f.x0, f.y0, f.x1, f.y1, f.person_id"


# The people tables, made on first use (schema._m7_people says why). A face's id is its photo's
# id * 64 + its place in the photo (FACE_SLOTS): a photo's faces are a range of the table's own key,
# so no index on photo_id is needed, and a trigger, not a foreign key (which would scan the table
# per photo), deletes them with their photo. face_notes is user data, kept by photo content.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS people (
        id INTEGER PRIMARY KEY, name TEXT, hidden INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS faces (
        id INTEGER PRIMARY KEY, photo_id INTEGER NOT NULL,
        x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
        landmarks TEXT NOT NULL, score REAL NOT NULL, vec BLOB NOT NULL,
        person_id INTEGER REFERENCES people(id) ON DELETE SET NULL, assigned TEXT)""",
    "CREATE INDEX IF NOT EXISTS faces_person ON faces(person_id)",
    """CREATE TRIGGER IF NOT EXISTS faces_go_with_their_photo AFTER DELETE ON photos BEGIN
        DELETE FROM faces WHERE id BETWEEN OLD.id * 64 AND OLD.id * 64 + 63; END""",
    """CREATE TABLE IF NOT EXISTS face_notes (
        hash TEXT NOT NULL, x REAL NOT NULL, y REAL NOT NULL,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE, verdict TEXT NOT NULL,
        PRIMARY KEY (hash, x, y, person_id)) WITHOUT ROWID""",
)


def names_in_photos(store: Store, ids: list[int]) -> dict[int, list[str]]:
    """The named people in each of these photos (for export); none while people are unused."""
    if not store.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'faces'"):
        return {}
    out: dict[int, list[str]] = {}
    marks = ",".join("?" * len(ids))
    for pid, name in store.query(f"SELECT DISTINCT f.photo_id, p.name FROM faces f JOIN people p ON p.id = f.person_id "
                                 f"WHERE f.photo_id IN ({marks}) AND p.name IS NOT NULL ORDER BY p.name", ids):
        out.setdefault(pid, []).append(name)
    return out


def people_backup(query) -> dict:
    """The user's word on people, for the backup (health.py), read with `query(sql)` (the store's,
    or a damaged file's own connection): {"people": [[id, name, hidden]], "notes": [[hash, x, y,
    person id, verdict]]}. A person is kept if the user named or hid them or said something
    about one of their faces; the notes (written for every face of a named or hidden person, and
    for every face moved) are keyed by photo content, so they hold good in a rebuilt library."""
    tables = {r[0] for r in query("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not {"people", "face_notes"} <= tables:
        return {"people": [], "notes": []}
    people = query("SELECT id, name, hidden FROM people WHERE name IS NOT NULL OR hidden != 0 "
                   "OR id IN (SELECT person_id FROM face_notes) ORDER BY id")
    notes = query("SELECT hash, x, y, person_id, verdict FROM face_notes ORDER BY hash, x, y, person_id")
    return {"people": [list(r) for r in people], "notes": [list(r) for r in notes]}


def restore_people(store: Store, saved: dict) -> tuple[int, int]:
    """Put backed-up people (with their ids) and notes into a new library (repair). The face
    pass then finds the faces again and the notes put each where the user said: names, hidden
    people, moves and "not this person" all come back. Returns (people, notes) restored."""
    people = [p for p in saved.get("people", []) if isinstance(p, list) and len(p) == 3]
    notes = [n for n in saved.get("notes", []) if isinstance(n, list) and len(n) == 5]
    if not people:
        return 0, 0
    FaceStore(store)  # the tables, made on first use
    known = {int(p[0]) for p in people}
    restored = 0
    with store.transaction():
        for pid, name, hidden in people:
            store.execute("INSERT OR IGNORE INTO people (id, name, hidden, created) VALUES (?, ?, ?, ?)",
                          [int(pid), name, int(bool(hidden)), time.time()])
        for digest, x, y, pid, verdict in notes:
            if int(pid) in known and verdict in (NOTE_IS, NOTE_IS_NOT):
                restored += store.execute("INSERT OR IGNORE INTO face_notes (hash, x, y, person_id, verdict) "
                                          "VALUES (?, ?, ?, ?, ?)", [digest, x, y, int(pid), verdict]).rowcount
    return len(people), restored


class FaceStore:
    """Face queries over one library's Store (its connection, lock and transactions)."""

    def __init__(self, store: Store):
        self.store = store
        self.transaction = store.transaction
        if not getattr(store, "people_tables", False):  # once per open library
            with store.transaction():
                for statement in SCHEMA:
                    store.execute(statement)
            store.people_tables = True

    # -- the pass ---------------------------------------------------------------------------

    # Indexed photos the face pass has not seen with their current bytes.
    _TO_SCAN = "FROM photos WHERE status = 'indexed' AND faces_hash IS NOT hash"

    def photos_to_scan(self, limit: int | None = None) -> list[tuple[int, str]]:
        """(id, path) of indexed photos the face pass has not seen with their current bytes; at
        most `limit`, lowest ids first (a pass in chunks reads one chunk, not the library)."""
        rows = self.store.query(f"SELECT id, path {self._TO_SCAN} ORDER BY id LIMIT ?",
                                [-1 if limit is None else limit])
        return [(r[0], path_str(r[1])) for r in rows]

    def count_to_scan(self) -> int:
        return self.store.query(f"SELECT count(*) {self._TO_SCAN}")[0][0]

    def record_scan(self, photo_id: int, content_hash: str, faces: list[Face]) -> list[int]:
        """Replace the photo's faces by `faces` (unassigned); returns their new ids."""
        first = photo_id * FACE_SLOTS
        self.store.execute("DELETE FROM faces WHERE id BETWEEN ? AND ?", [first, first + FACE_SLOTS - 1])
        ids = []
        for slot, f in enumerate(faces[:FACE_SLOTS]):
            self.store.execute(
                "INSERT INTO faces (id, photo_id, x0, y0, x1, y1, landmarks, score, vec) VALUES (?,?,?,?,?,?,?,?,?)",
                [first + slot, photo_id, *f.box, json.dumps([[round(x, 5), round(y, 5)] for x, y in f.landmarks]),
                 f.score, np.asarray(f.embedding, np.float32).tobytes()])
            ids.append(first + slot)
        self.store.execute("UPDATE photos SET faces_hash = ? WHERE id = ?", [content_hash, photo_id])
        return ids

    def scanned_count(self) -> int:
        return self.store.query("SELECT COUNT(*) FROM photos WHERE faces_hash IS NOT NULL")[0][0]

    def vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every face: ids, person ids (-1: none) and vectors [N, 128]."""
        rows = self.store.query("SELECT id, COALESCE(person_id, -1), vec FROM faces ORDER BY id")
        ids = np.array([r[0] for r in rows], np.int64)
        people = np.array([r[1] for r in rows], np.int64)
        vecs = np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(-1, EMBEDDING_DIM).copy()
        return ids, people, vecs

    # -- faces ------------------------------------------------------------------------------

    def face(self, face_id: int) -> FaceRow | None:
        rows = self.store.query(f"SELECT {_FACE_COLS} FROM faces f WHERE f.id = ?", [face_id])
        return _face(rows[0]) if rows else None

    def faces_of_photo(self, photo_id: int) -> list[FaceRow]:
        return [_face(r) for r in self.store.query(
            f"SELECT {_FACE_COLS} FROM faces f WHERE f.id BETWEEN ? AND ? ORDER BY f.x0",
            [photo_id * FACE_SLOTS, photo_id * FACE_SLOTS + FACE_SLOTS - 1])]

    def faces_of_person(self, person_id: int) -> list[FaceRow]:
        return [_face(r) for r in self.store.query(
            f"SELECT {_FACE_COLS} FROM faces f WHERE f.person_id = ? ORDER BY f.id", [person_id])]

    def assign(self, face_ids: Iterable[int], person_id: int | None, by: str = ASSIGNED_AUTO) -> None:
        for fid in face_ids:
            self.store.execute("UPDATE faces SET person_id = ?, assigned = ? WHERE id = ?",
                               [person_id, by if person_id is not None else None, int(fid)])

    def photo_hash(self, photo_id: int) -> str | None:
        rows = self.store.query("SELECT faces_hash FROM photos WHERE id = ?", [photo_id])
        return rows[0][0] if rows else None

    # -- people -----------------------------------------------------------------------------

    def new_person(self) -> int:
        return self.store.execute("INSERT INTO people (created) VALUES (?)", [time.time()]).lastrowid

    def person(self, person_id: int) -> dict | None:
        rows = self.store.query("SELECT id, name, hidden FROM people WHERE id = ?", [person_id])
        return {"id": rows[0][0], "name": rows[0][1], "hidden": bool(rows[0][2])} if rows else None

    def people(self) -> list[dict]:
        """Every person with faces: id, name, hidden, face and photo counts, most photos first."""
        rows = self.store.query(
            "SELECT p.id, p.name, p.hidden, COUNT(f.id), COUNT(DISTINCT f.photo_id) FROM people p "
            "JOIN faces f ON f.person_id = p.id GROUP BY p.id ORDER BY COUNT(DISTINCT f.photo_id) DESC, p.id")
        return [{"id": r[0], "name": r[1], "hidden": bool(r[2]), "faces": r[3], "photos": r[4]} for r in rows]

    def person_ids(self) -> set[int]:
        return {r[0] for r in self.store.query("SELECT id FROM people")}

    def named_people(self) -> list[tuple[int, str]]:
        return [(r[0], r[1]) for r in self.store.query("SELECT id, name FROM people WHERE name IS NOT NULL")]

    def photos_of_person(self, person_id: int) -> list[int]:
        return [r[0] for r in self.store.query(
            "SELECT DISTINCT photo_id FROM faces WHERE person_id = ? ORDER BY photo_id", [person_id])]

    def set_person(self, person_id: int, **values) -> None:
        for key, value in values.items():
            if key not in ("name", "hidden"):
                raise ValueError(key)
            self.store.execute(f"UPDATE people SET {key} = ? WHERE id = ?", [value, person_id])

    def move_person(self, source: int, target: int) -> None:
        """Every face and note of `source` goes to `target`; `source` is deleted."""
        self.store.execute("UPDATE faces SET person_id = ? WHERE person_id = ?", [target, source])
        self.store.execute("UPDATE OR IGNORE face_notes SET person_id = ? WHERE person_id = ?", [target, source])
        self.store.execute("DELETE FROM people WHERE id = ?", [source])

    def drop_empty_people(self) -> int:
        """People left without a face who carry nothing the user gave them (a name, hidden, or a
        note), e.g. after a face moved away: nothing to keep."""
        return self.store.execute(
            "DELETE FROM people WHERE name IS NULL AND hidden = 0 AND id NOT IN "
            "(SELECT DISTINCT person_id FROM faces WHERE person_id IS NOT NULL) AND id NOT IN "
            "(SELECT DISTINCT person_id FROM face_notes)").rowcount

    # -- notes ------------------------------------------------------------------------------

    def add_note(self, content_hash: str, centre: tuple[float, float], person_id: int, verdict: str) -> None:
        x, y = (round(c, 4) for c in centre)
        self.store.execute("DELETE FROM face_notes WHERE hash = ? AND abs(x - ?) < ? AND abs(y - ?) < ? "
                           "AND person_id = ?", [content_hash, x, NOTE_MATCH, y, NOTE_MATCH, person_id])
        self.store.execute("INSERT INTO face_notes (hash, x, y, person_id, verdict) VALUES (?,?,?,?,?)",
                           [content_hash, x, y, person_id, verdict])

    def notes_for(self, content_hash: str, centre: tuple[float, float]) -> list[tuple[int, str]]:
        """(person id, verdict) the user said about the face at `centre` of these bytes."""
        x, y = centre
        return [(r[0], r[1]) for r in self.store.query(
            "SELECT person_id, verdict FROM face_notes WHERE hash = ? AND abs(x - ?) < ? AND abs(y - ?) < ?",
            [content_hash, x, NOTE_MATCH, y, NOTE_MATCH])]

    def rejected(self, face_ids: Iterable[int]) -> dict[int, set[int]]:
        """For each face, the people the user said it is not."""
        out: dict[int, set[int]] = {}
        for fid in face_ids:
            f = self.face(fid)
            h = self.photo_hash(f.photo_id) if f else None
            if h is not None:
                out[fid] = {p for p, v in self.notes_for(h, f.centre) if v == NOTE_IS_NOT}
        return out

    # -- privacy ----------------------------------------------------------------------------

    def delete_everything(self) -> None:
        """All face data: faces, the record of which photos were looked at, people, notes."""
        for table in ("faces", "face_notes", "people"):
            self.store.execute(f"DELETE FROM {table}")
        self.store.execute("UPDATE photos SET faces_hash = NULL WHERE faces_hash IS NOT NULL")

    def counts(self) -> dict:
        q = self.store.query
        return {"faces": q("SELECT COUNT(*) FROM faces")[0][0], "people": q("SELECT COUNT(*) FROM people")[0][0],
                "notes": q("SELECT COUNT(*) FROM face_notes")[0][0],
                "scanned": q("SELECT COUNT(*) FROM photos WHERE faces_hash IS NOT NULL")[0][0]}
