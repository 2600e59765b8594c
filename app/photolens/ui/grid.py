"""The photo grid: square tiles, keyboard-open, and drag-out of the selected files."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QListView

from .models import IdRole, ResultsModel

__all__ = ["PhotoGrid", "grid_view"]

TILE_GAP = 12  # pixels around each square thumbnail, so selection shows as a frame
LAYOUT_BATCH = 500  # items laid out per event-loop turn: 100,000 photos never freeze the window


class PhotoGrid(QListView):
    """A grid of square thumbnails over a `ResultsModel`.

    Every tile has the same square shape (thumbnails are centre crops, see `ResultsModel`), so
    a photo never changes shape between refreshes. Enter or Space opens the current photo;
    dragging photos out gives other applications their files (text/uri-list).

    Signals:
        open_photo(int): the user asked to open this photo id (Enter, Space or double-click).
    """

    open_photo = Signal(int)

    def __init__(self, model: ResultsModel, icon: int, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setViewMode(QListView.IconMode)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Static)
        self.setUniformItemSizes(True)  # lets the view lay out 100,000 items without asking each
        self.setIconSize(QSize(icon, icon))
        self.setGridSize(QSize(icon + TILE_GAP, icon + TILE_GAP))
        self.setSpacing(2)
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setLayoutMode(QListView.Batched)
        self.setBatchSize(LAYOUT_BATCH)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragOnly)
        self.setDefaultDropAction(Qt.CopyAction)
        self.doubleClicked.connect(lambda index: self.open_photo.emit(index.data(IdRole)))
        self._icon = icon

    def resizeEvent(self, event) -> None:
        """Columns fill the width: the cells widen to share what is left over after the last
        whole column, instead of leaving a strip empty on the right."""
        width = self.viewport().width() - 2 * self.spacing()
        cell = self._icon + TILE_GAP
        columns = max(1, width // cell)
        self.setGridSize(QSize(max(cell, width // columns), cell))
        super().resizeEvent(event)

    def keyPressEvent(self, event) -> None:
        index = self.currentIndex()
        if event.key() in (Qt.Key_Return, Qt.Key_Enter, Qt.Key_Space) and index.isValid() \
                and not event.modifiers() & Qt.ControlModifier:
            self.open_photo.emit(index.data(IdRole))
            return
        super().keyPressEvent(event)


def grid_view(model: ResultsModel, icon: int) -> PhotoGrid:
    return PhotoGrid(model, icon)
