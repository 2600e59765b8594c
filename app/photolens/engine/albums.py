"""Albums: photos the user gathers, and smart albums that a query keeps filling.

An album holds photos by content (hash), like other user data: a photo moved or renamed, its
folder removed and added back, the library re-indexed, and it is still in its albums. A photo
whose content is no longer in the library is remembered, not shown, and comes back with it.

A smart album has a query (the search syntax: "dog on beach", "beach -people"). It takes in the
photos that are good matches (score at or above the search's relevance cut-off), now and as new
photos are indexed (`refresh_smart_albums`, called by the Catalog after each indexing batch).
The user can pin a photo (in, whatever the query says) or exclude it (out, whatever the query
says); removing a photo from a smart album excludes it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy as np

from .errors import PhotolensError
from .fsutil import printable
from .library import hash_file
from .query import parse_query
from .search import Searcher
from .store import MAX_PARAMS, Store

__all__ = ["Album", "AlbumError", "AlbumPhoto", "AlbumContents", "Albums",
           "MEMBER", "MATCHED", "PINNED", "EXCLUDED"]

MEMBER = "member"  # put in by the user
MATCHED = "matched"  # taken in by the smart album's query
PINNED = "pinned"  # in, whatever the query says
EXCLUDED = "excluded"  # out, whatever the query says
SHOWN = (MEMBER, MATCHED, PINNED)


class AlbumError(PhotolensError):
    """An album operation that cannot be done (no such album, a name taken, a photo unknown)."""

    def __init__(self, message: str, name: str | None = None):
        super().__init__(message)
        self.name = name


@dataclass(frozen=True)
class Album:
    name: str
    query: str | None  # None: a plain album
    count: int  # photos shown (in the library now)

    @property
    def smart(self) -> bool:
        return self.query is not None

    def to_json(self) -> dict:
        return {"name": self.name, "query": self.query, "count": self.count}


@dataclass(frozen=True)
class AlbumPhoto:
    id: int
    path: str
    state: str  # MEMBER, MATCHED or PINNED (EXCLUDED in AlbumContents.excluded)
    score: float | None  # a smart album's match score when it took the photo in

    def to_json(self) -> dict:
        return {"path": printable(self.path), "id": self.id, "state": self.state,
                "score": None if self.score is None else round(self.score, 4)}


@dataclass(frozen=True)
class AlbumContents:
    name: str
    query: str | None
    photos: tuple[AlbumPhoto, ...]
    excluded: tuple[AlbumPhoto, ...]  # excluded photos still in the library (to undo)

    def to_json(self) -> dict:
        return {"name": self.name, "query": self.query, "photos": [p.to_json() for p in self.photos],
                "excluded": [p.to_json() for p in self.excluded]}


class Albums:
    """The library's albums. `searcher` and `threshold` are called when a query has to be
    scored (the model loads lazily): the searcher embeds the query, the threshold is the
    search's relevance cut-off for the current model."""

    def __init__(self, store: Store, searcher: Callable[[], Searcher], threshold: Callable[[], float]):
        self.store = store
        self._searcher = searcher
        self._threshold = threshold

    # -- albums -----------------------------------------------------------------------------

    def list(self) -> list[Album]:
        rows = self.store.query("SELECT id, name, query FROM albums ORDER BY name COLLATE NOCASE")
        return [Album(name, query, self._count(aid)) for aid, name, query in rows]

    def create(self, name: str, query: str | None = None) -> Album:
        """A new album (a smart one with `query`); an existing one of that name is an error."""
        name = _clean(name)
        if self._id(name) is not None:
            raise AlbumError(f"there is already an album called “{name}”", name)
        with self.store.transaction():
            self.store.execute("INSERT INTO albums(name, query, created) VALUES (?, ?, ?)", [name, None, time.time()])
            if query:
                self.set_query(name, query)
        return self._album(name)

    def delete(self, name: str) -> None:
        with self.store.transaction():
            self.store.execute("DELETE FROM albums WHERE id = ?", [self._require(name)])

    def rename(self, name: str, new_name: str) -> Album:
        new_name = _clean(new_name)
        aid = self._require(name)
        other = self._id(new_name)
        if other is not None and other != aid:
            raise AlbumError(f"there is already an album called “{new_name}”", new_name)
        with self.store.transaction():
            self.store.execute("UPDATE albums SET name = ? WHERE id = ?", [new_name, aid])
        return self._album(new_name)

    def get(self, name: str) -> AlbumContents:
        aid = self._require(name)
        query = self.store.query("SELECT query FROM albums WHERE id = ?", [aid])[0][0]
        # One photo per content: the first indexed of exact copies stands for them.
        rows = self.store.query(
            """SELECT min(p.id), ap.state, ap.score FROM album_photos ap JOIN photos p ON p.hash = ap.hash
               WHERE ap.album_id = ? GROUP BY ap.hash
               ORDER BY ap.state = 'pinned' DESC, ap.score DESC, ap.added, min(p.id)""", [aid])
        paths = self.store.photos_by_ids([r[0] for r in rows])
        shown, excluded = [], []
        for pid, state, score in rows:
            if pid in paths:
                (excluded if state == EXCLUDED else shown).append(AlbumPhoto(pid, paths[pid].path, state, score))
        return AlbumContents(self._name(aid), query, tuple(shown), tuple(excluded))

    def albums_of(self, photo_id: int) -> list[str]:
        """The albums a photo is shown in."""
        marks = ",".join("?" * len(SHOWN))
        return [r[0] for r in self.store.query(
            f"""SELECT a.name FROM albums a JOIN album_photos ap ON ap.album_id = a.id
                JOIN photos p ON p.hash = ap.hash WHERE p.id = ? AND ap.state IN ({marks})
                ORDER BY a.name COLLATE NOCASE""", [photo_id, *SHOWN])]

    # -- photos -----------------------------------------------------------------------------

    def add(self, name: str, photo_ids: Iterable[int], create: bool = True) -> int:
        """Put photos in an album (made if missing, unless `create` is off): how many were not
        in it yet. In a smart album this pins them."""
        name = _clean(name)
        if self._id(name) is None:
            if not create:
                raise AlbumError(f"no album called “{name}”", name)
            self.create(name)
        aid = self._require(name)
        state = PINNED if self._query(aid) else MEMBER
        return self._set(aid, self._hashes(photo_ids), state, replace_states=(EXCLUDED, MATCHED))

    def remove(self, name: str, photo_ids: Iterable[int]) -> int:
        """Take photos out: from a plain album they go; a smart album excludes them (so its
        query does not bring them back). How many were shown before."""
        aid = self._require(name)
        hashes = self._hashes(photo_ids)
        shown = self._states(aid, hashes)
        n = sum(1 for h in hashes if shown.get(h) in SHOWN)
        with self.store.transaction():
            if self._query(aid):
                self._set(aid, hashes, EXCLUDED, replace_states=SHOWN)
            else:
                self._delete(aid, hashes)
        return n

    def pin(self, name: str, photo_ids: Iterable[int]) -> int:
        aid = self._require(name)
        return self._set(aid, self._hashes(photo_ids), PINNED, replace_states=(EXCLUDED, MATCHED, MEMBER))

    def exclude(self, name: str, photo_ids: Iterable[int]) -> int:
        aid = self._require(name)
        return self._set(aid, self._hashes(photo_ids), EXCLUDED, replace_states=SHOWN)

    def carry_over(self, from_hashes: Iterable[str], to_id: int) -> None:
        """Photos that left the library (duplicates moved to the trash), given by content, hand
        their album places to the copy that stays: it joins every album they were shown in."""
        target = self._hashes([to_id])
        for h in from_hashes:
            for aid, state in self.store.query("SELECT album_id, state FROM album_photos WHERE hash = ?", [h]):
                if state in SHOWN:
                    self._set(aid, target, PINNED if state == MATCHED else state, replace_states=(MATCHED,))

    # -- smart albums -----------------------------------------------------------------------

    def set_query(self, name: str, query: str | None) -> AlbumContents:
        """Make an album smart (or plain again, with None): the photos its old query took in go,
        the good matches of the new one come in; pins, exclusions and members stay."""
        aid = self._require(name)
        query = (query or "").strip() or None
        with self.store.transaction():
            self.store.execute("UPDATE albums SET query = ? WHERE id = ?", [query, aid])
            self.store.execute("DELETE FROM album_photos WHERE album_id = ? AND state = ?", [aid, MATCHED])
            if query:
                ids, mat = self.store.vectors(self._searcher().model)
                self._take_in(aid, query, ids, mat)
        return self.get(name)

    def refresh_smart_albums(self, new_ids: Iterable[int]) -> dict[str, list[int]]:
        """Newly indexed photos that match a smart album go in: {album name: [photo ids]} of
        those taken in now (albums that took none left out)."""
        new_ids = list(new_ids)
        smart = self.store.query("SELECT id, name, query FROM albums WHERE query IS NOT NULL ORDER BY name")
        if not new_ids or not smart:
            return {}
        searcher = self._searcher()
        vecs = self.store.vectors_for(new_ids, searcher.model, "embedding")
        if not vecs:
            return {}
        ids = np.array(sorted(vecs), np.int64)
        mat = np.stack([vecs[i] for i in ids.tolist()])
        out = {}
        with self.store.transaction():
            for aid, name, query in smart:
                taken = self._take_in(aid, query, ids, mat)
                if taken:
                    out[name] = taken
        return out

    def _take_in(self, aid: int, query: str, ids: np.ndarray, mat: np.ndarray) -> list[int]:
        """Photos of (ids, embeddings) that are good matches of `query` join album `aid` unless
        it holds their content already: the ids taken in."""
        if len(ids) == 0:
            return []
        vec = self._searcher().query_vector(parse_query(query))
        scores = mat @ vec
        good = scores >= self._threshold()
        if not good.any():
            return []
        hashes = self._hash_map(ids[good].tolist())
        taken, now = [], time.time()
        for pid, score in zip(ids[good].tolist(), scores[good].tolist()):
            h = hashes.get(pid)
            if h is None:
                continue
            cur = self.store.execute("INSERT OR IGNORE INTO album_photos(album_id, hash, state, added, score) "
                                     "VALUES (?, ?, ?, ?, ?)", [aid, h, MATCHED, now, float(score)])
            if cur.rowcount:
                taken.append(pid)
        return taken

    # -- plumbing ---------------------------------------------------------------------------

    def _set(self, aid: int, hashes: list[str], state: str, replace_states: tuple[str, ...]) -> int:
        """Give `hashes` `state` in album `aid` where they are absent or in one of
        `replace_states`: how many changed."""
        before = self._states(aid, hashes)
        todo = [h for h in hashes if h not in before or before[h] in replace_states]
        with self.store.transaction():
            now = time.time()
            for h in todo:
                self.store.execute("INSERT OR REPLACE INTO album_photos(album_id, hash, state, added, score) "
                                   "VALUES (?, ?, ?, ?, NULL)", [aid, h, state, now])
        return sum(1 for h in todo if before.get(h) != state)

    def _delete(self, aid: int, hashes: list[str]) -> None:
        for start in range(0, len(hashes), MAX_PARAMS):
            chunk = hashes[start:start + MAX_PARAMS]
            marks = ",".join("?" * len(chunk))
            self.store.execute(f"DELETE FROM album_photos WHERE album_id = ? AND hash IN ({marks})", [aid, *chunk])

    def _states(self, aid: int, hashes: list[str]) -> dict[str, str]:
        out = {}
        for start in range(0, len(hashes), MAX_PARAMS):
            chunk = hashes[start:start + MAX_PARAMS]
            out.update(self.store.query(f"SELECT hash, state FROM album_photos WHERE album_id = ? AND hash IN "
                                        f"({','.join('?' * len(chunk))})", [aid, *chunk]))
        return out

    def _hash_map(self, photo_ids: list[int]) -> dict[int, str]:
        """Photo id -> content hash; a photo not indexed yet is hashed from its file."""
        rows = self.store.photos_by_ids(photo_ids)
        out = {}
        for pid, row in rows.items():
            h = row.hash or hash_file(row.path)
            if h is not None:
                out[pid] = h
        return out

    def _hashes(self, photo_ids: Iterable[int]) -> list[str]:
        photo_ids = list(photo_ids)
        found = self._hash_map(photo_ids)
        missing = [p for p in photo_ids if p not in found]
        if missing:
            raise AlbumError(f"{len(missing)} of these photos are not in the library or cannot be read")
        return list(dict.fromkeys(found[p] for p in photo_ids))

    def _count(self, aid: int) -> int:
        marks = ",".join("?" * len(SHOWN))
        return self.store.query(f"""SELECT count(*) FROM album_photos ap WHERE ap.album_id = ? AND ap.state IN ({marks})
                                    AND EXISTS (SELECT 1 FROM photos p WHERE p.hash = ap.hash)""", [aid, *SHOWN])[0][0]

    def _id(self, name: str) -> int | None:
        rows = self.store.query("SELECT id FROM albums WHERE name = ?", [_clean(name)])
        return rows[0][0] if rows else None

    def _require(self, name: str) -> int:
        aid = self._id(name)
        if aid is None:
            raise AlbumError(f"no album called “{_clean(name)}”", name)
        return aid

    def _name(self, aid: int) -> str:
        return self.store.query("SELECT name FROM albums WHERE id = ?", [aid])[0][0]

    def _query(self, aid: int) -> str | None:
        return self.store.query("SELECT query FROM albums WHERE id = ?", [aid])[0][0]

    def _album(self, name: str) -> Album:
        aid = self._require(name)
        return Album(self._name(aid), self._query(aid), self._count(aid))


def _clean(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise AlbumError("an album needs a name")
    return name
