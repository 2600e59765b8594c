"""Item models: search results over photo ids (thumbnails loaded lazily), and tags."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QAbstractTableModel, QModelIndex, QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPixmap

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
                    cache: Path) -> None:
    """Runs on a worker: makes a QImage (never a QPixmap: those belong to the GUI thread)
    from the disk cache, creating the cached thumbnail when missing."""
    try:
        image = QImage(str(thumbnail(path, size, cache)))
    except Exception:  # an unreadable or offline photo shows a grey tile
        image = QImage()
    signals.ready.emit(generation, photo_id, image)


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
        self.generation = 0
        self._pixmaps: dict[int, QPixmap] = {}
        self._requested: set[int] = set()
        self._pool = Pool(4, "photolens-thumbs")
        pool = self._pool  # not self: the wrapper may be gone by the time destroyed fires
        self.destroyed.connect(lambda *_: pool.shutdown())
        self._signals = _ThumbSignals()
        self._signals.ready.connect(self._thumb_ready)
        self._placeholder = QPixmap(QSize(thumb_size, thumb_size))
        self._placeholder.fill(QColor("#3a3d42"))
        self._row_of: dict[int, int] = {}

    def set_results(self, results: list[Result]) -> None:
        self.beginResetModel()
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
            pix = self._pixmaps.get(r.id)
            if pix is None:
                self._request(r)
                return self._placeholder
            return pix
        if role == Qt.ToolTipRole:
            return (f"{r.path}\nscore {r.score:.3f}" + ("\n(offline)" if r.offline else "")
                    + (f"\nmatched by {', '.join(r.matched)}" if r.matched else ""))  # words: why it matched
        if role == Qt.DisplayRole:
            return None
        if role == ScoreRole:
            return r.score
        if role == PathRole:
            return r.path
        if role == IdRole:
            return r.id
        return None

    def _request(self, r: Result) -> None:
        if r.id in self._requested:
            return
        self._requested.add(r.id)
        args = (self._signals, self.generation, r.id, r.path, self.thumb_size, self.cache)
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


class TagsModel(QAbstractTableModel):
    """Every tag with its photo count (two sortable columns)."""

    HEADERS = ("Tag", "Photos")

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.rows: list[TagCount] = []

    def set_tags(self, rows: list[TagCount]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

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
