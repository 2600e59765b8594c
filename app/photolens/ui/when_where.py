"""When and where in the window: the places and timeline panes and the filter chips, and how
they change the query. Every filter lives in the search text (`place:"Paris, France"`,
`date:2019-07`), so what the panes choose, what the user types and what the chips show are
one query, read by one parser (engine/filters.py)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMainWindow

from ..engine.catalog import Catalog
from ..engine.filters import Filters, Understood
from .filter_chips import FilterChips
from .grid import PhotoGrid
from .places_pane import PlacesPane
from .tasks import Tasks
from .timeline_pane import TimelinePane

__all__ = ["WhenWhereControls"]


class WhenWhereControls(QObject):
    """Owns the two panes (docked on the window's left, as tabs) and the chips (the window
    places `chips` under its search bar). `text` and `set_text` read and replace the query;
    setting it is expected to search (as the search bar does). `grid`: the photo grid, which a
    timeline click or scrub scrolls to a month's header when it shows the library by date."""

    def __init__(self, catalog: Catalog, tasks: Tasks, window: QMainWindow, text: Callable[[], str],
                 set_text: Callable[[str], None], grid: PhotoGrid | None = None):
        super().__init__(window)
        self.catalog, self.grid = catalog, grid
        self.text, self.set_text = text, set_text
        self.places = PlacesPane(catalog, tasks, window)
        self.timeline = TimelinePane(catalog, tasks, window)
        window.addDockWidget(Qt.LeftDockWidgetArea, self.places)
        window.addDockWidget(Qt.LeftDockWidgetArea, self.timeline)
        window.tabifyDockWidget(self.places, self.timeline)
        self.places.raise_()
        self.chips = FilterChips()
        self.understood = Understood(None, Filters())
        self.places.placeChosen.connect(lambda place: self.add_filter(Filters(place=place)))
        self.timeline.periodChosen.connect(self.choose_period)
        self.timeline.yearScrubbed.connect(lambda year: self._scroll_to(str(year)))
        self.chips.removed.connect(self.remove_filter)

    def refresh(self) -> None:
        """The library changed (indexing, the watcher): count places and months again."""
        self.places.refresh()
        self.timeline.refresh()

    def show_understood(self, understood: Understood | None) -> None:
        """What the last search was understood to ask for (None: not a query of words)."""
        self.understood = understood or Understood(None, Filters())
        self.chips.set_filters(self.understood.filters)

    def add_filter(self, extra: Filters) -> None:
        """Narrow the current query by `extra` (it replaces a filter of the same kind)."""
        current = self.catalog.understand(self.text())
        filters = current.filters.merged(extra)
        self.set_text(" ".join(p for p in (current.words or "", filters.to_query()) if p))

    def choose_period(self, period: str) -> None:
        """A year or month clicked in the timeline. The library in date order (no query) scrolls
        to that period's header; a search, or a period beyond the photos shown, is filtered."""
        if not self._scroll_to(period):
            self.add_filter(Filters.from_flags(period, period))

    def _scroll_to(self, period: str) -> bool:
        return self.grid is not None and not self.text().strip() and self.grid.scroll_to_period(period)

    def remove_filter(self, name: str) -> None:
        self.set_text(self.understood.query_without(name))
