"""The timeline pane: photos per month under their year, with a scrubber by year; a click
shows that month's (or year's) photos, newest first."""
from __future__ import annotations

import calendar

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QStandardItem
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QLabel, QSlider, QTreeView,
                               QVBoxLayout, QWidget)

from ..engine.catalog import Catalog
from ..engine.whenwhere import Timeline
from .panes import count_tree, tip_title_buttons
from .tasks import Tasks

PeriodRole = Qt.UserRole + 1  # "2019" or "2019-07": a date filter


class TimelinePane(QDockWidget):
    """Years, each with its months and photo counts, newest first.

    Signals:
        periodChosen(str): the user clicked a year ("2019") or a month ("2019-07"); the text
            is a date filter (Filters.from_flags(text, text)).
        yearScrubbed(int): the scrubber came to this year (one with photos).
    """

    periodChosen = Signal(str)
    yearScrubbed = Signal(int)

    def __init__(self, catalog: Catalog | None = None, tasks: Tasks | None = None, parent: QWidget | None = None):
        super().__init__("Timeline", parent)
        self.setObjectName("timeline")  # the name keeps its place across sessions (QSettings)
        self.catalog, self.tasks = catalog, tasks
        content = QWidget()
        self.setWidget(content)
        tip_title_buttons(self)
        self.model, self.view = count_tree(["When", "Photos"], self)
        self.view.clicked.connect(self._clicked)
        self.scrubber = QSlider(Qt.Horizontal)
        self.scrubber.setToolTip("Scrub through the years")
        self.scrubber.valueChanged.connect(self._scrubbed)
        self.year_label = QLabel()
        self.undated = QLabel()
        scrub = QHBoxLayout()
        scrub.addWidget(self.scrubber, 1)
        scrub.addWidget(self.year_label)
        lay = QVBoxLayout(content)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(scrub)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.undated)
        self._year_rows: dict[int, int] = {}
        self.set_timeline(Timeline([], 0))

    def refresh(self) -> None:
        """Ask the catalog again, off the GUI thread (after indexing, or when shown)."""
        if self.catalog is not None and self.tasks is not None:
            self.tasks.read(self.catalog.timeline, self.set_timeline)

    def set_timeline(self, timeline: Timeline) -> None:
        self.model.removeRows(0, self.model.rowCount())
        by_year: dict[int, list[tuple[str, int]]] = {}
        for month, n in timeline.months:
            by_year.setdefault(int(month[:4]), []).append((month, n))
        self._year_rows = {}
        for year, total in sorted(timeline.years(), reverse=True):
            row = _row(str(year), total, str(year))
            for month, n in sorted(by_year[year], reverse=True):
                row[0].appendRow(_row(calendar.month_name[int(month[5:7])], n, month))
            self._year_rows[year] = self.model.rowCount()
            self.model.appendRow(row)
        years = sorted(self._year_rows)
        self.scrubber.setEnabled(bool(years))
        self.scrubber.blockSignals(True)
        self.scrubber.setRange(years[0] if years else 0, years[-1] if years else 0)
        self.scrubber.setValue(years[-1] if years else 0)
        self.scrubber.blockSignals(False)
        self.year_label.setText(str(years[-1]) if years else "")
        n = timeline.undated
        self.undated.setText(f"{n:,} photo{'' if n == 1 else 's'} without a date" if n else "")
        if years:
            self.view.expand(self.model.index(0, 0))

    def _scrubbed(self, year: int) -> None:
        """Show the nearest year that has photos."""
        if not self._year_rows:
            return
        nearest = min(self._year_rows, key=lambda y: abs(y - year))
        self.year_label.setText(str(nearest))
        index = self.model.index(self._year_rows[nearest], 0)
        self.view.expand(index)
        self.view.scrollTo(index, QTreeView.PositionAtTop)
        self.view.setCurrentIndex(index)
        self.yearScrubbed.emit(nearest)

    def _clicked(self, index: QModelIndex) -> None:
        period = index.siblingAtColumn(0).data(PeriodRole)
        if period:
            self.periodChosen.emit(period)


def _row(label: str, count: int, period: str) -> list[QStandardItem]:
    name, number = QStandardItem(label), QStandardItem(f"{count:,}")
    name.setData(period, PeriodRole)
    number.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return [name, number]
