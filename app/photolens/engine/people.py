"""Faces grouped into people as photos arrive, and what the user says about them.

Clustering is incremental: a new face joins the person of its nearest clustered face when that
face is closer than SAME_PERSON_DISTANCE; otherwise, if an unclustered face is that close, the
two start a new person; otherwise it waits, unclustered, for a second face like it. When a face
joins or starts a person, the unclustered faces within the same distance join it too (they may
have arrived first). Nothing is ever re-clustered as a whole, and the user's word wins: a face
the user put with a person stays there, one the user took away never goes back (face_notes).
"""
from __future__ import annotations

import re

import numpy as np

from .errors import QueryError
from .faces import EMBEDDING_DIM, Face
from .facestore import ASSIGNED_USER, NOTE_IS, NOTE_IS_NOT, FaceStore
from .records import Person

__all__ = ["SAME_PERSON_DISTANCE", "FaceIndex", "People", "split_person_names"]

# Euclidean distance between dlib face vectors under which two faces are the same person.
# Chosen on faces-dev (bench/faces_threshold.py: this rule replayed on its 342 faces, 303 of them
# labelled, in three shuffled arrival orders; pairwise precision / recall of "same person"):
# 0.46 -> 1.00 / 0.72; 0.48 -> 1.00 / 0.82; 0.50 -> 0.97-1.00 / 0.91; 0.52 -> 0.92-0.94 / 0.95;
# 0.55 -> 0.78-0.84 / 0.98; 0.60 (dlib's own suggestion) -> 0.22-0.40: it merges different
# people. 0.50 is the largest value that keeps precision at or above 0.95 in every order.
SAME_PERSON_DISTANCE = 0.50
_GROW = 1024  # rows added to the in-memory index at a time (it doubles past this)


class FaceIndex:
    """Every face's vector and person in memory for one face pass: loaded once, then kept up to
    date as faces arrive, so a photo costs one matrix-vector product, not a database read."""

    def __init__(self, ids: np.ndarray, people: np.ndarray, vecs: np.ndarray):
        n = len(ids)
        cap = max(_GROW, 2 * n)
        self.n = n
        self.ids = np.zeros(cap, np.int64)
        self.people = np.full(cap, -1, np.int64)
        self.vecs = np.zeros((cap, EMBEDDING_DIM), np.float32)
        self.sq = np.zeros(cap, np.float32)
        self.ids[:n], self.people[:n], self.vecs[:n] = ids, people, vecs
        self.sq[:n] = (vecs * vecs).sum(1)
        self.row = {int(i): k for k, i in enumerate(ids)}

    @classmethod
    def load(cls, faces: FaceStore) -> "FaceIndex":
        return cls(*faces.vectors())

    def add(self, face_id: int, vec: np.ndarray) -> None:
        if self.n == len(self.ids):
            cap = 2 * len(self.ids)
            for name in ("ids", "people", "sq"):
                arr = getattr(self, name)
                grown = np.full(cap, -1 if name == "people" else 0, arr.dtype)
                grown[: self.n] = arr[: self.n]
                setattr(self, name, grown)
            vecs = np.zeros((cap, EMBEDDING_DIM), np.float32)
            vecs[: self.n] = self.vecs[: self.n]
            self.vecs = vecs
        k = self.n
        self.ids[k], self.people[k], self.vecs[k] = face_id, -1, vec
        self.sq[k] = float(vec @ vec)
        self.row[face_id] = k
        self.n += 1

    def set_person(self, face_ids, person_id: int) -> None:
        for fid in face_ids:
            k = self.row.get(int(fid))
            if k is not None:
                self.people[k] = person_id

    def distances(self, vec: np.ndarray) -> np.ndarray:
        n = self.n
        d2 = self.sq[:n] - 2.0 * (self.vecs[:n] @ vec) + float(vec @ vec)
        return np.sqrt(np.maximum(d2, 0.0))


class People:
    """Clustering and the user's corrections over one library's FaceStore."""

    def __init__(self, faces: FaceStore, threshold: float = SAME_PERSON_DISTANCE):
        self.faces = faces
        self.threshold = threshold

    # -- faces arriving ---------------------------------------------------------------------

    def add_photo(self, photo_id: int, content_hash: str, found: list[Face], index: FaceIndex) -> list[int]:
        """Store a photo's faces (replacing what it had) and give each a person where one fits."""
        with self.faces.transaction():
            ids = self.faces.record_scan(photo_id, content_hash, found)
            people_known = self.faces.person_ids()
            for fid, face in zip(ids, found):
                index.add(fid, face.embedding)
            for fid, face in zip(ids, found):
                centre = ((face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2)
                notes = self.faces.notes_for(content_hash, centre)
                told = [p for p, v in notes if v == NOTE_IS and p in people_known]
                if told:  # the user said who this is (before the photo left the library)
                    self.faces.assign([fid], told[0], ASSIGNED_USER)
                    index.set_person([fid], told[0])
                    continue
                self._cluster(fid, face.embedding, {p for p, v in notes if v == NOTE_IS_NOT}, index, set(ids))
        return ids

    def _cluster(self, fid: int, vec: np.ndarray, rejected: set[int], index: FaceIndex, same_photo: set[int]) -> None:
        d = index.distances(vec)
        n = index.n
        people = index.people[:n]
        # Two faces of one photo are two people: a face never joins through its neighbour.
        others = ~np.isin(index.ids[:n], list(same_photo))
        clustered = (people >= 0) & others
        if rejected:
            clustered &= ~np.isin(people, list(rejected))
        person = None
        if clustered.any():
            k = int(np.argmin(np.where(clustered, d, np.inf)))
            if d[k] < self.threshold:
                person = int(people[k])
        if person is None:
            alone = (people < 0) & others
            if alone.any():
                k = int(np.argmin(np.where(alone, d, np.inf)))
                if d[k] < self.threshold:
                    person = self.faces.new_person()
        if person is None:
            return
        self.faces.assign([fid], person)
        index.set_person([fid], person)
        # Unclustered faces this close join too; not those the user said are someone else.
        near = np.flatnonzero((people < 0) & others & (d < self.threshold))
        near_ids = [int(index.ids[k]) for k in near if int(index.ids[k]) != fid]
        refused = self.faces.rejected(near_ids)
        join = [i for i in near_ids if person not in refused.get(i, set())]
        self.faces.assign(join, person)
        index.set_person(join, person)

    # -- what the user says -----------------------------------------------------------------

    def person(self, person_id: int) -> Person:
        for p in self.list(include_hidden=True):
            if p.id == person_id:
                return p
        row = self.faces.person(person_id)
        if row is None:
            raise QueryError(f"there is no person {person_id}")
        return Person(row["id"], row["name"], 0, 0, row["hidden"])

    def list(self, include_hidden: bool = False) -> list[Person]:
        return [Person(p["id"], p["name"], p["faces"], p["photos"], p["hidden"]) for p in self.faces.people()
                if include_hidden or not p["hidden"]]

    def name(self, person_id: int, name: str) -> str:
        clean = " ".join(str(name).split())
        if not clean:
            raise QueryError("a name needs at least one letter")
        self.person(person_id)
        with self.faces.transaction():
            self.faces.set_person(person_id, name=clean)
            self._remember(person_id)
        return clean

    def hide(self, person_id: int, hidden: bool = True) -> None:
        self.person(person_id)
        with self.faces.transaction():
            self.faces.set_person(person_id, hidden=int(bool(hidden)))
            self._remember(person_id)

    def merge(self, keep: int, other: int) -> None:
        """`other`'s faces join `keep`; a name only `other` had is kept."""
        if keep == other:
            raise QueryError("a person cannot be merged with themselves")
        a, b = self.person(keep), self.person(other)
        with self.faces.transaction():
            self.faces.move_person(other, keep)
            if a.name is None and b.name is not None:
                self.faces.set_person(keep, name=b.name)
            self._remember(keep)

    def move_face(self, face_id: int, person_id: int | None) -> int | None:
        """Put a face with another person (None: 'not this person', it leaves its person and
        stays unclustered). Either way it never goes back to the person it left. Returns the
        person it is with now."""
        face = self.faces.face(face_id)
        if face is None:
            raise QueryError(f"there is no face {face_id}")
        if person_id is not None:
            self.person(person_id)
        content_hash = self.faces.photo_hash(face.photo_id)
        with self.faces.transaction():
            if face.person_id is not None and face.person_id != person_id:
                self.faces.add_note(content_hash, face.centre, face.person_id, NOTE_IS_NOT)
            if person_id is not None:
                self.faces.add_note(content_hash, face.centre, person_id, NOTE_IS)
            self.faces.assign([face_id], person_id, ASSIGNED_USER)
            self.faces.drop_empty_people()
        return person_id

    def new_person_from(self, face_id: int) -> int:
        """The face starts a person of its own (it was grouped with the wrong one)."""
        with self.faces.transaction():
            pid = self.faces.new_person()
            self.move_face(face_id, pid)
        return pid

    def _remember(self, person_id: int) -> None:
        """The person carries user data now: note each of their faces by photo content, so they
        come back to this person if their photos leave the library and return."""
        for f in self.faces.faces_of_person(person_id):
            h = self.faces.photo_hash(f.photo_id)
            if h is not None:
                self.faces.add_note(h, f.centre, person_id, NOTE_IS)

    # -- search -----------------------------------------------------------------------------

    def photos_with_all(self, names: list[str]) -> list[int]:
        """Photos in which every named person appears (a name several people carry: any of them)."""
        named = self.faces.named_people()
        result: set[int] | None = None
        for name in names:
            key = name.casefold()
            photos: set[int] = set()
            for pid, pname in named:
                if pname.casefold() == key:
                    photos.update(self.faces.photos_of_person(pid))
            result = photos if result is None else result & photos
        return sorted(result or ())


_PERSON_TERM = re.compile(r'person:(?:"([^"]+)"|(\S+))', re.IGNORECASE)


def split_person_names(text: str, names: list[str]) -> tuple[list[str], str]:
    """The people a query names, and the rest of it. `person:Anna` or `person:"Anna Lee"` names
    anyone; otherwise a known name standing as whole words ("Anna beach", "George W Bush")
    is a person, longest names first so "Anna Lee" is not read as "Anna"."""
    found: list[str] = []

    def take(m: re.Match) -> str:
        found.append((m.group(1) or m.group(2)).strip())
        return " "

    rest = _PERSON_TERM.sub(take, text)
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in name.split()) + r"(?!\w)", re.IGNORECASE)
        if pattern.search(rest):
            found.append(name)
            rest = pattern.sub(" ", rest)
    seen: set[str] = set()
    unique = [n for n in found if not (n.casefold() in seen or seen.add(n.casefold()))]
    return unique, " ".join(rest.split())
