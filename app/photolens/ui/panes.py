"""The window's side panes: similar photos, tags, folders. Each is a dock widget that talks to
the `Catalog` through the app's `Tasks` and tells the window what the user asked for by signals."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QModelIndex, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap, QStandardItemModel
from PySide6.QtWidgets import (QAbstractButton, QAbstractItemView, QApplication, QDockWidget, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QListWidget, QMessageBox, QProxyStyle, QPushButton,
                               QSlider, QStyle, QStyleFactory, QTableView, QToolButton, QTreeView, QVBoxLayout, QWidget)

from ..engine.catalog import Catalog
from ..engine.imaging import thumbnail
from ..engine.records import Folder
from .grid import grid_view
from .models import IdRole, PathRole, ResultsModel, TagsModel
from .region_select import region_preview
from .tasks import Tasks

__all__ = ["SimilarPane", "TagsPane", "FoldersPane", "confirm_remove_folder", "SIMILAR_RESULTS"]

SIMILAR_RESULTS = 60
SIMILAR_THUMB = 112  # two columns fit the pane at its minimum width
SLIDER_SETTLE_MS = 200  # keys and track clicks move the slider in steps: search once it settles


DOCK_BUTTON_TIPS = {"qt_dockwidget_floatbutton": "Detach this pane into its own window (double-click its title "
                                                  "to put it back)",
                    "qt_dockwidget_closebutton": "Hide this pane (the View menu shows it again)"}


class _JumpToClick(QProxyStyle):
    """A click on a slider's track moves the handle there (not one page towards it)."""

    def styleHint(self, hint, option=None, widget=None, returnData=None):  # noqa: N802 (Qt's name)
        if hint == QStyle.SH_Slider_AbsoluteSetButtons:
            return Qt.LeftButton.value
        return super().styleHint(hint, option, widget, returnData)


def tip_title_buttons(dock: QDockWidget) -> None:
    """Qt's own title-bar buttons of a pane get tooltips, as every icon button does."""
    for button in dock.findChildren(QAbstractButton):
        if button.objectName() in DOCK_BUTTON_TIPS:
            button.setToolTip(DOCK_BUTTON_TIPS[button.objectName()])


def count_tree(headers: list[str], parent: QWidget) -> tuple[QStandardItemModel, QTreeView]:
    """A read-only two-column tree (a name, then a count sized to its contents): places, months."""
    model = QStandardItemModel(parent)
    model.setHorizontalHeaderLabels(headers)
    view = QTreeView()
    view.setModel(model)
    view.setEditTriggers(QTreeView.NoEditTriggers)
    view.setUniformRowHeights(True)
    view.header().setStretchLastSection(False)
    view.header().setSectionResizeMode(0, QHeaderView.Stretch)
    view.header().setSectionResizeMode(1, QHeaderView.ResizeToContents)
    return model, view


def _dock_content(dock: QDockWidget) -> QVBoxLayout:
    """The pane's content layout, its title-bar buttons with tooltips."""
    content = QWidget()
    dock.setWidget(content)
    tip_title_buttons(dock)
    return QVBoxLayout(content)


class SimilarPane(QDockWidget):
    """Photos like a subject photo, with a scene/near-duplicate slider and a focus word;
    back and forward go through the subjects seen.

    Signals:
        done(int): the pane was filled with this many photos.
        open_photo(object, int): the user double-clicked a photo: (the pane's model, photo id).
    """

    done = Signal(int)
    open_photo = Signal(object, int)

    def __init__(self, catalog: Catalog, tasks: Tasks, thumbs: Path, parent=None):
        super().__init__("Similar photos", parent)
        self.setObjectName("similar")  # the name keeps its place across sessions (QSettings)
        self.catalog, self.tasks = catalog, tasks
        self.results = ResultsModel(thumbs, SIMILAR_THUMB, self)
        self.subject: int | None = None
        self.region: tuple[float, float, float, float] | None = None  # a part of the subject (viewer)
        self._history: list[tuple[int, str, tuple | None]] = []
        self._at = -1
        v = _dock_content(self)
        self.label = QLabel("Right-click a photo and choose Find similar")
        self.label.setWordWrap(True)
        # The photo the pane is about, so the neighbours below can be judged against it.
        self.thumb = QLabel(alignment=Qt.AlignCenter)
        self.thumb.setFixedHeight(140)
        self.back_button = QToolButton(text="◀", toolTip="Back to the previous subject (Alt+Left)")
        self.forward_button = QToolButton(text="▶", toolTip="Forward to the next subject (Alt+Right)")
        self.back_button.clicked.connect(self.back)
        self.forward_button.clicked.connect(self.forward)
        head = QHBoxLayout()
        head.addWidget(self.back_button)
        head.addWidget(self.label, 1)
        head.addWidget(self.forward_button)
        self.detail = QSlider(Qt.Horizontal)
        self.detail.setRange(0, 100)
        self.detail.setPageStep(10)
        self.detail.setFocusPolicy(Qt.StrongFocus)  # arrows, Page Up/Down, Home/End move it
        # The proxy owns its base style: a fresh instance, never the application's own.
        self._slider_style = _JumpToClick(QStyleFactory.create(QApplication.style().name()))
        self._slider_style.setParent(self)
        self.detail.setStyle(self._slider_style)
        self.detail.setToolTip("Left: the same kind of scene. Right: near-duplicates.")
        self.settle = QTimer(self, singleShot=True, interval=SLIDER_SETTLE_MS)
        self.settle.timeout.connect(self.refresh)
        self.detail.valueChanged.connect(lambda _: self.settle.start())
        ends = QHBoxLayout()
        ends.addWidget(QLabel("Same kind of scene"))
        ends.addStretch(1)
        ends.addWidget(QLabel("Near-duplicates"))
        self.focus = QLineEdit(placeholderText="Focus on... (e.g. cat)")
        self.focus.returnPressed.connect(self.refresh)
        self.grid = grid_view(self.results, SIMILAR_THUMB)
        self.grid.clicked.connect(self._clicked)
        self.grid.activated.connect(lambda idx: self.open_photo.emit(self.results, idx.data(IdRole)))
        self.grid.doubleClicked.connect(lambda idx: self.open_photo.emit(self.results, idx.data(IdRole)))
        v.addWidget(self.thumb)
        v.addLayout(head)
        v.addLayout(ends)
        v.addWidget(self.detail)
        v.addWidget(self.focus)
        v.addWidget(self.grid, 1)
        self.setMinimumWidth(300)
        self._update_buttons()
        self.hide()

    def show_subject(self, photo_id: int, path: str, region: tuple | None = None) -> None:
        """Make this photo, or a part of it (x, y, w, h shares), the subject (a new step in the
        history) and fill the pane."""
        del self._history[self._at + 1:]
        self._history.append((photo_id, path, region))
        self._at = len(self._history) - 1
        self._go()

    def back(self) -> None:
        if self._at > 0:
            self._at -= 1
            self._go()

    def forward(self) -> None:
        if self._at < len(self._history) - 1:
            self._at += 1
            self._go()

    def _update_buttons(self) -> None:
        self.back_button.setEnabled(self._at > 0)
        self.forward_button.setEnabled(self._at < len(self._history) - 1)

    def _go(self) -> None:
        photo_id, path, region = self._history[self._at]
        self._update_buttons()
        self.subject, self.region = photo_id, region
        self.label.setText(f"Like {'part of ' if region else ''}{os.path.basename(path)}")
        self.label.setToolTip(path)
        self.thumb.clear()
        size, cache = self.results.thumb_size, self.results.cache

        def show(image, subject=photo_id):
            if self.subject == subject and not image.isNull():
                self.thumb.setPixmap(QPixmap.fromImage(image).scaled(
                    200, 136, Qt.KeepAspectRatio, Qt.SmoothTransformation))

        preview = (lambda: region_preview(path, region)) if region else (lambda: QImage(str(thumbnail(path, size, cache))))
        self.tasks.read(preview, show, lambda _e: None)  # an unreadable photo just shows no preview
        self.show()
        self.raise_()  # in front of the panes it shares a tab group with
        self.refresh()

    def refresh(self) -> None:
        if self.subject is None:
            return
        subject, focus, detail = self.subject, self.focus.text().strip() or None, self.detail.value() / 100
        region = self.region
        key = (subject, focus, detail, region)
        self.tasks.read(lambda: self.catalog.similar(subject, k=SIMILAR_RESULTS, focus=focus, detail=detail,
                                                     region=region), lambda res: self._filled(res, key), self._failed)

    def _failed(self, error) -> None:
        self.results.set_results([])
        self.label.setText(f"Cannot find similar photos: {error}")
        self.done.emit(0)

    def _filled(self, results, key) -> None:
        self.grid.show_list(results, key=key)  # a new subject's photos from the top, a refresh in place
        self.done.emit(len(results))

    def _clicked(self, index: QModelIndex) -> None:
        self.show_subject(index.data(IdRole), index.data(PathRole))


class FilterOnlyProxy(QSortFilterProxyModel):
    """Filters rows; sorting is the source model's own (TagsModel.sort says why)."""

    def sort(self, column: int, order=Qt.AscendingOrder) -> None:
        self.sourceModel().sort(column, order)


class TagsPane(QDockWidget):
    """Every tag with its photo count, filterable and sortable.

    Signals:
        tag_chosen(str): the user clicked a tag.
    """

    tag_chosen = Signal(str)

    def __init__(self, catalog: Catalog, tasks: Tasks, parent=None):
        super().__init__("Tags", parent)
        self.setObjectName("tags")
        self.catalog, self.tasks = catalog, tasks
        v = _dock_content(self)
        self.filter = QLineEdit(placeholderText="Filter tags")
        self.model = TagsModel(self)
        self.proxy = FilterOnlyProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseInsensitive)
        self.proxy.setFilterKeyColumn(0)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(1, Qt.DescendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.view.verticalHeader().hide()
        for corner in self.view.findChildren(QAbstractButton):  # Qt's select-all corner: an icon button
            corner.setToolTip("Select every tag")
        self.view.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.view.clicked.connect(lambda index: self.tag_chosen.emit(self.proxy.index(index.row(), 0).data()))
        self.view.activated.connect(lambda index: self.tag_chosen.emit(self.proxy.index(index.row(), 0).data()))
        v.addWidget(self.filter)
        v.addWidget(self.view, 1)

    def refresh(self) -> None:
        self.tasks.read(self.catalog.tag_counts, self.model.set_tags)


REMOVE_FOLDER_TEXT = (
    "Stop searching “{name}”?\n\n"
    "• Its photos stay on disk, untouched.\n"
    "• They leave the search results, the tags pane and the similar pane.\n"
    "• Your own tags, removed tags and taught concepts on these photos are kept in the library: "
    "add the folder again and they come back, without indexing the photos again.")


def confirm_remove_folder(parent: QWidget, path: str) -> QMessageBox:
    """The remove-folder question, saying exactly what happens. Cancel is the default button
    (Enter or Escape keeps the folder); the caller opens it and reads `result_removes(box)`."""
    box = QMessageBox(QMessageBox.Question, "Remove folder from Photolens",
                      REMOVE_FOLDER_TEXT.format(name=os.path.basename(path) or path), parent=parent)
    box.setInformativeText(path)
    remove = box.addButton("Remove from Photolens", QMessageBox.DestructiveRole)
    cancel = box.addButton(QMessageBox.Cancel)
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.setProperty("remove_button", remove)
    return box


class FoldersPane(QDockWidget):
    """The library's folders with their live photo counts; add and remove.

    Signals:
        add_requested(): the user asked to add a folder.
        remove_confirmed(str): the user confirmed removing this folder (after the dialog).
    """

    add_requested = Signal()
    remove_confirmed = Signal(str)

    def __init__(self, catalog: Catalog, tasks: Tasks, parent=None):
        super().__init__("Folders", parent)
        self.setObjectName("folders")
        self.catalog, self.tasks = catalog, tasks
        v = _dock_content(self)
        self.list = QListWidget()
        self.list.setTextElideMode(Qt.ElideMiddle)
        self.add_button = QPushButton("Add folder...", toolTip="Add a folder of photos (Ctrl+O)")
        self.add_button.clicked.connect(self.add_requested)
        self.remove_button = QPushButton("Remove", toolTip="Stop searching the selected folder; "
                                                           "its photos stay on disk")
        self.remove_button.clicked.connect(self.ask_remove)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        v.addWidget(self.list, 1)
        v.addLayout(buttons)
        self.dialog: QMessageBox | None = None

    def refresh(self) -> None:
        self.tasks.read(self.catalog.folders, self.show_folders)

    def show_folders(self, folders: list[Folder]) -> None:
        current = self.list.currentItem().data(Qt.UserRole) if self.list.currentItem() else None
        self.list.clear()
        names = [os.path.basename(f.path) or f.path for f in folders]
        for f, name in zip(folders, names):
            if names.count(name) > 1:  # two folders called "images": say whose
                name = os.path.join(os.path.basename(os.path.dirname(f.path)), name)
            state = "" if f.online else "  (offline)"
            if f.online and f.unreachable:
                state = "  (partly unreadable)"
            self.list.addItem(f"{name}  ·  {f.photos:,}{state}")
            item = self.list.item(self.list.count() - 1)
            item.setData(Qt.UserRole, f.path)
            # Why it is offline, and which subfolders could not be read: their photos are kept.
            notes = [f"offline: {f.offline_reason}; its photos are kept"] if f.offline_reason else []
            notes += [f"not readable: {sub} ({why}); its photos are kept" for sub, why in f.unreachable]
            item.setToolTip("\n".join([f.path, *notes]))
            if f.path == current:
                self.list.setCurrentItem(item)

    def ask_remove(self) -> None:
        """Ask before removing the selected folder; the dialog is window-modal and kept in
        `self.dialog` while it is open."""
        item = self.list.currentItem()
        if item is None:
            return
        path = item.data(Qt.UserRole)
        box = self.dialog = confirm_remove_folder(self, path)

        def answered(button):
            self.dialog = None
            if button is box.property("remove_button"):
                self.remove_confirmed.emit(path)

        box.buttonClicked.connect(answered)
        box.setWindowModality(Qt.WindowModal)
        box.show()
