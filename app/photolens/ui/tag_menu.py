"""The tag pane's context menu: rename or merge a tag, remove it from every photo, never
suggest it, and accept or reject it on the selected photos. Every change goes through the
window's serial writer; the tag counts are refreshed as soon as it is done."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtWidgets import QInputDialog, QMenu, QMessageBox, QTableView, QWidget

from .status import counted


class TagMenu(QObject):
    """Attached to the tag pane's view. `selected` gives the ids of the photos selected in the
    results grid; `changed` is called after every change (refresh counts and results).

    Signals: none (it calls `changed`)."""

    def __init__(self, view: QTableView, catalog, tasks, selected: Callable[[], list[int]],
                 changed: Callable[[], None], parent: QWidget):
        super().__init__(parent)
        self.view, self.catalog, self.tasks = view, catalog, tasks
        self.selected, self.changed, self.window = selected, changed, parent
        view.setContextMenuPolicy(Qt.CustomContextMenu)
        view.customContextMenuRequested.connect(self.open_at)

    def tag_at(self, pos: QPoint) -> str | None:
        index = self.view.indexAt(pos)
        return index.sibling(index.row(), 0).data() if index.isValid() else None

    def menu_for(self, tag: str) -> QMenu:
        menu = QMenu(self.window)
        n = len(self.selected())
        selected = f"the {counted(n, 'selected photo')}"
        accept = menu.addAction(f"Add “{tag}” to {selected}", lambda: self.accept(tag))
        reject = menu.addAction(f"Remove “{tag}” from {selected}", lambda: self.reject(tag))
        accept.setEnabled(n > 0)
        reject.setEnabled(n > 0)
        menu.addSeparator()
        menu.addAction("Rename or merge...", lambda: self.rename(tag))
        menu.addAction(f"Remove “{tag}” from every photo", lambda: self.delete(tag))
        menu.addAction(f"Never suggest “{tag}”", lambda: self.never(tag))
        return menu

    def open_at(self, pos: QPoint) -> None:
        tag = self.tag_at(pos)
        if tag is not None:
            self.menu_for(tag).exec(self.view.viewport().mapToGlobal(pos))

    def _write(self, fn) -> None:
        self.tasks.write(fn, lambda _: self.changed())

    def accept(self, tag: str) -> None:
        ids = self.selected()
        self._write(lambda: self.catalog.add_tag(ids, tag))

    def reject(self, tag: str) -> None:
        ids = self.selected()
        self._write(lambda: self.catalog.remove_tag(ids, tag))

    def rename(self, tag: str, new: str | None = None) -> None:
        if new is None:
            new, ok = QInputDialog.getText(self.window, "Rename tag",
                                           f"New name for “{tag}” (an existing tag merges them):", text=tag)
            if not ok:
                return
        if new.strip() and new.strip() != tag:
            self._write(lambda: self.catalog.rename_tag(tag, new))

    def delete(self, tag: str, confirm: bool = True) -> None:
        if confirm and QMessageBox.question(self.window, "Remove tag",
                                            f"Remove “{tag}” from every photo?") != QMessageBox.Yes:
            return
        self._write(lambda: self.catalog.delete_tag(tag))

    def never(self, tag: str) -> None:
        self._write(lambda: self.catalog.never_suggest(tag))
