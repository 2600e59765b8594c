"""Albums: photos the user gathers, and smart albums that a query keeps filling.

An album holds photos by content (hash), like other user data: a photo moved or renamed, its
folder removed and added back, the library re-indexed, and it is still in its albums. A photo
whose content is no longer in the library is remembered, not shown, and comes back with it.

A smart album has a rule (smart.py): a query in the search syntax, filters written in it
("beach place:Paris", "beach Paris 2019") and filters given beside it (dates, place, camera,
folder, people), read and matched exactly as `photolens search` does. It takes in the photos
that are good matches (score at or above the search's relevance cut-off; with filters only,
every photo that passes them), now and as new photos are indexed (`refresh_smart_albums`,
called by the Catalog after each indexing run, once dates, places and faces are known), and
again when the active model changes (`recompute_smart_albums`). The user can pin a photo (in,
whatever the rule says) or exclude it (out, whatever the rule says); removing a photo from a
smart album excludes it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from .errors import PhotolensError
from .filters import Filters
from .fsutil import printable
from .library import hash_file
from .smart import SmartMatcher, SmartRule, rule_of
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
    query: str | None  # None: a plain album, or a smart album of filters only
    count: int  # photos shown (in the library now)
    filters: dict | None = None  # a smart album's filters given beside its query (SmartRule.filters_json)

    @property
    def smart(self) -> bool:
        return self.query is not None or self.filters is not None

    def describe(self) -> str:
        """The rule in words, for a tooltip: the query, then each filter given beside it."""
        return describe_rule(self.query, self.filters)

    def to_json(self) -> dict:
        d = {"name": self.name, "query": self.query, "count": self.count}
        if self.filters is not None:
            d["filters"] = self.filters
        return d


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
    filters: dict | None = None  # the filters given beside the query (SmartRule.filters_json)
    understood: dict | None = None  # what the rule means now: words, every filter, people

    def to_json(self) -> dict:
        return {"name": self.name, "query": self.query, "filters": self.filters, "understood": self.understood,
                "photos": [p.to_json() for p in self.photos], "excluded": [p.to_json() for p in self.excluded]}


def describe_rule(query: str | None, filters: dict | None) -> str:
    """'beach; from 2019-01-01; place Paris; people Anna' (the parts that are set)."""
    parts = [query] if query else []
    if filters:
        labels = {"from": "from", "to": "to", "place": "place", "camera": "camera", "folder": "folder"}
        parts += [f"{label} {filters[k]}" for k, label in labels.items() if filters.get(k)]
        if filters.get("people"):
            parts.append("people " + ", ".join(filters["people"]))
    return "; ".join(parts)


class Albums:
    """The library's albums. `matcher` applies smart albums' rules as search does (smart.py)."""

    def __init__(self, store: Store, matcher: SmartMatcher):
        self.store = store
        self.matcher = matcher

    # -- albums -----------------------------------------------------------------------------

    def list(self) -> list[Album]:
        rows = self.store.query("SELECT id, name, query, filters FROM albums ORDER BY name COLLATE NOCASE")
        return [Album(name, query, self._count(aid), _filters_json(filters)) for aid, name, query, filters in rows]

    def create(self, name: str, query: str | None = None, filters: Filters | None = None,
               people: Iterable[str] = ()) -> Album:
        """A new album (a smart one with a `query`, `filters` or `people`: see set_query); an
        existing one of that name is an error."""
        name = _clean(name)
        if self._id(name) is not None:
            raise AlbumError(f"there is already an album called “{name}”", name)
        rule = rule_of(query, filters, people)
        with self.store.transaction():
            self.store.execute("INSERT INTO albums(name, query, created) VALUES (?, ?, ?)", [name, None, time.time()])
            if not rule.empty:
                self.set_query(name, rule.query, rule.filters, rule.people)
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
        rule = self._rule(aid)
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
        understood = None
        if not rule.empty:
            names, meaning = self.matcher.understand(rule)
            understood = {**meaning.to_json(), "people": names}
        return AlbumContents(self._name(aid), rule.query, tuple(shown), tuple(excluded),
                             _filters_json(rule.stored_filters()), understood)

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
        state = PINNED if self._smart(aid) else MEMBER
        return self._set(aid, self._hashes(photo_ids), state, replace_states=(EXCLUDED, MATCHED))

    def remove(self, name: str, photo_ids: Iterable[int]) -> int:
        """Take photos out: from a plain album they go; a smart album excludes them (so its
        query does not bring them back). How many were shown before."""
        aid = self._require(name)
        hashes = self._hashes(photo_ids)
        shown = self._states(aid, hashes)
        n = sum(1 for h in hashes if shown.get(h) in SHOWN)
        with self.store.transaction():
            if self._smart(aid):
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

    def set_query(self, name: str, query: str | None, filters: Filters | None = None,
                  people: Iterable[str] = ()) -> AlbumContents:
        """Make an album smart with a rule (smart.SmartRule: the query, with filters written in
        it, and the filters and people given beside it, which take precedence as in search), or
        plain again with none: the photos its old rule took in go, the good matches of the new
        one come in; pins, exclusions and members stay."""
        aid = self._require(name)
        rule = rule_of(query, filters, people)
        if not rule.empty:
            self.matcher.understand(rule)  # a rule search would refuse is refused before anything changes
        with self.store.transaction():
            self.store.execute("UPDATE albums SET query = ?, filters = ? WHERE id = ?",
                               [rule.query, rule.stored_filters(), aid])
            self.store.execute("DELETE FROM album_photos WHERE album_id = ? AND state = ?", [aid, MATCHED])
            if not rule.empty:
                self._judge(aid, rule, None)
        return self.get(name)

    def refresh_smart_albums(self, new_ids: Iterable[int], people_only: bool = False) -> dict[str, list[int]]:
        """Newly indexed photos (or photos whose faces were just found, with `people_only`:
        only albums whose rule names people) are judged by each smart album's rule: those
        that match go in, those that no longer do leave. {album name: [photo ids]} of those
        taken in now (albums that took none left out)."""
        new_ids = sorted(set(new_ids))
        out: dict[str, list[int]] = {}
        if not new_ids:
            return out
        with self.store.transaction():
            for aid, name, rule in self._smart_albums():
                if people_only and not self.matcher.names_people(rule):
                    continue
                taken = self._judge(aid, rule, new_ids)
                if taken:
                    out[name] = taken
        return out

    def recompute_smart_albums(self) -> dict[str, list[int]]:
        """After the active model changed: every smart album judged again with the new model's
        vectors (photos it has not embedded yet keep their place until it has: the next index
        run judges them). Pins, exclusions and members stay. Taken in, as refresh_smart_albums."""
        out: dict[str, list[int]] = {}
        with self.store.transaction():
            for aid, name, rule in self._smart_albums():
                taken = self._judge(aid, rule, None)
                if taken:
                    out[name] = taken
        return out

    def _smart_albums(self) -> list[tuple[int, str, SmartRule]]:
        rows = self.store.query("SELECT id, name, query, filters FROM albums "
                                "WHERE query IS NOT NULL OR filters IS NOT NULL ORDER BY name")
        return [(aid, name, SmartRule.stored(query, filters)) for aid, name, query, filters in rows]

    def _judge(self, aid: int, rule: SmartRule, within: list[int] | None) -> list[int]:
        """The rule applied to the photos `within` (None: all) and their exact copies (an album
        holds content: a copy elsewhere may pass a folder or date filter): album `aid`'s matched
        photos among them become exactly the good matches. The ids taken in (one per content)."""
        if within is not None:
            within = self._with_copies(within)
        judged = self.matcher.judge(rule, None if within is None else np.asarray(within, np.int64))
        hashes = self._hash_map(judged.judged.tolist())
        good: dict[str, tuple[int, float | None]] = {}
        for pid in sorted(judged.matches):  # the first photo of a content stands for it, with its best score
            h, score = hashes.get(pid), judged.matches[pid]
            if h is None:
                continue
            if h not in good:
                good[h] = (pid, score)
            elif score is not None and (good[h][1] is None or score > good[h][1]):
                good[h] = (good[h][0], score)
        gone = sorted(set(hashes.values()) - set(good))
        before = self._states(aid, sorted(good))
        now = time.time()
        for start in range(0, len(gone), MAX_PARAMS):
            chunk = gone[start:start + MAX_PARAMS]
            self.store.execute(f"DELETE FROM album_photos WHERE album_id = ? AND state = ? AND hash IN "
                               f"({','.join('?' * len(chunk))})", [aid, MATCHED, *chunk])
        for h, (_, score) in good.items():
            self.store.execute("""INSERT INTO album_photos(album_id, hash, state, added, score) VALUES (?, ?, ?, ?, ?)
                                  ON CONFLICT(album_id, hash) DO UPDATE SET score = excluded.score
                                  WHERE album_photos.state = 'matched'""", [aid, h, MATCHED, now, score])
        return sorted(pid for h, (pid, _) in good.items() if h not in before)

    def _with_copies(self, ids: list[int]) -> list[int]:
        """These photos and every photo holding the same content."""
        out = set(ids)
        hashes = sorted({h for h in self._hash_map(ids).values()})
        for start in range(0, len(hashes), MAX_PARAMS):
            chunk = hashes[start:start + MAX_PARAMS]
            out.update(r[0] for r in self.store.query(
                f"SELECT id FROM photos WHERE hash IN ({','.join('?' * len(chunk))})", chunk))
        return sorted(out)

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

    def _rule(self, aid: int) -> SmartRule:
        return SmartRule.stored(*self.store.query("SELECT query, filters FROM albums WHERE id = ?", [aid])[0])

    def _smart(self, aid: int) -> bool:
        return not self._rule(aid).empty

    def _album(self, name: str) -> Album:
        aid = self._require(name)
        rule = self._rule(aid)
        return Album(self._name(aid), rule.query, self._count(aid), _filters_json(rule.stored_filters()))


def _filters_json(stored: str | None) -> dict | None:
    return None if stored is None else SmartRule.stored(None, stored).filters_json()


def _clean(name: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise AlbumError("an album needs a name")
    return name
