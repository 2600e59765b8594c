"""The photo grid: square tiles, keyboard-open, and drag-out of the selected files."""
from __future__ import annotations

from PySide6.QtCore import QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QAbstractItemView, QApplication, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from .models import IdRole, ResultsModel
from .month_sections import SectionLayout, header_height, lay_out, month_sections, paint_headers

__all__ = ["PhotoGrid", "grid_view"]

TILE_GAP = 12  # pixels around each square thumbnail, so selection shows as a frame
LAYOUT_BATCH = 500  # items laid out per event-loop turn: 100,000 photos never freeze the window


class PhotoGrid(QListView):
    """A grid of square thumbnails over a `ResultsModel`.

    Every tile has the same square shape (thumbnails are centre crops, see `ResultsModel`), so
    a photo never changes shape between refreshes. Enter or Space opens the current photo;
    dragging photos out gives other applications their files (text/uri-list). A list in date
    order shows a header above each month's photos (month_sections.py); `scroll_to_period`
    brings one into view.

    Signals:
        open_photo(int): the user asked to open this photo id (Enter, Space or double-click).
    """

    open_photo = Signal(int)

    def __init__(self, model: ResultsModel, icon: int, parent=None):
        super().__init__(parent)
        self.rows = model  # the photos; the view itself reads them through a pass-through proxy
        self.setModel(pass_through(model, self))
        self.setItemDelegate(TileDelegate(model, self))
        self.setViewMode(QListView.IconMode)
        self.setResizeMode(QListView.Adjust)
        # The grid wraps at its width, so it never scrolls sideways; and its width stays the
        # same whether the list fills a screen or not: a vertical bar appearing after a new list
        # was laid out left the last column under a sideways bar (1,000 results, 1366 px).
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOn)
        self.setMovement(QListView.Free)  # lets month headers move photos down; never by the user (no drops)
        self.setUniformItemSizes(True)  # lets the view lay out 100,000 items without asking each
        self.setIconSize(QSize(icon, icon))
        self.setGridSize(QSize(icon + TILE_GAP, icon + TILE_GAP))
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setLayoutMode(QListView.Batched)
        self.setBatchSize(LAYOUT_BATCH)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.viewport().setAcceptDrops(False)  # Free movement would accept drops: photos are not rearranged
        self.setDefaultDropAction(Qt.CopyAction)
        self.sections = SectionLayout([], [])
        self.doubleClicked.connect(lambda index: self.open_photo.emit(index.data(IdRole)))
        self._icon = icon
        self._shown_key = None  # show_list's key of the list shown
        self._place = None  # where a list shown again goes back to, once laid out that far
        self.verticalScrollBar().rangeChanged.connect(lambda *_: self._take_back_place())
        self.verticalScrollBar().actionTriggered.connect(lambda *_: setattr(self, "_place", None))  # the user scrolled

    def show_list(self, results, by_date: bool = False, key=None) -> None:
        """Show a list of photos: from its top when it is another list than the one shown (its
        `key` differs: another query, sort, tag or subject; None is always another), in its
        place when it is the same list again (refreshed after indexing or a change in a watched
        folder, or after a proposal was judged)."""
        new = key is None or key != self._shown_key
        self._shown_key = key
        place = self.verticalScrollBar().value()
        self.rows.set_results(results, by_date)
        # A long list is laid out in batches, so its scroll range grows over a few event-loop
        # turns: the place is taken back once the range reaches it, unless the user scrolls first.
        self._place = None if new else place
        if new:
            self.scrollToTop()
        else:
            self._take_back_place()

    def _take_back_place(self) -> None:
        bar = self.verticalScrollBar()
        if self._place is not None and bar.maximum() >= self._place:
            bar.setValue(self._place)
            self._place = None

    def resizeEvent(self, event) -> None:
        """Columns fill the width: the cells widen to share what is left over after the last
        whole column, instead of leaving a strip empty on the right."""
        width = self.viewport().width() - 2 * self.spacing()
        cell = self._icon + TILE_GAP
        columns = max(1, width // cell)
        self.setGridSize(QSize(max(cell, width // columns), cell))
        super().resizeEvent(event)

    def doItemsLayout(self) -> None:
        """Lay the photos out; in date order, move each month's photos under its header."""
        model = self.model()
        sections = month_sections(self.rows.results) if self.rows.by_date else []
        self.setLayoutMode(QListView.SinglePass if sections else QListView.Batched)  # positions need every item
        super().doItemsLayout()
        self.sections = SectionLayout([], [])
        if not sections:
            return
        width = self.viewport().width() - 2 * self.spacing()  # as resizeEvent shares it into columns
        columns = max(1, width // self.gridSize().width())
        origin = self.rectForIndex(model.index(0, 0)).topLeft()
        self.sections = lay_out(sections, columns, self.viewport().width(), self.gridSize(), header_height(self),
                                origin)
        for row, position in enumerate(self.sections.positions):
            self.setPositionForIndex(position, model.index(row, 0))

    def paintEvent(self, event) -> None:
        super().paintEvent(event)
        if self.sections.headers:
            paint_headers(self, self.sections, self.horizontalOffset(), self.verticalOffset())

    def scroll_to_period(self, period: str) -> bool:
        """Scroll to the first header of a month ("2019-07") or year ("2019"); False when the grid
        shows no header for it (not in date order, or that period is not in the list)."""
        self.executeDelayedItemsLayout()
        top = self.sections.header_top(period)
        if top is None:
            return False
        self.verticalScrollBar().setValue(top)
        return True

    def keyPressEvent(self, event) -> None:
        index = self.currentIndex()
        if event.key() in (Qt.Key_Return, Qt.Key_Enter, Qt.Key_Space) and index.isValid() \
                and not event.modifiers() & Qt.ControlModifier:
            self.open_photo.emit(index.data(IdRole))
            return
        super().keyPressEvent(event)


class TileDelegate(QStyledItemDelegate):
    """Paints a tile as the default delegate would (the style's item, its thumbnail centred,
    the selection and focus as the style draws them), with one call into Python per tile: the
    default asks the model for seven roles a tile, each a call that waits for the interpreter
    while another thread computes (see pass_through)."""

    def __init__(self, rows: ResultsModel, parent=None):
        super().__init__(parent)
        self.rows = rows

    def paint(self, painter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        pixmap = self.rows.tile(index.row())
        opt.index = index
        opt.features |= QStyleOptionViewItem.HasDecoration
        opt.icon = QIcon(pixmap)
        opt.decorationSize = pixmap.deviceIndependentSize().toSize()  # as the default does for a pixmap
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.CE_ItemViewItem, opt, painter, widget)


def pass_through(model: ResultsModel, parent) -> QSortFilterProxyModel:
    """`model` behind a proxy that neither sorts nor filters: its rows are the model's, one for
    one. Laying out and painting a grid asks the model for an index more than a thousand times
    a scroll (1,100-1,250 at 59,000 photos, against 35 tiles shown), and each index asks its
    row count; from a model written in Python, each of those calls waits for the interpreter,
    up to a switch interval while another thread computes. The proxy answers them in C++ from
    its own map of the rows, and only data and flags still reach Python (~280 a scroll). The
    proxy's rows are the model's rows, so code reading a view index's row reads the model's;
    a proxy that sorted or filtered would need mapToSource there."""
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setDynamicSortFilter(False)  # never re-sorts or re-filters on its own
    return proxy


def grid_view(model: ResultsModel, icon: int) -> PhotoGrid:
    return PhotoGrid(model, icon)
