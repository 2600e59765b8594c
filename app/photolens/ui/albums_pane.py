"""The Albums pane: the user's albums and smart albums, with their photo counts.

Choosing an album shows its photos in the grid; photos dropped on an album (from the grid or a
file manager) go in it; "Add to album" on selected photos is the window's (it calls
`add_photos`). Smart albums fill themselves from their query; the pane shows how many.
"""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QInputDialog, QListWidget, QListWidgetItem, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from ..engine.albums import Album
from ..engine.search import Result
from .status import counted
from .tasks import Tasks

NameRole = Qt.UserRole + 1


class _AlbumList(QListWidget):
    """A list that takes photos dropped on an item: `dropped(name, paths)`."""

    dropped = Signal(str, list)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        item = self.itemAt(event.position().toPoint())
        if item is not None and event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        item = self.itemAt(event.position().toPoint())
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if item is not None and paths:
            self.dropped.emit(item.data(NameRole), paths)
            event.acceptProposedAction()


class AlbumsPane(QWidget):
    """Signals:
        album_shown(str, list): an album's photos to show in the grid (name, [Result]).
        changed(): albums or their photos changed.
        message(str): a line for the status bar.
    """

    album_shown = Signal(str, list)
    changed = Signal()
    message = Signal(str)

    def __init__(self, catalog, tasks: Tasks, parent: QWidget | None = None,
                 ask: Callable[[str, str], tuple[str, bool]] | None = None):
        super().__init__(parent)
        self.catalog, self.tasks = catalog, tasks
        self.ask = ask or (lambda title, label: QInputDialog.getText(self, title, label))
        self.albums: list[Album] = []
        self.list = _AlbumList()
        self.list.itemActivated.connect(lambda item: self.show_album(item.data(NameRole)))
        self.list.itemClicked.connect(lambda item: self.show_album(item.data(NameRole)))
        self.list.dropped.connect(self.add_paths)
        new = QPushButton("New…")
        new.setToolTip("A new album; add photos with right-click → Add to album, or drop them here")
        new.clicked.connect(lambda: self.new_album())
        smart = QPushButton("Smart…")
        smart.setToolTip("An album that holds the good matches of a search, and takes in new photos that match")
        smart.clicked.connect(lambda: self.new_smart_album())
        delete = QPushButton("Delete")
        delete.setToolTip("Delete the album (its photos stay in the library)")
        delete.clicked.connect(self.delete_current)
        row = QHBoxLayout()
        for b in (new, smart, delete):
            row.addWidget(b)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self.list, 1)
        v.addLayout(row)
        self.refresh()

    def refresh(self) -> None:
        self.tasks.read(self.catalog.albums.list, self._fill)

    def _fill(self, albums: list[Album]) -> None:
        self.albums = albums
        current = self.current_name()
        self.list.clear()
        for a in albums:
            item = QListWidgetItem(f"{a.name}  ({a.count:,})" + ("  ⚡" if a.smart else ""))
            item.setData(NameRole, a.name)
            item.setToolTip(f"Smart album: {a.describe()}" if a.smart else counted(a.count))
            self.list.addItem(item)
            if a.name == current:
                self.list.setCurrentItem(item)

    def current_name(self) -> str | None:
        item = self.list.currentItem()
        return item.data(NameRole) if item is not None else None

    def names(self) -> list[str]:
        return [a.name for a in self.albums]

    # -- actions ----------------------------------------------------------------------------

    def show_album(self, name: str) -> None:
        def work():
            got = self.catalog.albums.get(name)
            return [Result(p.id, p.path, p.score if p.score is not None else 1.0) for p in got.photos]

        self.tasks.read(work, lambda results: self.album_shown.emit(name, results),
                        lambda e: self.message.emit(str(e)))

    def new_album(self, ids: list[int] | None = None) -> None:
        name, ok = self.ask("New album", "Name the album:")
        if ok and name.strip():
            self._write(lambda: (self.catalog.albums.create(name), self.catalog.albums.add(name, ids or [])),
                        f"Made the album {name.strip()}")

    def new_smart_album(self) -> None:
        name, ok = self.ask("New smart album", "Name the album:")
        if not ok or not name.strip():
            return
        query, ok = self.ask("New smart album", f"Which photos belong in {name.strip()}? (a search, with filters "
                             "if you like: dog on beach, beach place:Paris after:2019-01-01, person:Anna)")
        if ok and query.strip():
            self._write(lambda: self.catalog.albums.create(name, query=query),
                        f"Made the smart album {name.strip()}")

    def add_photos(self, name: str, ids: list[int]) -> None:
        self._write(lambda: self.catalog.albums.add(name, ids), f"Added {counted(len(ids))} to {name}")

    def add_paths(self, name: str, paths: list[str]) -> None:
        self._write(lambda: self.catalog.albums.add(name, [self.catalog.photo_id(p) for p in paths]),
                    f"Added {counted(len(paths))} to {name}")

    def delete_current(self) -> None:
        name = self.current_name()
        if name is None:
            return
        if QMessageBox.question(self, "Delete album", f"Delete the album {name}? Its photos stay in the "
                                "library.") == QMessageBox.Yes:
            self._write(lambda: self.catalog.albums.delete(name), f"Deleted the album {name}")

    def _write(self, fn, done: str) -> None:
        def finished(_):
            self.message.emit(done)
            self.refresh()
            self.changed.emit()

        self.tasks.write(fn, finished, lambda e: self.message.emit(str(e)))
