"""The People pane: one face per person, most photos first; click to see their photos, edit the
name in place, drop one person on another to merge them. Faces outlined in the viewer.

Reads go through the read pool, changes through the serial writer (ui/tasks.py); face crops
are cut from the cached thumbnail as QImages on a worker, made into pixmaps here.
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QDockWidget, QLabel, QListView, QListWidget,
                               QListWidgetItem, QVBoxLayout, QWidget)

from ..engine.imaging import thumbnail
from .face_menu import FaceActions
from .panes import tip_title_buttons
from .status import counted

__all__ = ["FACE_ICON", "FacesBox", "PeoplePane", "attach_people", "draw_faces"]

FACE_ICON = 72  # px: big enough to tell people apart, small enough for a dozen in a narrow dock
# A face crop is widened by this share of its box on each side: the hair and chin help recognise.
FACE_MARGIN = 0.25
# The thumbnail faces are cut from; 3x the icon leaves a small face in a large photo usable.
CROP_SOURCE = 512
ROLE_PERSON = Qt.UserRole + 1
ROLE_NAME = Qt.UserRole + 2  # the name as stored: an icon arriving also signals itemChanged
# While the pane shows, it looks again this often: the face pass runs in the background in chunks.
REFRESH_MS = 15_000


class _PeopleList(QListWidget):
    """A list that reports an item dropped on another as merge(target id, dropped id)."""

    merge = Signal(int, int)

    def __init__(self) -> None:
        super().__init__()
        self.setViewMode(QListView.IconMode)
        self.setIconSize(QSize(FACE_ICON, FACE_ICON))
        # A fixed cell (icon plus two lines of name): faces arrive after the names, and a layout
        # made for the names alone would let them overlap.
        self.setGridSize(QSize(FACE_ICON + 28, FACE_ICON + 40))
        self.setUniformItemSizes(True)
        self.setResizeMode(QListView.Adjust)
        self.setMovement(QListView.Snap)
        self.setWordWrap(True)
        self.setDragDropMode(QAbstractItemView.DragDrop)
        self.setDefaultDropAction(Qt.MoveAction)
        self.setEditTriggers(QAbstractItemView.EditKeyPressed | QAbstractItemView.SelectedClicked)

    def dropEvent(self, event) -> None:
        target = self.itemAt(event.position().toPoint())
        source = self.currentItem()
        event.ignore()  # never let Qt move or delete items itself
        if target is not None and source is not None and target is not source:
            self.merge.emit(int(target.data(ROLE_PERSON)), int(source.data(ROLE_PERSON)))


class PeoplePane(QDockWidget):
    """The People dock.

    Signals:
        person_chosen(int, str): the user clicked a person (id, name or "")
        changed(): a person was named or merged (the caller may refresh what it shows)
    """

    person_chosen = Signal(int, str)
    changed = Signal()

    def __init__(self, catalog, tasks, cache, parent=None):
        super().__init__("People", parent)
        self.setObjectName("people")  # the window remembers where its docks are by this name
        self.catalog, self.tasks, self.cache = catalog, tasks, cache
        self.list = _PeopleList()
        self.note = QLabel(wordWrap=True)
        body = QWidget()
        self.setWidget(body)
        tip_title_buttons(self)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.note)
        lay.addWidget(self.list, 1)
        self.list.itemClicked.connect(self._clicked)
        self.list.itemChanged.connect(self._renamed)
        self.list.merge.connect(self.merge)
        self._filling = False
        self._generation = 0
        self.timer = QTimer(self, interval=REFRESH_MS, timeout=self.refresh)
        self.visibilityChanged.connect(lambda shown: (self.timer.start(), self.refresh()) if shown else self.timer.stop())

    def refresh(self) -> None:
        if self.list.state() == QAbstractItemView.EditingState:
            return  # never under a name being typed
        cat = self.catalog

        def load():
            if not cat.face_recognition:
                return None
            return [(p, cat.person_face(p.id)) for p in cat.people()], cat.face_counts()

        self.tasks.read(load, self._fill)

    def _fill(self, data) -> None:
        self._generation += 1
        self._filling = True
        self.list.clear()
        if data is None:
            self.note.setText("Face recognition is off (Settings): no faces are looked for or kept.")
            self._filling = False
            return
        people, counts = data
        self.note.setText(f"{counted(len(people), 'person', 'people')} in {counted(counts['scanned'])} looked at"
                          if people else "No people yet: faces are grouped once two photos show the same person.")
        for person, face in people:
            item = QListWidgetItem(person.name or "(no name)")
            item.setData(ROLE_PERSON, person.id)
            item.setData(ROLE_NAME, person.name or "")
            item.setToolTip(f"{counted(person.photos)} — click to see them, click again to name, drop on another to merge")
            item.setFlags(item.flags() | Qt.ItemIsEditable | Qt.ItemIsDragEnabled | Qt.ItemIsDropEnabled)
            # Sized for its face from the start: the face arrives later, and a layout made while
            # the items held only their names showed the faces cut to a sliver.
            item.setSizeHint(self.list.gridSize() - QSize(8, 4))
            self.list.addItem(item)
            if face is not None:
                self._load_face(item, face, self._generation)
        self._filling = False

    def _load_face(self, item: QListWidgetItem, face, generation: int) -> None:
        cat, cache = self.catalog, self.cache

        def crop():
            info = cat.photo_info(face.photo_id)
            if info is None:
                return None
            img = QImage(str(thumbnail(info.path, CROP_SOURCE, cache)))
            return None if img.isNull() else face_crop(img, face.box)

        def show(image):
            if image is not None and generation == self._generation:
                item.setIcon(QIcon(QPixmap.fromImage(image)))

        self.tasks.read(crop, show)

    def _clicked(self, item: QListWidgetItem) -> None:
        name = item.text() if item.text() != "(no name)" else ""
        self.person_chosen.emit(int(item.data(ROLE_PERSON)), name)

    def _renamed(self, item: QListWidgetItem) -> None:
        if self._filling:
            return
        name, pid = item.text().strip(), int(item.data(ROLE_PERSON))
        if name and name != "(no name)" and name != item.data(ROLE_NAME):
            item.setData(ROLE_NAME, name)
            self.tasks.write(lambda: self.catalog.name_person(pid, name), lambda _: self._done())

    def merge(self, keep: int, other: int) -> None:
        self.tasks.write(lambda: self.catalog.merge_people(keep, other), lambda _: self._done())

    def _done(self) -> None:
        self.changed.emit()
        self.refresh()


class FacesBox(QListWidget):
    """The faces of the photo in the viewer and whose they are; right-click one to say who it
    is, that it is someone new, or that it is not that person (remembered: it never goes back
    to them). The same menu as a click on the face's outline (ui/face_menu.py).

    Signals:
        changed(): a face was corrected (the viewer shows the photo again)
    """

    changed = Signal()

    def __init__(self, catalog, tasks, parent=None):
        super().__init__(parent)
        self.catalog, self.tasks = catalog, tasks
        self.actions = FaceActions(catalog, tasks, self)
        self.actions.changed.connect(self.changed)
        self._faces: list = []
        self.setMaximumHeight(110)
        self.setContextMenuPolicy(Qt.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)

    def show_faces(self, faces) -> None:
        self.clear()
        self._faces = list(faces)
        for f in faces:
            item = QListWidgetItem(f.name or ("a person with no name yet" if f.person_id else "not grouped yet"))
            item.setData(ROLE_PERSON, f.id)
            item.setData(ROLE_NAME, f.person_id or 0)
            self.addItem(item)

    def not_this_person(self, item: QListWidgetItem) -> None:
        self.actions.move(self._faces[self.row(item)], None)

    def _menu(self, pos) -> None:
        item = self.itemAt(pos)
        if item is not None:
            self.actions.menu(self._faces[self.row(item)], self).exec(self.mapToGlobal(pos))


def face_crop(image: QImage, box: tuple[float, float, float, float]) -> QImage:
    """The face in `box` (shares of the photo), with a margin, square, scaled to FACE_ICON."""
    w, h = image.width(), image.height()
    x0, y0, x1, y1 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    side = max(x1 - x0, y1 - y0) * (1 + 2 * FACE_MARGIN)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    rect = QRectF(cx - side / 2, cy - side / 2, side, side).toAlignedRect().intersected(image.rect())
    return image.copy(rect).scaled(FACE_ICON, FACE_ICON, Qt.KeepAspectRatio, Qt.SmoothTransformation)


def draw_faces(pixmap: QPixmap, faces) -> QPixmap:
    """The pixmap with each face outlined and its person's name under it (GUI thread)."""
    out = QPixmap(pixmap)
    painter = QPainter(out)
    pen = QPen(QColor(255, 214, 0))
    pen.setWidth(max(2, out.width() // 300))
    painter.setPen(pen)
    for f in faces:
        rect = QRectF(f.box[0] * out.width(), f.box[1] * out.height(), (f.box[2] - f.box[0]) * out.width(),
                      (f.box[3] - f.box[1]) * out.height())
        painter.drawRect(rect)
        if f.name:
            painter.drawText(rect.adjusted(0, rect.height() + 2, 0, rect.height() + 40), Qt.AlignHCenter | Qt.AlignTop,
                             f.name)
    painter.end()
    return out


def attach_people(window, cache) -> PeoplePane:
    """The People dock in the main window (left, with the tags and folders): clicking a person
    shows their photos in the grid; the end of the face pass shows in the status bar."""
    pane = PeoplePane(window.catalog, window.tasks, cache, window)
    window.addDockWidget(Qt.LeftDockWidgetArea, pane)
    catalog = window.catalog
    pane.person_chosen.connect(lambda pid, name: window.show_photos(
        f"person: {name or 'no name yet'}", lambda: catalog.person_photos(pid)))
    # The face pass runs in the library's background jobs (its progress is theirs): its end is said
    # in the status bar, and the people it found show.
    window.jobs.faces_done.connect(window.status_bar.show_faces_found)
    window.jobs.faces_done.connect(lambda _: pane.refresh())
    return pane
