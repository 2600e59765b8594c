"""The main window: search bar, results grid, similar-photo pane, tags, folders and progress."""
from __future__ import annotations

import os
import time

from PySide6.QtCore import QModelIndex, QObject, QSize, QSortFilterProxyModel, QStandardPaths, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDockWidget, QFileDialog, QHBoxLayout, QHeaderView,
                               QInputDialog, QLabel, QLineEdit, QListView, QListWidget, QMainWindow, QMenu, QMessageBox,
                               QProgressBar, QPushButton, QSlider, QStackedWidget, QTableView, QToolButton,
                               QVBoxLayout, QWidget)

from ..engine.catalog import SORT_DATE, SORT_RELEVANCE, Catalog
from ..engine.config import cache_dir
from ..engine.imaging import thumbnail
from ..engine.jobs import Control, Progress
from ..engine.query import IMAGE_PREFIX
from ..engine.watcher import Watcher
from .models import IdRole, PathRole, ResultsModel, TagsModel
from .tasks import Tasks

TAG_DETAIL_CHUNK = 256  # photos per writer job when adding tag details (about 15 s on a 2-core CPU)
SEARCH_DEBOUNCE_MS = 250  # fast typists do not start a search per key; slow ones see results at once
MAX_RESULTS = 1000
SIMILAR_RESULTS = 60


class _ProgressRelay(QObject):
    progress = Signal(object)
    watched = Signal(object)  # a watcher run's summary, from the watcher's thread


def grid_view(model: ResultsModel, icon: int) -> QListView:
    view = QListView()
    view.setModel(model)
    view.setViewMode(QListView.IconMode)
    view.setResizeMode(QListView.Adjust)
    view.setMovement(QListView.Static)
    view.setUniformItemSizes(True)  # lets the view lay out 100,000 items without asking each
    view.setIconSize(QSize(icon, icon))
    view.setGridSize(QSize(icon + 12, icon + 12))
    view.setSpacing(2)
    view.setSelectionMode(QAbstractItemView.ExtendedSelection)
    view.setLayoutMode(QListView.Batched)
    view.setBatchSize(500)
    return view


class MainWindow(QMainWindow):
    """Signals:
        search_done(int): a search finished and the grid shows this many photos.
        similar_done(int): the similar pane was filled with this many photos.
        index_done(dict): an indexing run finished, with its summary.
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
        self.tasks.error.connect(lambda msg: self.statusBar().showMessage(msg, 8000))
        self.control: Control | None = None
        self._details: dict = {}  # adding tag details: its control, photos done, start time
        self.watch = watch  # follow the folders live once the start-up catch-up is done
        self.watcher: Watcher | None = None
        self.teaching: str | None = None  # the concept being taught, while its proposals show
        self.show_weaker = False
        self.last_query = ""
        self.search_serial = 0
        self.subject: int | str | None = None
        self.setWindowTitle("Photolens")
        self.resize(1280, 820)
        self.setAcceptDrops(True)
        thumbs = cache_dir() / "thumbnails"
        size = catalog.settings.thumbnail_size
        self.results = ResultsModel(thumbs, size, self)
        self.similar_results = ResultsModel(thumbs, 128, self)
        self._build_central(size)
        self._build_similar_pane()
        self._build_tags_pane()
        self._build_folders_pane()
        self._build_status()
        self._build_menus()
        self._relay = _ProgressRelay()
        self._relay.progress.connect(self._show_progress)
        self._relay.watched.connect(self._watched)
        self.refresh_tags()
        self.refresh_folders()
        self.show_recent()
        if welcome and not catalog.folders():
            QTimer.singleShot(300, self.welcome)
        elif catalog.folders():
            QTimer.singleShot(200, self.start_indexing)

    # -- layout -----------------------------------------------------------------------------

    def _build_central(self, icon: int) -> None:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Describe a photo: dog on beach, birthday cake, snowy mountain...  "
                                       "(+ adds, - leaves out)")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumHeight(36)
        self.debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self.debounce.timeout.connect(self.run_search)
        self.search.textChanged.connect(lambda _: self.debounce.start())
        self.search.returnPressed.connect(self.run_search)
        self.sort = QComboBox()
        self.sort.addItems(["Relevance", "Date taken"])
        self.sort.currentIndexChanged.connect(lambda _: self.run_search())
        self.related = QLabel()
        self.related.setObjectName("related")
        self.related.setTextInteractionFlags(Qt.TextBrowserInteraction)
        self.related.linkActivated.connect(lambda word: self.search.setText(word))
        self.grid = grid_view(self.results, icon)
        self.grid.doubleClicked.connect(self.open_viewer)
        self.grid.setContextMenuPolicy(Qt.CustomContextMenu)
        self.grid.customContextMenuRequested.connect(self._grid_menu)
        self.empty = QWidget()
        lay = QVBoxLayout(self.empty)
        self.empty_label = QLabel("No good matches")
        self.empty_label.setAlignment(Qt.AlignCenter)
        self.empty_label.setObjectName("empty")
        self.weaker = QPushButton("Show weaker matches")
        self.weaker.clicked.connect(self._show_weaker)
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

    def _dock(self, title: str, name: str, area) -> tuple[QDockWidget, QVBoxLayout]:
        """A side pane (its name keeps its place across sessions) and the layout to fill."""
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        content = QWidget()
        dock.setWidget(content)
        self.addDockWidget(area, dock)
        return dock, QVBoxLayout(content)

    def _build_similar_pane(self) -> None:
        self.similar_dock, v = self._dock("Similar photos", "similar", Qt.RightDockWidgetArea)
        self.subject_label = QLabel("Right-click a photo and choose Find similar")
        self.subject_label.setWordWrap(True)
        # The photo the pane is about, so the neighbours below can be judged against it.
        self.subject_thumb = QLabel()
        self.subject_thumb.setAlignment(Qt.AlignCenter)
        self.subject_thumb.setFixedHeight(140)
        self.detail = QSlider(Qt.Horizontal)
        self.detail.setRange(0, 100)
        self.detail.setToolTip("Left: the same kind of scene. Right: near-duplicates.")
        self.detail.sliderReleased.connect(self.refresh_similar)
        ends = QHBoxLayout()
        ends.addWidget(QLabel("Same kind of scene"))
        ends.addStretch(1)
        ends.addWidget(QLabel("Near-duplicates"))
        self.focus = QLineEdit()
        self.focus.setPlaceholderText("Focus on... (e.g. cat)")
        self.focus.returnPressed.connect(self.refresh_similar)
        self.similar_grid = grid_view(self.similar_results, 128)
        self.similar_grid.clicked.connect(self._similar_clicked)
        self.similar_grid.doubleClicked.connect(lambda idx: self.open_viewer(idx, self.similar_results))
        for widget in (self.subject_thumb, self.subject_label):
            v.addWidget(widget)
        v.addLayout(ends)
        v.addWidget(self.detail)
        v.addWidget(self.focus)
        v.addWidget(self.similar_grid, 1)
        self.similar_dock.setMinimumWidth(330)
        self.similar_dock.hide()

    def _build_tags_pane(self) -> None:
        self.tags_dock, v = self._dock("Tags", "tags", Qt.LeftDockWidgetArea)
        self.tag_filter = QLineEdit()
        self.tag_filter.setPlaceholderText("Filter tags")
        self.tags_model = TagsModel(self)
        self.tags_proxy = QSortFilterProxyModel(self)
        self.tags_proxy.setSourceModel(self.tags_model)
        self.tags_proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.tags_proxy.setFilterKeyColumn(0)
        self.tag_filter.textChanged.connect(self.tags_proxy.setFilterFixedString)
        self.tags_view = QTableView()
        self.tags_view.setModel(self.tags_proxy)
        self.tags_view.setSortingEnabled(True)
        self.tags_view.sortByColumn(1, Qt.DescendingOrder)
        self.tags_view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.tags_view.verticalHeader().hide()
        self.tags_view.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.tags_view.clicked.connect(self._tag_clicked)
        v.addWidget(self.tag_filter)
        v.addWidget(self.tags_view, 1)

    def _build_folders_pane(self) -> None:
        self.folders_dock, v = self._dock("Folders", "folders", Qt.LeftDockWidgetArea)
        self.folder_list = QListWidget()
        buttons = QHBoxLayout()
        add = QPushButton("Add folder...")
        add.clicked.connect(self.choose_folder)
        remove = QPushButton("Remove")
        remove.clicked.connect(self.remove_selected_folder)
        buttons.addWidget(add)
        buttons.addWidget(remove)
        v.addWidget(self.folder_list, 1)
        v.addLayout(buttons)

    def _build_status(self) -> None:
        bar = self.statusBar()
        self.progress_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        self.pause_button = QToolButton()
        self.pause_button.setText("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.pause_button.hide()
        self.failures_button = QToolButton()
        self.failures_button.clicked.connect(self.show_failures)
        self.failures_button.hide()
        self.device_label = QLabel("")
        bar.addPermanentWidget(self.progress_label)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.pause_button)
        bar.addPermanentWidget(self.failures_button)
        bar.addPermanentWidget(self.device_label)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        add = QAction("&Add photo folder...", self, shortcut=QKeySequence("Ctrl+O"), triggered=self.choose_folder)
        settings = QAction("&Settings...", self, shortcut=QKeySequence("Ctrl+,"), triggered=self.open_settings)
        paste = QAction("Search by &pasted image", self, shortcut=QKeySequence.Paste, triggered=self.paste_image)
        quit_ = QAction("&Quit", self, shortcut=QKeySequence.Quit, triggered=self.close)
        for a in (add, paste, settings, quit_):
            file_menu.addAction(a)
        view = self.menuBar().addMenu("&View")
        for dock in (self.tags_dock, self.folders_dock, self.similar_dock):
            view.addAction(dock.toggleViewAction())
        find = QAction("Focus search", self, shortcut=QKeySequence.Find, triggered=self.search.setFocus)
        self.addAction(find)

    # -- search -----------------------------------------------------------------------------

    def show_recent(self) -> None:
        """Before any query: the library's photos, newest first."""
        self.tasks.read(lambda: self.catalog.recent(MAX_RESULTS), self._show_recent)

    def _show_recent(self, results) -> None:
        if self.search.text().strip():
            return
        self.results.set_results(results)
        self.stack.setCurrentWidget(self.grid)

    def run_search(self) -> None:
        text = self.search.text().strip()
        if text:
            self.teaching = None  # a new search ends the proposals
        self.search_serial += 1
        serial = self.search_serial
        if not text:
            self.related.clear()
            self.show_recent()
            return
        if text != self.last_query:
            self.show_weaker = False
        self.last_query = text
        sort = SORT_DATE if self.sort.currentIndex() == 1 else SORT_RELEVANCE
        weaker = self.show_weaker

        def work():
            results = self.catalog.search(text, k=MAX_RESULTS, sort=sort)
            shown = results if weaker else [r for r in results if r.good]
            related = self.catalog.related_words(text)
            return shown, len(results), related

        self.tasks.read(work, lambda res: self._show_results(serial, text, *res),
                        lambda e: self._search_failed(serial, e))

    def _clear_search_quietly(self) -> None:
        """Empty the search bar without starting a search (the grid is about to show something else)."""
        self.search.blockSignals(True)
        self.search.setText("")
        self.search.blockSignals(False)

    def _show_results(self, serial: int, text: str, shown, total: int, related) -> None:
        if serial != self.search_serial:
            return  # a newer search is on its way
        self.results.set_results(shown)
        if related:
            links = ", ".join(f'<a href="{w}">{w}</a>' for w in related)
            self.related.setText(f"Related: {links}")
        else:
            self.related.clear()
        if shown:
            self.stack.setCurrentWidget(self.grid)
            self.statusBar().showMessage(f"{len(shown):,} photos for “{text}”", 5000)
        else:
            self.empty_label.setText(f"No good matches for “{text}”")
            self.weaker.setVisible(total > 0)
            self.stack.setCurrentWidget(self.empty)
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

    def search_by_image(self, path: str, extra: str = "") -> None:
        text = f'{IMAGE_PREFIX}"{path}"' + (f" + {extra}" if extra else "")
        self.search.setText(text)
        self.run_search()

    # -- drop and paste ---------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() or event.mimeData().hasImage():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.search_by_image(urls[0])
        elif event.mimeData().hasImage():
            self._search_qimage(event.mimeData().imageData())

    def paste_image(self) -> None:
        if self.search.hasFocus():
            self.search.paste()
            return
        mime = QGuiApplication.clipboard().mimeData()
        if mime.hasUrls() and mime.urls()[0].isLocalFile():
            self.search_by_image(mime.urls()[0].toLocalFile())
        elif mime.hasImage():
            self._search_qimage(mime.imageData())

    def _search_qimage(self, image) -> None:
        path = cache_dir() / "pasted.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(str(path))
        self.search_by_image(str(path))

    # -- context menu and viewer ------------------------------------------------------------

    def _grid_menu(self, pos) -> None:
        index = self.grid.indexAt(pos)
        if index.isValid():
            self.context_menu(index).exec(self.grid.viewport().mapToGlobal(pos))

    def context_menu(self, index: QModelIndex) -> QMenu:
        path = index.data(PathRole)
        menu = QMenu(self)
        menu.addAction("Find similar", lambda: self.find_similar(index.data(IdRole), path))
        menu.addAction("Open", lambda: self.open_viewer(index))
        menu.addAction("Open containing folder",
                       lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(path))))
        menu.addAction("Copy path", lambda: QGuiApplication.clipboard().setText(path))
        menu.addAction("This photo, but at night", lambda: self.search_by_image(path, "at night"))
        menu.addSeparator()
        if self.teaching:
            photo_id = index.data(IdRole)
            menu.addAction(f"Yes, this is “{self.teaching}”", lambda: self.judge_proposal(photo_id, True))
            menu.addAction(f"No, this is not “{self.teaching}”", lambda: self.judge_proposal(photo_id, False))
        menu.addAction("Teach a tag from the selected photos...", self.teach_from_selection)
        return menu

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
        self.tasks.write(lambda: self.catalog.teach(name, ids), lambda _: (self.refresh_tags(), self.show_proposals()))

    def judge_proposal(self, photo_id: int, accepted: bool) -> None:
        name = self.teaching

        self.tasks.write(lambda: self.catalog.judge(name, photo_id, accepted),
                         lambda _: (self.refresh_tags(), self.show_proposals()))

    def show_proposals(self) -> None:
        """Photos the taught classifier thinks show the concept, best first (refined after
        every accept or reject)."""
        name = self.teaching
        self._clear_search_quietly()
        self.search_serial += 1
        serial = self.search_serial
        self.tasks.read(lambda: self.catalog.propose(name, k=200),
                        lambda res: (self._show_results(serial, f"maybe {name}", res, len(res), []),
                                     self.statusBar().showMessage(
                                         f"Photos that may show “{name}”: right-click to say yes or no", 15000),
                                     self.proposals_done.emit(len(res))))

    def open_viewer(self, index: QModelIndex, model: ResultsModel | None = None) -> None:
        from .viewer import Viewer

        model = model or self.results
        Viewer(self.catalog, self.tasks, model, index.row(), self).show()

    # -- similar pane -----------------------------------------------------------------------

    def find_similar(self, photo_id: int, path: str) -> None:
        self.subject = photo_id
        self.subject_label.setText(f"Like: {os.path.basename(path)}")
        self.subject_label.setToolTip(path)
        self.subject_thumb.clear()
        size = self.similar_results.thumb_size
        cache = self.similar_results.cache

        def load():
            return QImage(str(thumbnail(path, size, cache)))

        def show(image, subject=photo_id):
            if self.subject == subject and not image.isNull():
                self.subject_thumb.setPixmap(QPixmap.fromImage(image).scaled(
                    200, 136, Qt.KeepAspectRatio, Qt.SmoothTransformation))

        self.tasks.read(load, show, lambda _e: None)  # an unreadable photo just shows no preview
        self.similar_dock.show()
        self.refresh_similar()

    def refresh_similar(self) -> None:
        if self.subject is None:
            return
        subject, focus, detail = self.subject, self.focus.text().strip() or None, self.detail.value() / 100
        self.tasks.read(lambda: self.catalog.similar(subject, k=SIMILAR_RESULTS, focus=focus, detail=detail),
                        self._show_similar)

    def _show_similar(self, results) -> None:
        self.similar_results.set_results(results)
        self.similar_done.emit(len(results))

    def _similar_clicked(self, index: QModelIndex) -> None:
        self.find_similar(index.data(IdRole), index.data(PathRole))

    # -- tags -------------------------------------------------------------------------------

    def refresh_tags(self) -> None:
        self.tasks.read(self.catalog.tag_counts, self.tags_model.set_tags)

    def _tag_clicked(self, index: QModelIndex) -> None:
        tag = self.tags_proxy.index(index.row(), 0).data()
        self.show_tag(tag)

    def show_tag(self, tag: str) -> None:
        self.teaching = None
        self._clear_search_quietly()
        self.tasks.read(lambda: self.catalog.photos_with_tag(tag), lambda res: self._show_results(self.search_serial, f"tag: {tag}", res, len(res), []))

    # -- folders and indexing ---------------------------------------------------------------

    def welcome(self) -> None:
        pictures = QStandardPaths.writableLocation(QStandardPaths.PicturesLocation)
        box = QMessageBox(self)
        box.setWindowTitle("Welcome to Photolens")
        intro = "Photolens searches your photos by what you remember: “dog on beach”, “birthday cake”.\n\n"
        promise = "Indexing runs in the background; your photos are never changed or uploaded."
        # Only propose Pictures where it exists: adding a missing folder would index nothing.
        use = None
        if pictures and os.path.isdir(pictures):
            box.setText(intro + f"Add your Pictures folder ({pictures}) to start? " + promise)
            use = box.addButton("Add Pictures", QMessageBox.AcceptRole)
        else:
            box.setText(intro + "Choose a folder of photos to start. " + promise)
        other = box.addButton("Choose a folder..." if use is None else "Choose another folder...",
                              QMessageBox.ActionRole)
        box.addButton("Later", QMessageBox.RejectRole)
        box.setModal(False)
        box.buttonClicked.connect(lambda b: self.add_folder(pictures) if use is not None and b is use else
                                  (self.choose_folder() if b is other else None))
        box.show()

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str) -> None:
        def work():
            self.catalog.add_folder(folder)

        self.tasks.write(work, lambda _: (self.refresh_folders(), self.start_indexing()),
                         lambda e: QMessageBox.warning(self, "Photolens", str(e)))

    def remove_selected_folder(self) -> None:
        item = self.folder_list.currentItem()
        if item is None:
            return
        path = item.data(Qt.UserRole)
        text = (f"Stop searching {path}?\n\nThe photos on disk are not touched. Your tags, removed tags and "
                "taught examples for its photos are kept: add the folder again and they come back, without "
                "indexing again.")
        # Removing is never the default: Enter keeps the folder.
        if QMessageBox.question(self, "Remove folder", text, QMessageBox.Yes | QMessageBox.No,
                                QMessageBox.No) != QMessageBox.Yes:
            return
        self.tasks.write(lambda: self.catalog.remove_folder(path), lambda _: (self.refresh_folders(), self.run_search()))

    def refresh_folders(self) -> None:
        def show(folders):
            self.folder_list.clear()
            for f in folders:
                state = "" if f.online else "  (offline)"
                if f.online and f.unreachable:
                    state = "  (partly unreadable)"
                self.folder_list.addItem(f"{os.path.basename(f.path) or f.path}  ·  {f.photos:,}{state}")
                item = self.folder_list.item(self.folder_list.count() - 1)
                item.setData(Qt.UserRole, f.path)
                # Why it is offline, and which subfolders could not be read: their photos are kept.
                notes = [f"offline: {f.offline_reason}; its photos are kept"] if f.offline_reason else []
                notes += [f"not readable: {sub} ({why}); its photos are kept" for sub, why in f.unreachable]
                item.setToolTip("\n".join([f.path, *notes]))

        self.tasks.read(self.catalog.folders, show)

    def start_indexing(self) -> None:
        if self.control is not None:
            if self.control is not self._details.get("control"):
                return  # an indexing run is on its way
            self.control.cancel()  # adding tag details: stop at the next batch, resume after this run
        self.control = Control()
        control = self.control
        self.progress.setRange(0, 0)
        self.progress.show()
        self.pause_button.show()
        self.progress_label.setText("Looking for new photos...")
        self.tasks.write(lambda: self.catalog.index_all(progress=self._relay.progress.emit, control=control,
                                                        tag_details=False),
                         self._indexing_done, self._indexing_failed)

    def _show_progress(self, p: Progress) -> None:
        if self.control is not None and self.progress.isHidden():  # background work that found some
            self.progress.show()
            self.pause_button.show()
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        eta = f", {p.eta:,.0f} s left" if p.eta is not None and p.done < p.total else ""
        paused = " (paused)" if self.control is not None and self.control.paused else ""
        self.progress_label.setText(f"{p.stage.capitalize()} {p.done:,}/{p.total:,} · {p.rate:,.1f} photos/s{eta}{paused}")

    def toggle_pause(self) -> None:
        if self.control is None:
            return
        if self.control.paused:
            self.control.resume()
            self.pause_button.setText("Pause")
        else:
            self.control.pause()
            self.pause_button.setText("Resume")
        self.progress_label.setText(self.progress_label.text().replace(" (paused)", "") +
                                    (" (paused)" if self.control.paused else ""))

    def _indexing_done(self, summary: dict) -> None:
        self.control = None
        self.progress.hide()
        self.pause_button.hide()
        done = [f"{summary['embedded']:,} new photos indexed"] if summary["embedded"] else []
        if summary.get("retagged"):
            done.append(f"tags updated on {summary['retagged']:,}")
        self.progress_label.setText(" · ".join(done) if done else "Up to date")
        self._update_failures(summary)
        self.refresh_folders()
        self.refresh_tags()
        self.device_label.setText(f"{self.catalog.model.title} · {self.catalog.embedder.device_name.upper()}")
        self.run_search()
        self._start_watching()
        self.index_done.emit(summary)
        self._add_tag_details()

    def _add_tag_details(self) -> None:
        """Photos indexed without the tag detail pass (by an older version, or with thorough
        tags off) get it in the background, a chunk per writer job, so that the watcher's live
        updates go in between chunks. Adding a folder meanwhile stops it; it resumes after."""
        if self.control is not None:
            return
        control = self.control = Control()
        self._details = {"control": control, "done": 0, "started": time.monotonic()}
        self._next_tag_details_chunk(control)

    def _next_tag_details_chunk(self, control: Control) -> None:
        details = self._details

        def progress(p: Progress) -> None:  # on the writer's thread: numbers only; p counts what is left
            self._relay.progress.emit(Progress(details["done"] + p.done, details["done"] + p.total, p.failed,
                                               details["started"], stage=p.stage))

        self.tasks.write(lambda: self.catalog.add_tag_details(progress, control, limit=TAG_DETAIL_CHUNK),
                         lambda summary: self._tag_details_chunk_done(summary, control),
                         lambda error: self._indexing_failed(error) if control is self.control else None)

    def _tag_details_chunk_done(self, summary: dict, control: Control) -> None:
        if control is not self.control:  # stopped for an indexing run, which restarts it after
            return
        self._details["done"] += summary["embedded"] + summary["failed"]
        if summary["remaining"] and summary["embedded"] and not control.cancelled.is_set():
            self._next_tag_details_chunk(control)
            return
        self.control = None
        self.progress.hide()
        self.pause_button.hide()
        if self._details["done"]:
            self.progress_label.setText(f"Tag details added to {self._details['done']:,} photos")
            self.refresh_tags()

    # -- live watching ------------------------------------------------------------------------

    def _start_watching(self) -> None:
        """(Re)start the watcher when the set of folders changed. Its library updates go
        through the same serial writer as everything else."""
        if not self.watch:
            return
        folders = {f.path for f in self.catalog.folders()}
        if self.watcher is not None and self.watcher.folders == folders:
            return
        self._stop_watching()
        if folders:
            writes = self.tasks.writes
            self.watcher = Watcher(self.catalog, on_change=self._relay.watched.emit,
                                   run=lambda fn: writes.submit(fn).result())
            self.watcher.start()

    def _stop_watching(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None

    def _watched(self, summary: dict) -> None:
        """Photos arrived, moved or left while the app runs: refresh what shows them."""
        new = summary.get("embedded", 0)
        gone = summary.get("removed", 0)
        parts = [f"{new:,} new" if new else "", f"{summary.get('moved', 0):,} moved" if summary.get("moved") else "",
                 f"{gone:,} removed" if gone else ""]
        offline = summary.get("offline_folders") or []
        text = ", ".join(p for p in parts if p)
        if text or offline:
            self.progress_label.setText((f"Library updated: {text}" if text else "") +
                                        (f"  Offline: {', '.join(offline)}" if offline else ""))
        self._update_failures(summary)
        self.refresh_folders()
        self.refresh_tags()
        self.run_search()
        self.library_changed.emit(summary)

    def _indexing_failed(self, error: Exception) -> None:
        self.control = None
        self.progress.hide()
        self.pause_button.hide()
        self.progress_label.setText(f"Indexing stopped: {error}")

    def _update_failures(self, summary: dict) -> None:
        """From an indexing run's summary, which already counted them (no query on this thread)."""
        n = summary.get("failed_total", 0)
        self.failures_button.setText(f"{n} could not be read")
        self.failures_button.setVisible(n > 0)

    def show_failures(self) -> None:
        failures = self.catalog.failures()
        text = "\n".join(f"{f.path}\n    {f.reason}" for f in failures[:500])
        box = QMessageBox(QMessageBox.Information, "Photos that could not be read",
                          f"{len(failures)} files could not be indexed. They are left as they are on disk.",
                          parent=self)
        box.setDetailedText(text)
        box.show()

    def open_settings(self) -> None:
        from .settings import SettingsDialog

        SettingsDialog(self.catalog, self).exec()

    def closeEvent(self, event) -> None:
        if self.control is not None:
            self.control.cancel()
        self._stop_watching()
        self.tasks.wait(10_000)
        super().closeEvent(event)
