"""Item models: search results over photo ids (thumbnails loaded lazily), and tags.

Thumbnails in the grid are square centre crops of the photo (EXIF orientation applied). A
deliberate choice over justified rows: every tile has the same shape, so a photo never changes
shape after a refresh, the view can lay out 100,000 items without measuring each, and keyboard
navigation moves in a regular grid. The viewer and the similar pane's subject show the whole photo.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (QAbstractListModel, QAbstractTableModel, QMimeData, QModelIndex, QObject, QSize, Qt,
                            QUrl, Signal)
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPixmap

from ..engine.imaging import thumbnail
from ..engine.records import TagCount
from ..engine.search import Result
from .tasks import Pool

ScoreRole = Qt.UserRole + 1
PathRole = Qt.UserRole + 2
IdRole = Qt.UserRole + 3


class _ThumbSignals(QObject):
    ready = Signal(int, int, QImage)  # generation, photo id, image


def _load_thumbnail(signals: _ThumbSignals, generation: int, photo_id: int, path: str, size: int,
                    cache: Path, dpr: float = 1.0) -> None:
    """Runs on a worker: makes a QImage (never a QPixmap: those belong to the GUI thread)
    from the disk cache, creating the cached thumbnail when missing."""
    try:
        pixels = round(size * dpr)  # sharp on a HiDPI screen: as many pixels as the tile covers
        image = square_crop(QImage(str(thumbnail(path, pixels, cache))), pixels)
        image.setDevicePixelRatio(dpr)
    except Exception:  # an unreadable photo, or an offline one never shown before: a grey tile
        image = QImage()
    try:
        signals.ready.emit(generation, photo_id, image)
    except RuntimeError:  # the model (and its relay with it) was deleted meanwhile: nobody waits
        pass


def square_crop(image: QImage, size: int) -> QImage:
    """The centre square of an image, scaled to size x size (a null image stays null)."""
    if image.isNull():
        return image
    side = min(image.width(), image.height())
    square = image.copy((image.width() - side) // 2, (image.height() - side) // 2, side, side)
    return square.scaled(size, size, Qt.IgnoreAspectRatio, Qt.SmoothTransformation)


def _when_where_lines(r: Result) -> list[str]:
    """When, where and with what, for a tooltip (only what is known)."""
    w = r.when_where
    if w is None:
        return []
    return [line for line in (w.taken_label, w.place.label if w.place else None, w.camera) if line]


class ResultsModel(QAbstractListModel):
    """Search results as a list of photo ids. Thumbnails load only when a row is painted, on
    a thread pool; results carry a generation, so a new search drops stale thumbnails.

    Signals:
        (none beyond QAbstractListModel's)
    """

    def __init__(self, cache: Path, thumb_size: int = 192, parent: QObject | None = None):
        super().__init__(parent)
        self.cache = cache
        self.thumb_size = thumb_size
        self.results: list[Result] = []
        self.by_date = False  # the list is in date order: the grid shows month headers (month_sections.py)
        self.generation = 0
        self._pixmaps: dict[int, QPixmap] = {}
        self._requested: set[int] = set()
        self._pool = Pool(4, "photolens-thumbs")
        pool = self._pool  # not self: the wrapper may be gone by the time destroyed fires
        self.destroyed.connect(lambda *_: pool.shutdown())
        # The relay belongs to the model, so it is deleted with it, on the GUI thread. Owned by
        # Python instead, the worker holding the last reference deleted it on its own thread: a
        # QObject deleted outside its thread crashed the process now and then.
        self._signals = _ThumbSignals(self)
        self._signals.ready.connect(self._thumb_ready)
        screen = QGuiApplication.primaryScreen()
        self.dpr = screen.devicePixelRatio() if screen is not None else 1.0
        self._placeholder = QPixmap(QSize(thumb_size, thumb_size))
        self._placeholder.fill(QColor("#3a3d42"))
        self._row_of: dict[int, int] = {}

    def update_results(self, results: list[Result]) -> None:
        """Show a newer version of the same list (more photos arrived while indexing): when
        every photo shown stays, in the same order, the new ones are inserted as rows, so the
        view keeps its scroll position, selection and thumbnails; otherwise a reset."""
        new_ids = [r.id for r in results]
        old_ids = [r.id for r in self.results]
        position = {pid: i for i, pid in enumerate(new_ids)}
        kept = [position.get(pid) for pid in old_ids]
        if None in kept or kept != sorted(kept):
            self.set_results(results, self.by_date)
            return
        for row, r in enumerate(results):
            if row < len(self.results) and self.results[row].id == r.id:
                self.results[row] = r
                continue
            self.beginInsertRows(QModelIndex(), row, row)
            self.results.insert(row, r)
            self.endInsertRows()
        self._row_of = {r.id: i for i, r in enumerate(self.results)}

    def thumbnail_loaded(self, photo_id: int) -> bool:
        """True once the photo's thumbnail (or its grey tile, when unreadable) is in."""
        return photo_id in self._pixmaps

    def row_of(self, photo_id: int) -> int | None:
        """The row showing this photo, or None when it is not in the list (any more)."""
        return self._row_of.get(photo_id)

    def set_results(self, results: list[Result], by_date: bool = False) -> None:
        """Show a new list; `by_date`: it is newest first by date taken, photos without a date last."""
        self.beginResetModel()
        self.by_date = by_date
        self.generation += 1
        self._pool.clear()
        self.results = list(results)
        self._row_of = {r.id: i for i, r in enumerate(self.results)}
        self._requested.clear()
        self._pixmaps = {k: v for k, v in self._pixmaps.items() if k in self._row_of}
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.results)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.results):
            return None
        r = self.results[index.row()]
        if role == Qt.DecorationRole:
            return self.tile(index.row())
        if role == Qt.ToolTipRole:
            lines = [r.path, *_when_where_lines(r), f"score {r.score:.3f}"]
            if r.matched:  # words: why it matched
                lines.append(f"matched by {', '.join(r.matched)}")
            return "\n".join(lines) + ("\n(offline)" if r.offline else "")
        if role == Qt.DisplayRole:
            return None
        if role == ScoreRole:
            return r.score
        if role == PathRole:
            return r.path
        if role == IdRole:
            return r.id
        return None

    def tile(self, row: int) -> QPixmap:
        """The row's thumbnail, or the placeholder while it loads (asked for here, once)."""
        r = self.results[row]
        pix = self._pixmaps.get(r.id)
        if pix is None:
            self._request(r)
            return self._placeholder
        return pix

    def _request(self, r: Result) -> None:
        if r.id in self._requested:
            return
        self._requested.add(r.id)
        args = (self._signals, self.generation, r.id, r.path, self.thumb_size, self.cache, self.dpr)
        self._pool.submit(lambda: _load_thumbnail(*args))

    def _thumb_ready(self, generation: int, photo_id: int, image: QImage) -> None:
        if generation != self.generation or photo_id not in self._row_of:
            return
        if image.isNull():
            self._pixmaps[photo_id] = self._placeholder
        else:
            self._pixmaps[photo_id] = QPixmap.fromImage(image)
        idx = self.index(self._row_of[photo_id])
        self.dataChanged.emit(idx, idx, [Qt.DecorationRole])

    def result(self, row: int) -> Result:
        return self.results[row]

    def flags(self, index: QModelIndex):
        base = super().flags(index)
        return base | Qt.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list"]

    def mimeData(self, indexes) -> QMimeData:
        """Dragged photos as their files, for file managers, editors and mail."""
        mime = QMimeData()
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime.setUrls([QUrl.fromLocalFile(self.results[r].path) for r in rows])
        return mime


class TagsModel(QAbstractTableModel):
    """Every tag with its photo count (two sortable columns)."""

    HEADERS = ("Tag", "Photos")

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.rows: list[TagCount] = []
        # The model keeps the order the view asks for (sort), in Python: a sorting proxy compares
        # rows through data(), a call into Python for each side, and refreshing 2,000 tags that
        # way froze the window 0.5-0.6 s (500 tags: 0.12 s), against 7 ms already in order.
        self._order = (1, Qt.DescendingOrder)

    def set_tags(self, rows: list[TagCount]) -> None:
        self.beginResetModel()
        self.rows = self._ordered(rows)
        self.endResetModel()

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        """By name (case-insensitive) or by count, ties by name; the order holds for later lists."""
        if column not in (0, 1):
            return
        self._order = (column, Qt.SortOrder(order))
        self.layoutAboutToBeChanged.emit()
        before, old = self.persistentIndexList(), self.rows
        self.rows = self._ordered(old)
        row_of = {id(r): i for i, r in enumerate(self.rows)}
        self.changePersistentIndexList(before, [self.index(row_of[id(old[i.row()])], i.column()) for i in before])
        self.layoutChanged.emit()

    def _ordered(self, rows: list[TagCount]) -> list[TagCount]:
        column, order = self._order
        descending = order == Qt.DescendingOrder
        if column == 0:
            return sorted(rows, key=lambda r: r.tag.casefold(), reverse=descending)
        sign = -1 if descending else 1  # the most used first, and equal counts by name either way
        return sorted(rows, key=lambda r: (sign * r.count, r.tag.casefold()))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else 2

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row = self.rows[index.row()]
        if role in (Qt.DisplayRole, Qt.EditRole):
            return row.tag if index.column() == 0 else row.count
        if role == Qt.TextAlignmentRole and index.column() == 1:
            return int(Qt.AlignRight | Qt.AlignVCenter)
        return None

    def headerData(self, section: int, orientation, role: int = Qt.DisplayRole):
        if role == Qt.DisplayRole and orientation == Qt.Horizontal and 0 <= section < 2:
            return self.HEADERS[section]
        return None
