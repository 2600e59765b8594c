"""The main window: search bar, results grid, the side panes and the status bar. Widgets only:
the library's jobs run in `LibraryJobs`, the panes live in `panes`, photo actions in `photo_actions`."""
from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QComboBox, QFileDialog, QHBoxLayout, QInputDialog, QLabel, QMainWindow, QMenu,
                               QMessageBox, QPushButton, QStackedWidget, QToolButton, QVBoxLayout, QWidget)

from ..engine.catalog import SORT_DATE, SORT_RELEVANCE, Catalog
from ..engine.config import cache_dir
from ..engine.indexer import SEARCHABLE, STAGES
from ..engine.jobs import Progress
from . import photo_actions
from .grid import PhotoGrid
from .help import show_shortcuts
from .library_jobs import LibraryJobs
from .models import IdRole, PathRole, ResultsModel
from .panes import FoldersPane, SimilarPane, TagsPane
from .people_pane import attach_people
from .search_bar import SearchBar
from .tag_menu import TagMenu
from .settings import SettingsDialog
from .status import StatusBar, counted
from .tasks import Tasks
from .tidy_actions import TidyActions
from .viewer import Viewer
from .welcome import show_welcome
from .when_where import WhenWhereControls
from .window_state import fit_to_screen, restore_layout, save_layout, tabify_side_panes

MAX_RESULTS = 1000
LIVE_REFRESH_S = 2.0  # while indexing, the grid takes in newly committed photos at most this often
LIVE_STAGES = {STAGES[SEARCHABLE], "indexing"}  # the stages whose batches bring new photos to show


class MainWindow(QMainWindow):
    """Signals:
        search_done(int): a search finished and the grid shows this many photos.
        similar_done(int): the similar pane was filled with this many photos.
        index_done(dict): an indexing run finished, with its summary.
        library_changed(dict): the watcher brought the library in step with the disk.
        proposals_done(int): the grid shows this many proposals for the concept being taught.
    """

    search_done = Signal(int)
    similar_done = Signal(int)
    index_done = Signal(dict)
    library_changed = Signal(dict)
    proposals_done = Signal(int)

    def __init__(self, catalog: Catalog, welcome: bool = True, watch: bool = True):
        super().__init__()
        self.catalog = catalog
        self.tasks = Tasks(self)
        self.jobs = LibraryJobs(catalog, self.tasks, watch=watch, parent=self)
        self.teaching: str | None = None  # the concept being taught, while its proposals show
        self.show_weaker, self.last_query = False, ""
        self.search_serial = self.recent_serial = 0  # recent_serial: the search_serial the recent photos were asked at
        self._live_refreshed = 0.0
        self.viewers: list[Viewer] = []
        self.setWindowTitle("Photolens")
        self.setAcceptDrops(True)
        thumbs = cache_dir() / "thumbnails"
        self.results = ResultsModel(thumbs, catalog.settings.thumbnail_size, self)
        self.status_bar = StatusBar(self)
        self.setStatusBar(self.status_bar)
        self.tasks.error.connect(lambda msg: self.status_bar.showMessage(msg, 8000))
        self._build_central(catalog.settings.thumbnail_size)
        self.similar = SimilarPane(catalog, self.tasks, thumbs, self)
        self.tags = TagsPane(catalog, self.tasks, self)
        self.tag_menu = TagMenu(self.tags.view, catalog, self.tasks, self.selected_photo_ids,
                                self.tags.refresh, self)  # rename, merge, delete, never; accept/reject
        self.folders = FoldersPane(catalog, self.tasks, self)
        self.addDockWidget(Qt.RightDockWidgetArea, self.similar)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.tags)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.folders)
        self.when_where = WhenWhereControls(catalog, self.tasks, self, self.search.text, self.search.set_text, self.grid)
        self.centralWidget().layout().insertWidget(1, self.when_where.chips)  # under the search bar
        self.people = attach_people(self, thumbs)  # the People dock (issue 19)
        self._connect()
        self._build_menus()
        tabify_side_panes(self, self.tags, keep_apart=(self.folders,))
        fit_to_screen(self)
        restore_layout(self)
        self.similar.hide()  # its place is remembered, but it opens with a subject (Find similar)
        for pane in (self.tags, self.folders, self.when_where):
            pane.refresh()
        self.show_recent()
        self.show_warnings()
        self.jobs.wait_prepared()  # the window shows with its index and tokenizer read (LibraryJobs)
        if welcome and not catalog.folders():
            QTimer.singleShot(300, self.welcome)
        elif catalog.folders():
            QTimer.singleShot(200, self.start_indexing)

    # -- layout -----------------------------------------------------------------------------

    def _build_central(self, icon: int) -> None:
        self.search = SearchBar()
        self.sort = QComboBox(toolTip="Order of the results")
        self.sort.addItems(["Relevance", "Date taken"])
        self.related = QLabel(objectName="related", wordWrap=True)
        self.related.setTextInteractionFlags(Qt.TextBrowserInteraction)
        self.grid = PhotoGrid(self.results, icon)
        self.grid.setContextMenuPolicy(Qt.CustomContextMenu)
        self.empty = QWidget()
        lay = QVBoxLayout(self.empty)
        self.empty_label = QLabel("No good matches", objectName="empty", wordWrap=True, alignment=Qt.AlignCenter)
        self.weaker = QPushButton("Show weaker matches")
        lay.addStretch(1)
        lay.addWidget(self.empty_label)
        lay.addWidget(self.weaker, 0, Qt.AlignCenter)
        lay.addStretch(2)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.empty)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(QLabel("Sort:"))
        top.addWidget(self.sort)
        central = QWidget()
        v = QVBoxLayout(central)
        v.addLayout(top)
        v.addWidget(self.related)
        v.addWidget(self.stack, 1)
        self.setCentralWidget(central)

    def _connect(self) -> None:
        self.search.search_requested.connect(self.run_search)
        self.sort.currentIndexChanged.connect(lambda _: self.run_search())
        self.related.linkActivated.connect(self.search.set_text)
        self.grid.open_photo.connect(lambda pid: self.open_viewer(pid))
        self.grid.customContextMenuRequested.connect(self._grid_menu)
        self.weaker.clicked.connect(self._show_weaker)
        self.similar.done.connect(self.similar_done)
        self.similar.open_photo.connect(lambda model, pid: self.open_viewer(pid, model))
        self.tags.tag_chosen.connect(self.show_tag)
        self.folders.add_requested.connect(self.choose_folder)
        self.folders.remove_confirmed.connect(self.remove_folder)
        bar = self.status_bar
        bar.pause_button.clicked.connect(self.jobs.toggle_pause)
        bar.failures_button.clicked.connect(self.show_failures)
        jobs = self.jobs
        jobs.started.connect(lambda: bar.busy("Looking for new photos..."))
        jobs.progress.connect(self._show_progress)
        jobs.paused_changed.connect(bar.show_paused)
        jobs.idle.connect(bar.idle)
        jobs.indexed.connect(self._indexed)
        jobs.details_done.connect(self._details_done)
        jobs.watched.connect(self._watched)
        jobs.failed.connect(lambda msg: bar.progress_label.setText(f"Indexing stopped: {msg}"))

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for a in (QAction("&Add photo folder...", self, shortcut=QKeySequence("Ctrl+O"), triggered=self.choose_folder),
                  QAction("Search by &pasted image", self, shortcut=QKeySequence.Paste, triggered=self.paste_image),
                  QAction("&Settings...", self, shortcut=QKeySequence("Ctrl+,"), triggered=self.open_settings),
                  QAction("&Quit", self, shortcut=QKeySequence.Quit, triggered=self.close)):
            file_menu.addAction(a)
        view = self.menuBar().addMenu("&View")
        for dock in (self.tags, self.folders, self.when_where.places, self.when_where.timeline, self.similar, self.people):
            view.addAction(dock.toggleViewAction())
        view.addAction(QAction("Full screen", self, shortcut=QKeySequence("F11"), triggered=self._toggle_full_screen))
        self.tidy = TidyActions(self, cache_dir() / "thumbnails", view, self.menuBar().addMenu("&Tools"))
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(QAction("&Keyboard shortcuts", self, shortcut=QKeySequence("F1"),
                                    triggered=lambda: show_shortcuts(self)))
        for more in self.menuBar().findChildren(QToolButton):  # Qt's "»" when the menus do not fit
            more.setToolTip("More menus")
        self.addAction(QAction("Focus search", self, shortcut=QKeySequence.Find, triggered=self.search.setFocus))
        for name, keys, slot in (("back", "Alt+Left", self.similar.back), ("forward", "Alt+Right", self.similar.forward)):
            self.addAction(QAction(f"Similar: {name}", self, shortcut=QKeySequence(keys), triggered=slot))

    def _toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # -- search -----------------------------------------------------------------------------

    def show_recent(self, live: bool = False) -> None:
        """Before any query: the library's photos, newest first. `live`: more arrived while
        indexing; they are added to the grid without moving it."""
        serial = self.recent_serial = self.search_serial
        self.tasks.latest(serial, lambda: self.catalog.recent(MAX_RESULTS), lambda res: self._show_recent(serial, res, live))

    def _showing_recent(self) -> bool:  # not a tag's or an album's photos, nor a search, nor proposals
        return self.recent_serial == self.search_serial and not self.search.query() and self.teaching is None

    def _show_recent(self, serial: int, results, live: bool = False) -> None:
        if serial != self.search_serial or not self._showing_recent():
            return  # a search, a tag or proposals came after
        if live:
            self.results.update_results(results)
        else:
            self.grid.show_list(results, by_date=True, key="recent")  # newest first: month headers
        self.stack.setCurrentWidget(self.grid)

    def run_search(self) -> None:
        text = self.search.query()
        if text:
            self.teaching = None  # a new search ends the proposals
        self.search_serial += 1
        serial = self.search_serial
        if not text:
            self.related.clear()
            self.when_where.show_understood(None)
            self.show_recent()
            return
        if text != self.last_query:
            self.show_weaker = False
        self.last_query = text
        sort = SORT_DATE if self.sort.currentIndex() == 1 else SORT_RELEVANCE
        weaker, shown_as = self.show_weaker, self.search.describe()

        def work():
            results = self.catalog.search(text, k=MAX_RESULTS, sort=sort)
            shown = results if weaker else [r for r in results if r.good]
            return shown, len(results), self.catalog.related_words(text), self.catalog.understand(text)

        self.tasks.latest(serial, work, lambda res: self._show_results(serial, shown_as, *res, by_date=sort == SORT_DATE),
                        lambda e: self._search_failed(serial, e))

    def _show_results(self, serial: int, text: str, shown, total: int, related, understood=None, by_date=False):
        if serial != self.search_serial:
            return  # a newer search is on its way
        self.grid.show_list(shown, by_date, key=(text, by_date))  # the same query again keeps its place
        self.when_where.show_understood(understood)  # what the query was taken to mean, as chips
        links = ", ".join(f'<a href="{w}">{w}</a>' for w in related)
        self.related.setText(f"Related: {links}" if related and shown else "")  # none for gibberish
        if shown:
            self.stack.setCurrentWidget(self.grid)
        else:
            self.empty_label.setText(f"No good matches for “{text}”")
            self.weaker.setVisible(total > 0)
            self.stack.setCurrentWidget(self.empty)
        self.status_bar.showMessage(f"{counted(len(shown))} for “{text}”" if shown else "", 5000)  # no stale count
        self.search_done.emit(len(shown))

    def _search_failed(self, serial: int, error: Exception) -> None:
        if serial != self.search_serial:
            return
        self.results.set_results([])
        self.empty_label.setText(str(error))
        self.weaker.hide()
        self.stack.setCurrentWidget(self.empty)
        self.search_done.emit(0)

    def _show_weaker(self) -> None:
        self.show_weaker = True
        self.run_search()

    def search_by_image(self, path: str, extra: str = "", label: str | None = None) -> None:
        """Search by a photo (plus words): the search bar shows it as a chip."""
        self.search.set_image(path, extra, label)

    # -- drop and paste ---------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if event.source() is None and (event.mimeData().hasUrls() or event.mimeData().hasImage()):
            event.acceptProposedAction()  # from another application, never our own drag-out

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.search_by_image(urls[0])
        elif event.mimeData().hasImage():
            self._search_qimage(event.mimeData().imageData(), "Dropped image")

    def paste_image(self) -> None:
        if self.search.edit.hasFocus() and not QGuiApplication.clipboard().mimeData().hasImage():
            self.search.edit.paste()
            return
        mime = QGuiApplication.clipboard().mimeData()
        if mime.hasUrls() and mime.urls()[0].isLocalFile():
            self.search_by_image(mime.urls()[0].toLocalFile())
        elif mime.hasImage():
            self._search_qimage(mime.imageData(), "Pasted image")
        elif self.search.edit.hasFocus():
            self.search.edit.paste()

    def _search_qimage(self, image, label: str) -> None:
        path = cache_dir() / "pasted.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(str(path))
        self.search.set_image(str(path), "", label, image)

    # -- context menu and viewer ------------------------------------------------------------

    def _grid_menu(self, pos) -> None:
        index = self.grid.indexAt(pos)
        if index.isValid():
            self.context_menu(index).exec(self.grid.viewport().mapToGlobal(pos))

    def selected_paths(self, index: QModelIndex | None = None) -> list[str]:
        """The selected photos' paths, or the clicked one's when it is not selected."""
        rows = sorted({i.row() for i in self.grid.selectionModel().selectedIndexes()})
        if index is not None and index.row() not in rows:
            rows = [index.row()]
        return [self.results.result(r).path for r in rows]

    def context_menu(self, index: QModelIndex) -> QMenu:
        path, photo_id = index.data(PathRole), index.data(IdRole)
        paths = self.selected_paths(index)
        many = f" ({len(paths)} photos)" if len(paths) > 1 else ""
        menu = QMenu(self)
        menu.addAction("Find similar", lambda: self.find_similar(photo_id, path))
        menu.addAction("Open", lambda: self.open_viewer(photo_id))
        menu.addAction("This photo, but at night", lambda: self.search_by_image(path, "at night"))
        menu.addSeparator()
        menu.addAction(f"Open with default application{many}", lambda: photo_actions.open_with_default_app(paths))
        menu.addAction("Show in file manager", lambda: photo_actions.show_in_file_manager(paths))
        menu.addAction(f"Copy to folder...{many}", lambda: self.copy_to_folder(paths))
        menu.addAction("Copy path" + ("s" if many else ""), lambda: photo_actions.copy_paths(paths))
        menu.addSeparator()
        if self.teaching:
            menu.addAction(f"Yes, this is “{self.teaching}”", lambda: self.judge_proposal(photo_id, True))
            menu.addAction(f"No, this is not “{self.teaching}”", lambda: self.judge_proposal(photo_id, False))
        menu.addAction("Teach a tag from the selected photos...", self.teach_from_selection)
        self.tidy.add_to_menu(menu, self.selected_photo_ids() or [photo_id])
        return menu

    def copy_to_folder(self, paths: list[str], folder: str | None = None) -> None:
        folder = folder or QFileDialog.getExistingDirectory(self, f"Copy {counted(len(paths))} to")
        if not folder:
            return
        made, failed = photo_actions.copy_files_to(paths, folder)
        note = f"; {len(failed)} could not be copied ({failed[0][1]})" if failed else ""
        self.status_bar.showMessage(f"Copied {counted(len(made))} to {folder}{note}", 8000)

    def open_viewer(self, photo_id: int | QModelIndex, model: ResultsModel | None = None) -> Viewer:
        """Show a photo in the viewer; it steps through `model` (default: the grid)."""
        if isinstance(photo_id, QModelIndex):
            photo_id = photo_id.data(IdRole)
        viewer = Viewer(self.catalog, self.tasks, model or self.results, photo_id, self)
        viewer.tags_changed.connect(self.tags.refresh)
        viewer.similar_region.connect(lambda *part: (viewer.close(), self.similar.show_subject(*part)))  # its results
        viewer.finished.connect(lambda _: self.viewers.remove(viewer) if viewer in self.viewers else None)
        self.viewers.append(viewer)
        viewer.show()
        return viewer

    # -- teaching a concept ---------------------------------------------------------------------

    def selected_photo_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.grid.selectionModel().selectedIndexes()})
        return [self.results.result(r).id for r in rows]

    def teach_from_selection(self, name: str | None = None) -> None:
        """The user's own tag ("Minou") from a handful of their photos: those photos get the
        tag, and a small classifier proposes it on others, which they accept or reject."""
        ids = self.selected_photo_ids()
        if not ids:
            QMessageBox.information(self, "Teach a tag", "Select one or more photos of the thing to teach first.")
            return
        if name is None:
            name, ok = QInputDialog.getText(self, "Teach a tag",
                                            f"Name what these {len(ids)} photos show (a pet's name, a place...):")
            if not ok:
                return
        name = name.strip()
        if not name:
            return
        self.teaching = name
        self.tasks.write(lambda: self.catalog.teach(name, ids), lambda _: (self.tags.refresh(), self.show_proposals()))

    def judge_proposal(self, photo_id: int, accepted: bool) -> None:
        name = self.teaching
        self.tasks.write(lambda: self.catalog.judge(name, photo_id, accepted),
                         lambda _: (self.tags.refresh(), self.show_proposals()))

    def show_proposals(self) -> None:
        """Photos the taught classifier thinks show the concept, best first (refined after
        every accept or reject)."""
        name = self.teaching
        self.search.clear_quietly()
        self.search_serial += 1
        serial = self.search_serial
        self.tasks.read(lambda: self.catalog.propose(name, k=200),
                        lambda res: (self._show_results(serial, f"maybe {name}", res, len(res), []),
                                     self.status_bar.showMessage(
                                         f"Photos that may show “{name}”: right-click to say yes or no", 15000),
                                     self.proposals_done.emit(len(res))))

    # -- similar pane and tags ----------------------------------------------------------------

    def find_similar(self, photo_id: int, path: str) -> None:
        self.similar.show_subject(photo_id, path)

    def show_tag(self, tag: str) -> None:
        self.show_photos(f"tag: {tag}", lambda: self.catalog.photos_with_tag(tag))

    def show_photos(self, label: str, fetch) -> None:  # fetch runs on the read pool
        self.teaching = None
        self.search.clear_quietly()
        self.search_serial = serial = self.search_serial + 1
        self.tasks.latest(serial, fetch, lambda res: self._show_results(serial, label, res, len(res), []))

    # -- folders ------------------------------------------------------------------------------

    def welcome(self) -> QMessageBox:
        return show_welcome(self, self.add_folder, self.choose_folder)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        self.tasks.write(lambda: self.catalog.add_folder(folder),
                         lambda _: (self.folders.refresh(), self.start_indexing()),
                         lambda e: QMessageBox.warning(self, "Photolens", str(e)))

    def remove_folder(self, path: str) -> None:
        """Stop searching a folder (the user confirmed in the folders pane's dialog)."""
        self.tasks.write(lambda: self.catalog.remove_folder(path),
                         lambda _: (self.folders.refresh(), self.tags.refresh(), self.run_search()))

    # -- the library's jobs, shown ----------------------------------------------------------------

    def start_indexing(self) -> None:
        self.jobs.start_indexing()

    def _show_progress(self, p: Progress) -> None:
        self.status_bar.show_progress(p, self.jobs.paused)
        now = time.monotonic()
        if p.stage in LIVE_STAGES and now - self._live_refreshed >= LIVE_REFRESH_S:
            self._live_refreshed = now  # batches have committed: show them, and the folders' counts
            self.folders.refresh()
            if self._showing_recent():
                self.show_recent(live=True)

    def _indexed(self, summary: dict) -> None:
        done = [f"{counted(summary['embedded'], 'new photo')} indexed"] if summary["embedded"] else []
        if summary.get("retagged"):
            done.append(f"tags updated on {summary['retagged']:,}")
        self.status_bar.progress_label.setText(" · ".join(done) if done else "Up to date")
        self.status_bar.show_failures(summary.get("failed_total", 0))
        self.folders.refresh()
        self.tags.refresh()
        self.when_where.refresh()
        device = self.catalog.embedder.device_name.upper()
        self.status_bar.device_label.setText(f"{self.catalog.model.title} · {device}")
        self.show_warnings()
        self.run_search()
        self.index_done.emit(summary)

    def _details_done(self, count: int) -> None:
        if count:
            self.status_bar.progress_label.setText(f"Tag details added to {counted(count)}")
            self.tags.refresh()

    def _watched(self, summary: dict) -> None:
        """Photos arrived, moved or left while the app runs: refresh what shows them."""
        new, gone, moved = summary.get("embedded", 0), summary.get("removed", 0), summary.get("moved", 0)
        parts = [f"{new:,} new" if new else "", f"{moved:,} moved" if moved else "",
                 f"{gone:,} removed" if gone else ""]
        offline = summary.get("offline_folders") or []
        text = ", ".join(p for p in parts if p)
        if text or offline:
            self.status_bar.progress_label.setText((f"Library updated: {text}" if text else "") +
                                                   (f"  Offline: {', '.join(offline)}" if offline else ""))
        self.status_bar.show_failures(summary.get("failed_total", 0))
        self.folders.refresh()
        self.tags.refresh()
        self.when_where.refresh()
        self.run_search()
        self.library_changed.emit(summary)

    def show_warnings(self) -> None:
        """What the engine fell back on (a device or model that could not be used), said plainly."""
        warnings = self.catalog.warnings
        if warnings:
            self.status_bar.showMessage("  ".join(warnings), 30_000)

    def show_failures(self) -> None:
        failures = self.catalog.failures()
        box = QMessageBox(QMessageBox.Information, "Photos that could not be read",
                          f"{len(failures)} files could not be indexed. They are left as they are on disk.",
                          parent=self)
        box.setDetailedText("\n".join(f"{f.path}\n    {f.reason}" for f in failures[:500]))
        box.show()

    def open_settings(self) -> SettingsDialog:
        dialog = SettingsDialog(self.catalog, self)
        dialog.applied.connect(self._settings_applied)
        dialog.open()
        return dialog

    def _settings_applied(self) -> None:
        self.show_warnings()
        self.start_indexing()

    def closeEvent(self, event) -> None:
        save_layout(self)
        self.jobs.stop()
        self.tasks.wait(10_000)
        super().closeEvent(event)
