"""The places pane: countries, then their cities, with photo counts; a click filters by it."""
from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import QDockWidget, QLabel, QVBoxLayout, QWidget

from ..engine.catalog import Catalog
from ..engine.whenwhere import CountryPlaces
from .panes import count_tree, tip_title_buttons
from .status import counted
from .tasks import Tasks

PlaceRole = Qt.UserRole + 1  # the filter text a row stands for: "France", "Paris, France"


def place_filter(country: str | None, city: str | None = None, region: str | None = None) -> str:
    """What the place filter says for a row: the city (or region) with its country, so that
    Paris, France is not Paris, Texas."""
    name = city or region
    return ", ".join(p for p in (name, country) if p)


class PlacesPane(QDockWidget):
    """A tree of where the library's photos were taken.

    Signals:
        placeChosen(str): the user clicked a country or city; the text is a place filter
            ("France", "Paris, France") for Catalog.search(filters=Filters(place=...)).
    """

    placeChosen = Signal(str)

    def __init__(self, catalog: Catalog | None = None, tasks: Tasks | None = None, parent: QWidget | None = None):
        super().__init__("Places", parent)
        self.setObjectName("places")  # the name keeps its place across sessions (QSettings)
        self.catalog, self.tasks = catalog, tasks
        content = QWidget()
        self.setWidget(content)
        tip_title_buttons(self)
        self.model, self.view = count_tree(["Place", "Photos"], self)
        self.view.clicked.connect(self._clicked)
        self.empty = QLabel("No photos with a place yet: places come from the GPS in photos.")
        self.empty.setWordWrap(True)
        lay = QVBoxLayout(content)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.empty)
        lay.addWidget(self.view, 1)
        self.set_places([])

    def refresh(self) -> None:
        """Ask the catalog again, off the GUI thread (after indexing, or when shown)."""
        if self.catalog is not None and self.tasks is not None:
            self.tasks.read(self.catalog.places, self.set_places)

    def set_places(self, countries: list[CountryPlaces]) -> None:
        self.model.removeRows(0, self.model.rowCount())
        for c in countries:
            country = _row(c.country or c.country_code or "?", c.count, place_filter(c.country or c.country_code))
            for city in c.cities:
                label = city.city or city.region or "?"
                if city.region and city.city and city.region != city.city:
                    label = f"{city.city} ({city.region})"
                country[0].appendRow(_row(label, city.count, place_filter(c.country, city.city, city.region)))
            self.model.appendRow(country)
        self.empty.setVisible(not countries)
        self.view.setVisible(bool(countries))

    def _clicked(self, index: QModelIndex) -> None:
        text = index.siblingAtColumn(0).data(PlaceRole)
        if text:
            self.placeChosen.emit(text)


def _row(label: str, count: int, place: str) -> list[QStandardItem]:
    name, number = QStandardItem(label), QStandardItem(f"{count:,}")
    name.setData(place, PlaceRole)
    name.setToolTip(f"{place}: {counted(count)}")
    number.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return [name, number]
