"""The Catalog's people methods: faces found, people listed, named, merged and searched for.

A mixin so that Catalog stays the one API the app and the CLI use, while this concept lives in
its own module. It needs the Catalog's `store`, `settings`, `dir`, `searcher` and `_lock`.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from .facepass import find_faces
from .faces import FaceFinder
from .facestore import FaceStore
from .jobs import Control, Progress
from .people import People, split_person_names
from .records import FaceInfo, Person
from .search import Result, results_for

__all__ = ["PeopleCatalog"]


class PeopleCatalog:
    _face_finder: FaceFinder | None = None

    @property
    def _faces(self) -> FaceStore:
        return FaceStore(self.store)

    @property
    def _people(self) -> People:
        return People(self._faces)

    @property
    def face_recognition(self) -> bool:
        return self.settings.face_recognition

    def set_face_recognition(self, on: bool) -> None:
        """Face recognition on or off. Off deletes every face, person, name and correction
        at once (privacy); on again finds faces afresh on the next face pass."""
        with self._lock:
            self.settings.face_recognition = bool(on)
            self.settings.save(self.dir)
            if not on:
                faces = self._faces
                with faces.transaction():
                    faces.delete_everything()
                if self._face_finder is not None:
                    self._face_finder.release()

    def find_faces(self, progress: Callable[[Progress], None] | None = None, control: Control | None = None,
                   limit: int | None = None) -> dict:
        """The face pass over photos that are searchable but not yet looked at for faces (or
        changed since). At most `limit` photos per call; "remaining" says how many are left."""
        if not self.settings.face_recognition:
            return {"photos": 0, "faces": 0, "failed": 0, "remaining": 0}
        with self._lock:
            if self._face_finder is None:
                self._face_finder = FaceFinder()
        result = find_faces(self._faces, self._face_finder, self._people, progress, control, limit)
        looked_at = result.pop("looked_at")
        if result["faces"]:  # smart albums that name people judge the photos whose faces are now known (issue 21)
            self.albums.refresh_smart_albums(looked_at, people_only=True)
        return result

    def faces_pending(self) -> int:
        """How many searchable photos the face pass has still to look at (0 with it off)."""
        return self._faces.count_to_scan() if self.settings.face_recognition else 0

    def face_pass_of_full_run(self, progress, control, scopes, tag_details: bool, faces: bool | None) -> int:
        """index_all's face pass: on full runs (no scopes), by default when it adds tag details."""
        faces = tag_details if faces is None else faces
        return self.find_faces(progress, control)["faces"] if scopes is None and faces else 0

    def people(self, include_hidden: bool = False) -> list[Person]:
        """People with their face and photo counts, most photos first."""
        return self._people.list(include_hidden)

    def person_photos(self, person_id: int) -> list[Result]:
        return results_for(self.store, [(pid, 1.0) for pid in self._faces.photos_of_person(person_id)])

    def name_person(self, person_id: int, name: str) -> str:
        return self._people.name(person_id, name)

    def merge_people(self, keep: int, other: int) -> None:
        self._people.merge(keep, other)

    def hide_person(self, person_id: int, hidden: bool = True) -> None:
        self._people.hide(person_id, hidden)

    def move_face(self, face_id: int, person_id: int | None) -> int | None:
        """Put a face with another person, or (None) say it is not the person it is with."""
        return self._people.move_face(face_id, person_id)

    def new_person_from_face(self, face_id: int, name: str | None = None) -> int:
        """The face starts a person of its own (it was grouped with the wrong one, or with
        none), named `name` when given; it never goes back to the person it left. Returns the
        new person's id."""
        with self.store.transaction():
            person_id = self._people.new_person_from(face_id)
            if name is not None:
                self._people.name(person_id, name)
        return person_id

    def faces_in_photo(self, photo_id: int) -> list[FaceInfo]:
        names = {p.id: p.name for p in self._people.list(include_hidden=True)}
        return [FaceInfo(f.id, f.photo_id, f.box, f.person_id, names.get(f.person_id))
                for f in self._faces.faces_of_photo(photo_id)]

    def person_face(self, person_id: int) -> FaceInfo | None:
        """The face to show for a person (their largest)."""
        faces = self._faces.faces_of_person(person_id)
        if not faces:
            return None
        f = max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        return FaceInfo(f.id, f.photo_id, f.box, f.person_id, self._people.person(person_id).name)

    def face_counts(self) -> dict:
        return self._faces.counts()

    # -- search -----------------------------------------------------------------------------

    def split_people(self, query, people: list[str] | tuple[str, ...] = ()) -> tuple[list[str], str]:
        """The people a query names (plus `people`), and the words left to search for."""
        people = list(people)
        if isinstance(query, list):  # shell arguments: `person:Anna Lee` arrives as one argument
            people += [a[len("person:"):].strip() for a in query if a.lower().startswith("person:") and " " in a]
            query = [a for a in query if not (a.lower().startswith("person:") and " " in a)]
        text = query.source if hasattr(query, "source") else " ".join(query) if isinstance(query, list) else query
        if not self.settings.face_recognition:
            return people, text
        names, rest = split_person_names(text or "", [n for _, n in self._faces.named_people()])
        return people + [n for n in names if n.casefold() not in {p.casefold() for p in people}], rest

    def search_people(self, names: list[str], rest: str, k: int, filters=None) -> list[Result]:
        """Photos with every named person, within the other filters (given, or in the rest of
        the query: see understand()); ranked by the rest's words when there are any, else
        newest first."""
        ids = self._people.photos_with_all(names)
        understood = self.understand(rest, filters) if rest.strip() else None
        allowed = self.when_where.candidates(understood.filters if understood else filters)
        if allowed is not None:
            keep = set(allowed.tolist())
            ids = [i for i in ids if i in keep]
        text = understood.text if understood is not None else None
        if not text or not ids:
            dates = self.store.taken_dates(ids)
            ids.sort(key=lambda i: -dates.get(i, 0))
            return results_for(self.store, [(i, 1.0) for i in ids[:k]])  # all good: who was asked for
        cut = self.match_threshold
        return [replace(r, good=r.score >= cut) for r in self.searcher.search(text, k, np.asarray(ids, np.int64))]
