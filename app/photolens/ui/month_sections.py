"""Month headers in the photo grid: "July 2019 · 34 photos" above each month's photos, when the
grid's list is in date order (the library before a query, or a search sorted by date taken).

Headers are not rows of the model: the model stays a list of photos, so selection, keyboard
navigation, "similar", drag and every photo action only ever see photos. The grid lays its
photos out as usual, then moves each month's photos down under a band the width of the view,
and paints the header text in that band (`PhotoGrid.doItemsLayout` and `paintEvent`). A list
in relevance order gets no headers.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette
from PySide6.QtWidgets import QListView

from ..engine.search import Result

__all__ = ["NO_DATE", "Section", "SectionLayout", "lay_out", "month_key", "month_sections", "paint_headers"]

NO_DATE = ""  # the key of the photos without a date (their header says "No date", at the end)
HEADER_LINES = 2.2  # a header band is this many lines of its font high: the text, with air above and below
HEADER_INDENT = 8  # pixels from the view's left edge to the header text, in line with the photos' frames
HEADER_SCALE = 1.15  # headers are a little larger than the grid's text, and bold, as in Photos apps


@dataclass(frozen=True)
class Section:
    """A run of consecutive rows taken in one month (key "2019-07"; NO_DATE for no date)."""

    key: str
    first: int  # the first row
    count: int

    @property
    def label(self) -> str:
        if self.key == NO_DATE:
            return "No date"
        return f"{calendar.month_name[int(self.key[5:7])]} {self.key[:4]}"

    @property
    def title(self) -> str:
        return f"{self.label} · {self.count:,} photo{'' if self.count == 1 else 's'}"


def month_key(result: Result) -> str:
    """"2019-07" from the local date taken ("2019-07-14T15:30:00+02:00"), NO_DATE without one."""
    taken = result.when_where.taken if result.when_where is not None else None
    return taken[:7] if taken else NO_DATE


def month_sections(results: list[Result]) -> list[Section]:
    """The month runs of a list in date order. None when no photo has a date: a lone "No date"
    header over the whole grid would say nothing."""
    sections: list[Section] = []
    for row, r in enumerate(results):
        key = month_key(r)
        if sections and sections[-1].key == key:
            last = sections[-1]
            sections[-1] = Section(key, last.first, last.count + 1)
        else:
            sections.append(Section(key, row, 1))
    return [] if all(s.key == NO_DATE for s in sections) else sections


@dataclass(frozen=True)
class SectionLayout:
    """Where the headers and photos go, in the view's contents coordinates."""

    headers: list[tuple[Section, QRect]]
    positions: list[QPoint]  # one per row, the top-left of the photo's item

    def header_top(self, period: str) -> int | None:
        """The top of the first header of a month ("2019-07") or year ("2019"), if shown."""
        if not period:
            return None
        return next((rect.top() for s, rect in self.headers if s.key.startswith(period)), None)


def lay_out(sections: list[Section], columns: int, width: int, cell: QSize, header_height: int,
            origin: QPoint) -> SectionLayout:
    """Each section: a header band `width` wide, then its photos in `columns` columns of cells.
    `origin`: where the view puts the first photo inside its cell (its margin and centring)."""
    cell_width, cell_height = cell.width(), cell.height()
    headers, positions, y = [], [], 0
    for s in sections:
        headers.append((s, QRect(0, y, width, header_height)))
        y += header_height
        for i in range(s.count):
            row, column = divmod(i, columns)
            positions.append(QPoint(origin.x() + column * cell_width, y + origin.y() + row * cell_height))
        y += -(-s.count // columns) * cell_height
    return SectionLayout(headers, positions)


def header_font(view: QListView) -> QFont:
    font = QFont(view.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * HEADER_SCALE)
    return font


def header_height(view: QListView) -> int:
    return round(QFontMetrics(header_font(view)).height() * HEADER_LINES)


def paint_headers(view: QListView, layout: SectionLayout, dx: int, dy: int) -> None:
    """Draw the header texts on the view's viewport (scrolled by dx, dy); only those in sight."""
    visible = view.viewport().rect()
    painter = QPainter(view.viewport())
    painter.setFont(header_font(view))
    painter.setPen(view.palette().color(QPalette.Text))
    for section, rect in layout.headers:
        shown = rect.translated(-dx, -dy)
        if shown.intersects(visible):
            painter.drawText(shown.adjusted(HEADER_INDENT, 0, -HEADER_INDENT, 0), Qt.AlignLeft | Qt.AlignVCenter,
                             section.title)
    painter.end()
