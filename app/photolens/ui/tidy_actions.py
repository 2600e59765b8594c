"""Where duplicates and albums meet the window: the Albums pane, "Find duplicates…", "Add to
album" on selected photos, and a note when smart albums take in new photos.

Kept out of main_window.py (one concept, and that module's size); the window makes one
`TidyActions` and asks it to fill its photo menu.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

from .albums_pane import AlbumsPane
from .duplicates_view import DuplicatesDialog
from .panes import tip_title_buttons


class TidyActions(QObject):
    """Signals: (none; it acts on the window it is given)."""

    def __init__(self, window: QMainWindow, thumbs: Path, view_menu: QMenu | None = None,
                 tools_menu: QMenu | None = None):
        super().__init__(window)
        self.window = window
        self.thumbs = thumbs
        self.pane = AlbumsPane(window.catalog, window.tasks)
        self.dock = QDockWidget("Albums", window)
        self.dock.setObjectName("albums")  # its place is kept across sessions
        self.dock.setWidget(self.pane)
        tip_title_buttons(self.dock)
        window.addDockWidget(Qt.LeftDockWidgetArea, self.dock)
        self.pane.album_shown.connect(self._show_album)
        self.pane.message.connect(lambda text: window.status_bar.showMessage(text, 8000))
        window.index_done.connect(self.notify)
        window.library_changed.connect(self.notify)
        if view_menu is not None:
            view_menu.addAction(self.dock.toggleViewAction())
        if tools_menu is not None:
            tools_menu.addAction(QAction("Find &duplicates...", window, triggered=self.review_duplicates))

    def _show_album(self, name: str, results: list) -> None:
        w = self.window
        w.teaching = None
        w.search.clear_quietly()
        w.search_serial += 1
        w._show_results(w.search_serial, f"album: {name}", results, len(results), [])

    def add_to_menu(self, menu: QMenu, photo_ids: list[int]) -> None:
        """"Add to album ▸" for these photos: each album, and a new one."""
        sub = menu.addMenu(f"Add to album ({len(photo_ids)} photos)" if len(photo_ids) > 1 else "Add to album")
        for name in self.pane.names():
            sub.addAction(name, lambda n=name: self.pane.add_photos(n, photo_ids))
        sub.addAction("New album...", lambda: self.pane.new_album(photo_ids))

    def review_duplicates(self) -> DuplicatesDialog:
        dialog = DuplicatesDialog(self.window.catalog, self.window.tasks, self.thumbs, self.window)
        dialog.trashed.connect(lambda n: (self.window.run_search(), self.pane.refresh()))
        dialog.show()
        return dialog

    def notify(self, summary: dict) -> None:
        """"3 new photos in Pets": what smart albums took in during an indexing run."""
        taken = summary.get("smart_albums") or {}
        if taken:
            self.window.status_bar.showMessage(
                "; ".join(f"{len(ids):,} new photo{'s' if len(ids) > 1 else ''} in {name}"
                          for name, ids in taken.items()), 10000)
        self.pane.refresh()
