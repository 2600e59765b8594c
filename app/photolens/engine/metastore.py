"""The queries about when and where: dates, places and cameras of photos, and the photos that
match a set of filters. The columns come from store.py's _m4_dates_places migration.

Conditions on status are written `+status`: nearly every photo is indexed, so its index would
only slow these queries down, and the `+` keeps SQLite's planner on the date, place or camera
index instead. Place and camera filters are resolved against the few distinct values the library holds
(found through their indexes) and then matched by equality, so every filter is an indexed
lookup, not a LIKE over every row.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

import numpy as np

from .filters import Filters, next_day
from .fsutil import path_key, path_str
from .metadata import METADATA_VERSION, PhotoMetadata, read_file_metadata, taken_iso
from .places import Place, PlaceNamer
from .store import Store

__all__ = ["PhotoWhenWhere", "record_metadata", "record_places", "photos_needing_metadata",
           "photos_needing_places", "known_places", "place_matcher", "timeline", "shown_photos", "when_where",
           "matching_ids", "cameras", "newest_first", "refresh_metadata", "name_places"]


# How the viewer says where a date came from (metadata.py lists the sources).
DATE_SOURCE_LABELS = {"exif-offset": "camera, with time zone", "exif": "camera", "exif-digitized": "camera (digitized)",
                      "exif-modified": "EXIF date", "png-text": "PNG creation time", "filename": "file name"}


@dataclass(frozen=True)
class PhotoWhenWhere:
    taken: str | None  # ISO 8601, with the offset when known
    date_source: str | None
    place: Place | None
    camera: str | None

    @property
    def taken_label(self) -> str | None:
        """'14 Jul 2019 15:30 (UTC+02:00)'; a day without a time ('14 Jul 2019') as a file name gives it."""
        if not self.taken:
            return None
        dt = datetime.fromisoformat(self.taken)
        text = dt.strftime("%d %b %Y") if (dt.hour, dt.minute, dt.second) == (0, 0, 0) \
            and self.date_source == "filename" else dt.strftime("%d %b %Y %H:%M")
        return f"{text} (UTC{self.taken[19:]})" if dt.tzinfo is not None else text

    @property
    def source_label(self) -> str | None:
        return DATE_SOURCE_LABELS.get(self.date_source or "", self.date_source)


def fold(text: str) -> str:
    """Case and accents folded, so "ile-de-france" finds "Île-de-France"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def record_metadata(store: Store, items: Iterable[tuple[int, PhotoMetadata]]) -> None:
    """Store what the files say. A photo whose GPS moved loses its place name (named again)."""
    rows = []
    for pid, m in items:
        gps = (m.gps_lat, m.gps_lon)
        rows.append((m.timestamp, m.taken_local.isoformat() if m.taken_local else None, m.tz_offset,
                     m.date_source, m.camera, *gps * 4, *gps, METADATA_VERSION, pid))
    kept = "CASE WHEN gps_lat IS ? AND gps_lon IS ? THEN {0} END"
    store.db.conn.executemany(
        "UPDATE photos SET taken = ?, taken_local = ?, tz_offset = ?, date_source = ?, camera = ?, "
        + ", ".join(f"{col} = {kept.format(col)}" for col in ("place_city", "place_region", "place_country",
                                                              "place_cc"))
        + ", gps_lat = ?, gps_lon = ?, meta_version = ? WHERE id = ?", rows)


def photos_needing_metadata(store: Store) -> list[tuple[int, str]]:
    """Indexed photos whose metadata an older version read (or none did): (id, path)."""
    rows = store.query("SELECT p.id, p.path FROM photos p JOIN folders f ON f.id = p.folder_id AND f.online = 1 "
                       "WHERE +p.status = 'indexed' AND coalesce(p.meta_version, 0) < ? ORDER BY p.id",
                       [METADATA_VERSION])
    return [(r[0], path_str(r[1])) for r in rows]


def photos_needing_places(store: Store) -> list[tuple[int, float, float]]:
    return store.query("SELECT id, gps_lat, gps_lon FROM photos WHERE gps_lat IS NOT NULL "
                       "AND gps_lon IS NOT NULL AND place_cc IS NULL ORDER BY id")


def record_places(store: Store, items: Iterable[tuple[int, Place]]) -> None:
    store.db.conn.executemany(
        "UPDATE photos SET place_city = ?, place_region = ?, place_country = ?, place_cc = ? WHERE id = ?",
        [(p.city, p.region, p.country, p.country_code or "", pid) for pid, p in items])


def known_places(store: Store) -> list[tuple[Place, int]]:
    """Every distinct place with its number of indexed photos, most photos first."""
    rows = store.query("SELECT place_city, place_region, place_country, place_cc, count(*) FROM photos "
                       "WHERE place_cc IS NOT NULL AND +status = 'indexed' "
                       "GROUP BY place_cc, place_region, place_city ORDER BY count(*) DESC")
    return [(Place(r[0], r[1], r[2], r[3] or None), r[4]) for r in rows]


def place_matcher(places: Iterable[Place], codes: bool = True):
    """A function from a written place ("Paris", "paris, france", "JP") to the known places it
    names: every comma-separated part must equal the city, region, country or (with `codes`)
    country code. Plain words leave codes out: "in" and "us" are words before they are India."""
    index: dict[str, set[Place]] = {}
    for p in places:
        for name in (p.city, p.region, p.country, p.country_code if codes else None):
            if name:
                index.setdefault(fold(name), set()).add(p)

    def match(text: str) -> set[Place]:
        parts = [fold(part) for part in text.split(",") if part.strip()]
        if not parts:
            return set()
        found = set(index.get(parts[0], ()))
        for part in parts[1:]:
            found &= index.get(part, set())
        return found

    return match


def cameras(store: Store) -> list[tuple[str, int]]:
    return store.query("SELECT camera, count(*) FROM photos WHERE camera IS NOT NULL AND +status = 'indexed' "
                       "GROUP BY camera ORDER BY count(*) DESC, camera")


def timeline(store: Store) -> tuple[list[tuple[str, int]], int]:
    """Indexed photos per month ('2019-07', count), oldest first, and how many have no date."""
    months = store.query("SELECT substr(taken_local, 1, 7), count(*) FROM photos "
                         "WHERE taken_local IS NOT NULL AND +status = 'indexed' GROUP BY 1 ORDER BY 1")
    undated = store.query("SELECT count(*) FROM photos WHERE taken_local IS NULL AND +status = 'indexed'")[0][0]
    return [(m, n) for m, n in months], undated


_WHEN_WHERE_COLS = "taken_local, tz_offset, date_source, place_city, place_region, place_country, place_cc, camera"


def _when_where_of(r: tuple) -> PhotoWhenWhere:
    """A row of _WHEN_WHERE_COLS as facts."""
    place = Place(r[3], r[4], r[5], r[6] or None) if r[6] is not None else None
    return PhotoWhenWhere(taken_iso(r[0], r[1]), r[2], place, r[7])


def when_where(store: Store, ids: Iterable[int]) -> dict[int, PhotoWhenWhere]:
    return {pid: facts for pid, (_, _, facts) in shown_photos(store, ids).items()}


def shown_photos(store: Store, ids: Iterable[int]) -> dict[int, tuple[int, str, PhotoWhenWhere]]:
    """What a result shows of each photo: (folder id, path, when_where), in one statement per
    chunk of ids. A 60,000-photo tag in the grid reads them all, on a thread beside the window's:
    the less Python it runs, the less it holds the interpreter the window needs (a 59,393-photo
    tag: 1.07-1.42 s -> 0.84-1.09 s, with two statements per chunk and a PhotoRow per photo
    before)."""
    out: dict[int, tuple[int, str, PhotoWhenWhere]] = {}
    for chunk, marks in store._id_chunks(ids):
        for r in store.query(f"SELECT id, folder_id, path, {_WHEN_WHERE_COLS} FROM photos WHERE id IN ({marks})",
                             chunk):
            out[r[0]] = (r[1], path_str(r[2]), _when_where_of(r[3:]))
    return out


def _where(store: Store, filters: Filters, places: list[tuple[Place, int]] | None = None
           ) -> tuple[list[str], list] | None:
    """SQL conditions and parameters for the filters; None when nothing can match. `places`:
    known_places(store), when the caller keeps it."""
    conds, params = ["+status = 'indexed'"], []
    if filters.date_from:
        conds.append("taken_local >= ?")
        params.append(filters.date_from.isoformat())
    if filters.date_to:
        conds.append("taken_local < ?")
        params.append(next_day(filters.date_to).isoformat())
    if filters.place:
        named = place_matcher(p for p, _ in (known_places(store) if places is None else places))(filters.place)
        if not named:
            return None
        conds.append("(" + " OR ".join(["(place_cc = ? AND place_region IS ? AND place_city IS ?)"] * len(named))
                     + ")")
        for p in named:
            params += [p.country_code or "", p.region, p.city]
    if filters.camera:
        wanted = fold(filters.camera)
        names = [c for c, _ in cameras(store) if wanted in fold(c)]
        if not names:
            return None
        conds.append(f"camera IN ({','.join('?' * len(names))})")
        params += names
    if filters.folder:
        folder = filters.folder.rstrip("/")
        if folder.startswith("/"):
            low = path_key(folder + "/")
            conds.append("path >= ? AND path < ?")
            params += [low, low[:-1] + bytes([low[-1] + 1])]
        else:
            conds.append("instr(path, ?) > 0")
            params.append(path_key("/" + folder.strip("/") + "/"))
    return conds, params


def matching_ids(store: Store, filters: Filters, places: list[tuple[Place, int]] | None = None) -> np.ndarray:
    """Ids of the indexed photos that pass the filters, ascending."""
    where = _where(store, filters, places)
    if where is None:
        return np.zeros(0, np.int64)
    conds, params = where
    rows = store.query(f"SELECT id FROM photos WHERE {' AND '.join(conds)}", params)
    return np.sort(np.fromiter((r[0] for r in rows), np.int64, len(rows)))  # numpy sorts faster than SQL


def newest_first(store: Store, filters: Filters, k: int,
                 places: list[tuple[Place, int]] | None = None) -> list[int]:
    """The k most recently taken photos that pass the filters (undated ones last, by id)."""
    where = _where(store, filters, places)
    if where is None:
        return []
    conds, params = where
    return [r[0] for r in store.query(f"SELECT id FROM photos WHERE {' AND '.join(conds)} "
                                      f"ORDER BY taken_local IS NULL, taken_local DESC, id DESC LIMIT ?",
                                      [*params, k])]


# Photos per transaction when reading headers again: each commit is one fsync, and the app's
# writer queue should not wait long behind one batch.
REFRESH_BATCH = 500


def refresh_metadata(store: Store) -> int:
    """Photos indexed before this version of metadata.py read their headers again (nothing is
    embedded): how many. A photo that cannot be opened now keeps what it had and is tried again
    next time."""
    stale = photos_needing_metadata(store)
    done = 0
    for i in range(0, len(stale), REFRESH_BATCH):
        read = ((pid, read_file_metadata(path)) for pid, path in stale[i:i + REFRESH_BATCH])
        batch = [(pid, meta) for pid, meta in read if meta is not None]
        with store.transaction():
            record_metadata(store, batch)
        done += len(batch)
    return done


def name_places(store: Store, namer: PlaceNamer) -> int:
    """Photos with GPS and no place get one: how many. The place names load only when some
    photo needs them."""
    todo = photos_needing_places(store)
    for i in range(0, len(todo), REFRESH_BATCH):
        chunk = todo[i:i + REFRESH_BATCH]
        names = namer.name((lat, lon) for _, lat, lon in chunk)
        with store.transaction():
            record_places(store, zip((pid for pid, _, _ in chunk), names))
    return len(todo)
