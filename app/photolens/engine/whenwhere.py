"""When and where for a library: understanding filters in queries, the candidates they allow,
the places and timeline views, and keeping dates and place names up to date. The Catalog
holds one of these and passes its answers on; the SQL lives in metastore.py."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np

from . import metastore
from .filters import Filters, Understood, understand
from .places import PlaceDataError, PlaceNamer
from .query import Query
from .store import Store

log = logging.getLogger(__name__)

__all__ = ["WhenWhere", "WhenWhereFacade", "CountryPlaces", "CityCount", "Timeline"]


@dataclass(frozen=True)
class CityCount:
    city: str | None
    region: str | None
    count: int

    def to_json(self) -> dict:
        return {"city": self.city, "region": self.region, "count": self.count}


@dataclass(frozen=True)
class CountryPlaces:
    country: str | None
    country_code: str | None
    count: int
    cities: list[CityCount] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"country": self.country, "country_code": self.country_code, "count": self.count,
                "cities": [c.to_json() for c in self.cities]}


@dataclass(frozen=True)
class Timeline:
    months: list[tuple[str, int]]  # ('2019-07', photos), oldest first
    undated: int

    def to_json(self) -> dict:
        return {"months": [{"month": m, "count": n} for m, n in self.months], "undated": self.undated}

    def years(self) -> list[tuple[int, int]]:
        out: dict[int, int] = {}
        for month, n in self.months:
            out[int(month[:4])] = out.get(int(month[:4]), 0) + n
        return sorted(out.items())


class WhenWhere:
    def __init__(self, store: Store, namer: PlaceNamer | None = None):
        self.store = store
        self.namer = namer or PlaceNamer.shared()
        self._lock = threading.Lock()
        self._places_key = None
        self._places: list = []
        self._words = None

    def _known(self):
        """The library's places and a matcher over them, cached until the database changes
        (data_version moves with other connections' commits, total_changes with ours)."""
        key = (self.store.query("PRAGMA data_version")[0][0], self.store.db.conn.total_changes)
        with self._lock:
            if key != self._places_key:
                self._places = metastore.known_places(self.store)
                self._words = metastore.place_matcher((p for p, _ in self._places), codes=False)
                self._places_key = key
            return self._places, self._words

    def understand(self, query, filters: Filters | None = None) -> Understood:
        """The query's own filters (`place:`, plain "Paris 2019") with `filters` (flags) on top.
        A parsed Query is taken as it is, with `filters`."""
        if isinstance(query, Query):
            return Understood(query, (filters or Filters()).checked())
        _, place_words = self._known()
        u = understand(query, lambda name: bool(place_words(name)))
        return Understood(u.text, (u.filters.merged(filters) if filters else u.filters).checked(), u.from_words)

    def candidates(self, filters: Filters | None) -> np.ndarray | None:
        """The ids the filters allow; None (no limit) for no filters."""
        if filters is None or filters.empty:
            return None
        return metastore.matching_ids(self.store, filters, self._known()[0])

    def newest(self, filters: Filters, k: int) -> list[tuple[int, float]]:
        """The k newest photos that pass the filters, as (id, score 0) hits."""
        return [(pid, 0.0) for pid in metastore.newest_first(self.store, filters, k, self._known()[0])]

    def places(self) -> list[CountryPlaces]:
        """Countries by number of photos, each with its cities."""
        places, _ = self._known()
        countries: dict[str | None, list] = {}
        for place, n in places:
            countries.setdefault(place.country_code, []).append((place, n))
        out = []
        for code, items in countries.items():
            cities = [CityCount(p.city, p.region, n) for p, n in sorted(items, key=lambda x: (-x[1], x[0].city or ""))]
            out.append(CountryPlaces(items[0][0].country, code, sum(n for _, n in items), cities))
        out.sort(key=lambda c: (-c.count, c.country or ""))
        return out

    def timeline(self) -> Timeline:
        months, undated = metastore.timeline(self.store)
        return Timeline(months, undated)

    def photo(self, photo_id: int) -> metastore.PhotoWhenWhere | None:
        return metastore.when_where(self.store, [photo_id]).get(photo_id)

    def refresh(self) -> dict:
        """Dates of photos indexed before, and names for places, with no embedding. Without the
        offline place names installed, places wait (the rest is still done) and it says why."""
        out = {"metadata_read": metastore.refresh_metadata(self.store), "places_named": 0}
        try:
            out["places_named"] = metastore.name_places(self.store, self.namer)
        except PlaceDataError as e:
            log.warning("%s", e)
            out["places_error"] = str(e)
        return out


class WhenWhereFacade:
    """The Catalog's when-and-where methods (Catalog inherits them; they use its `when_where`),
    kept here so the facade's file stays one screenful of concepts."""

    when_where: WhenWhere

    def understand(self, query: str | list[str], filters: Filters | None = None) -> Understood:
        """What a query asks for: its words, and the filters in it and in `filters`."""
        return self.when_where.understand(query, filters)

    def places(self) -> list[CountryPlaces]:
        """Where the photos were taken: countries, then cities, with counts."""
        return self.when_where.places()

    def timeline(self) -> Timeline:
        """Photos per month taken, and how many have no date."""
        return self.when_where.timeline()

    def photo_when_where(self, photo_id: int) -> metastore.PhotoWhenWhere | None:
        """A photo's date taken (with its source), place and camera, for the viewer."""
        return self.when_where.photo(photo_id)
