"""A photo viewer: fit, zoom (wheel, +/-, 1:1), full screen, next and previous, details and tags.

The viewer is keyed by photo id, never by row: a live update that reorders or shrinks the grid
cannot make it show, tag or untag another photo. Next and previous look the photo up in the
grid's current list each time."""
from __future__ import annotations

import html
import os

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QScrollArea,
                               QVBoxLayout, QWidget)

from ..engine.catalog import Catalog
from ..engine.imaging import display_image, thumbnail
from .models import ResultsModel
from .face_menu import face_at
from .people_pane import FacesBox, draw_faces
from .photo_text import PhotoTextPanel, outlined
from .qimages import to_qimage
from .region_select import RegionSelector
from .tasks import Tasks

__all__ = ["Viewer", "to_qimage"]

ZOOM_STEP = 1.25
ZOOM_RANGE = (0.05, 8.0)  # 5% shows a 100-MP photo whole; 800% shows single pixels


class Viewer(QDialog):
    """One photo at a time, from a results model.

    Signals:
        shown(int): a photo (this id) is on screen, its pixels loaded (or known unreadable).
        tags_changed(): the user added or removed a tag.
        similar_region(int, str, object): "Find photos like this part": photo id, path, and the
            part as (x, y, w, h) shares of the photo (region_select.py).
    """

    shown = Signal(int)
    tags_changed = Signal()
    similar_region = Signal(int, str, object)

    def __init__(self, catalog: Catalog, tasks: Tasks, model: ResultsModel, photo_id: int, parent=None):
        super().__init__(parent)
        self.catalog, self.tasks, self.model = catalog, tasks, model
        self.photo_id = photo_id
        self._row = model.row_of(photo_id) or 0  # where it was, for when it leaves the list
        self.zoom: float | None = None  # None: fit to window
        self.pixmap = QPixmap()
        self.note = ""  # why the photo shows as a small copy, or not at all
        parent_screen = (parent.screen() if parent is not None else self.screen()).availableGeometry()
        self.resize(min(1100, int(parent_screen.width() * 0.9)), min(760, int(parent_screen.height() * 0.9)))
        self.image = QLabel(alignment=Qt.AlignCenter, wordWrap=True)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.image)
        self.scroll.setAlignment(Qt.AlignCenter)
        self.scroll.setWidgetResizable(False)
        self.scroll.viewport().installEventFilter(self)  # the wheel zooms
        self.info = QLabel(wordWrap=True)
        self.info.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.tags = QListWidget()
        self.remove_button = QPushButton("Remove tag")
        self.remove_button.clicked.connect(self.remove_tag)
        self.new_tag = QLineEdit(placeholderText="Add a tag and press Enter")
        self.new_tag.returnPressed.connect(self.add_tag)
        self.side = QWidget()
        self.side.setMaximumWidth(320)
        side = QVBoxLayout(self.side)
        for w in (self.info, QLabel("Tags")):
            side.addWidget(w)
        side.addWidget(self.tags, 1)
        side.addWidget(self.remove_button)
        side.addWidget(self.new_tag)
        self.faces_box = FacesBox(catalog, tasks, self)  # people (issue 19)
        self.faces_box.changed.connect(self.load)
        # A click on a face's outline offers the same menu (who it is, someone new, not them).
        self.face_menu = None
        self._faces_shown: list = []
        self.image.installEventFilter(self)
        self.path = ""
        # Installed after the face clicks' filter, so it sees a drag first: a drag is no click.
        self.region_select = RegionSelector(self.image)
        self.region_select.chosen.connect(lambda region: self.similar_region.emit(self.photo_id, self.path, region))
        side.addWidget(self.faces_box)
        # Words: the photo's text (hover outlines it on the photo) and the user's caption.
        self.words = PhotoTextPanel()
        self.words.hovered.connect(self._outline)
        self.words.caption_edited.connect(
            lambda pid, text: self.tasks.write(lambda: self.catalog.set_caption(pid, text)))
        side.addWidget(self.words)
        nav = QHBoxLayout()
        self.buttons = {}
        for text, tip, slot in (("◀ Previous", "Previous photo (Left)", lambda: self.step(-1)),
                                ("Fit", "Fit to the window (0)", self.fit),
                                ("1:1", "Actual size (1)", self.actual_size),
                                ("Zoom −", "Zoom out (- or the wheel)", lambda: self.zoom_by(1 / ZOOM_STEP)),
                                ("Zoom +", "Zoom in (+ or the wheel)", lambda: self.zoom_by(ZOOM_STEP)),
                                ("Full screen", "Full screen (F or F11; Esc leaves)", self.toggle_full_screen),
                                ("Next ▶", "Next photo (Right)", lambda: self.step(1))):
            b = self.buttons[text] = QPushButton(text, toolTip=tip)
            b.setAutoDefault(False)  # Enter in the tag box adds the tag; it never presses a button
            b.clicked.connect(slot)
            nav.addWidget(b)
        self.remove_button.setAutoDefault(False)
        left = QVBoxLayout()
        left.addWidget(self.scroll, 1)
        left.addLayout(nav)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 3)
        lay.addWidget(self.side, 1)
        for key, slot in ((Qt.Key_Right, lambda: self.step(1)), (Qt.Key_Left, lambda: self.step(-1)),
                          (QKeySequence.ZoomIn, lambda: self.zoom_by(ZOOM_STEP)),
                          (Qt.Key_Plus, lambda: self.zoom_by(ZOOM_STEP)),
                          (QKeySequence.ZoomOut, lambda: self.zoom_by(1 / ZOOM_STEP)),
                          (Qt.Key_Minus, lambda: self.zoom_by(1 / ZOOM_STEP)),
                          (Qt.Key_1, self.actual_size), (Qt.Key_0, self.fit),
                          (Qt.Key_F, self.toggle_full_screen), (Qt.Key_F11, self.toggle_full_screen)):
            QShortcut(key, self, slot, context=Qt.WidgetWithChildrenShortcut)
        self.load()

    # -- which photo ------------------------------------------------------------------------

    def step(self, delta: int) -> None:
        """The next or previous photo in the list as it is now (the list may have changed)."""
        n = self.model.rowCount()
        if n == 0:
            return
        row = self.model.row_of(self.photo_id)
        if row is None:  # the photo left the list: the one now in its place counts as "next"
            row = min(self._row, n - 1) - (1 if delta > 0 else 0)
        row = (row + delta) % n
        self.photo_id, self._row = self.model.result(row).id, row
        self.load()

    def load(self) -> None:
        """Show self.photo_id: details now, pixels from a worker (a stale answer is dropped)."""
        photo_id = self.photo_id
        d = self.catalog.photo_info(photo_id)
        path = self.path = d.path if d else ""
        self.setWindowTitle(f"{os.path.basename(path)} — Photolens")
        w = self.catalog.photo_when_where(photo_id)
        taken = f"{w.taken_label} <small>({w.source_label})</small>" if w and w.taken else "unknown"
        place = html.escape(", ".join(p for p in (w.place.city, w.place.region, w.place.country) if p)) \
            if w and w.place else "—"
        size = f"{d.width}×{d.height}, {d.size / 1e6:.1f} MB" if d and d.width else ""
        self.info.setText(f"<b>{os.path.basename(path)}</b><br>Taken: {taken}<br>Place: {place}"
                          f"<br>Camera: {html.escape((w and w.camera) or (d and d.camera) or '—')}"
                          f"<br>{size}<br><small>{path}</small>")
        self.refresh_tags()
        self.words.show_photo(photo_id, self.catalog.text_of(photo_id), self.catalog.caption_of(photo_id))
        self.pixmap = QPixmap()
        self._faces_shown = []
        self.image.setText("Loading…")
        cache, size = self.model.cache, self.model.thumb_size  # an offline photo: the grid's cached copy

        def decode():
            try:
                return to_qimage(display_image(path)), ""
            except Exception as e:  # offline or unreadable: its cached thumbnail, if any
                try:
                    return QImage(str(thumbnail(path, size, cache))), f" (a small copy: {e})"
                except Exception:
                    return QImage(), str(e)

        self.tasks.read(decode, lambda res: self._loaded(photo_id, *res))

    def _loaded(self, photo_id: int, image: QImage, note: str) -> None:
        if photo_id != self.photo_id:
            return  # the user moved on
        self.pixmap = QPixmap.fromImage(image) if not image.isNull() else QPixmap()
        self.note = note
        self.region_select.setEnabled(not note)  # a small copy is a square crop: its parts are not the photo's
        self.zoom = None
        self._show()
        self.shown.emit(photo_id)
        if not self.pixmap.isNull():  # faces outlined with their names (people, issue 19)
            self.tasks.read(lambda: self.catalog.faces_in_photo(photo_id), lambda faces: self._faces(photo_id, faces))

    def _faces(self, photo_id: int, faces) -> None:
        if photo_id == self.photo_id:
            self.faces_box.show_faces(faces)
            self._faces_shown = list(faces)
            self.image.setToolTip("Click a face to say who it is" if faces else "")
        if photo_id == self.photo_id and faces:
            self.pixmap = draw_faces(self.pixmap, faces)
            self._show()

    # -- tags -------------------------------------------------------------------------------

    def refresh_tags(self) -> None:
        self.tags.clear()
        for t in self.catalog.tags_of(self.photo_id):
            score = f"  {t.score:.2f}" if t.source == "auto" and t.score is not None else ""
            self.tags.addItem(f"{t.tag}{score}  ({t.source})")
            self.tags.item(self.tags.count() - 1).setData(Qt.UserRole, t.tag)

    def _tags_written(self, photo_id: int) -> None:
        if photo_id == self.photo_id:
            self.refresh_tags()
        self.tags_changed.emit()

    def remove_tag(self) -> None:
        item = self.tags.currentItem()
        if item is not None:
            tag, pid = item.data(Qt.UserRole), self.photo_id
            self.tasks.write(lambda: self.catalog.remove_tag(pid, tag), lambda _: self._tags_written(pid))

    def add_tag(self) -> None:
        tag, pid = self.new_tag.text().strip(), self.photo_id
        if tag:
            self.new_tag.clear()
            self.tasks.write(lambda: self.catalog.add_tag(pid, tag), lambda _: self._tags_written(pid))

    # -- zoom and full screen ---------------------------------------------------------------

    def fit(self) -> None:
        self.zoom = None
        self._show()

    def actual_size(self) -> None:
        self.zoom = 1.0
        self._show()

    def current_zoom(self) -> float:
        if self.zoom is not None:
            return self.zoom
        shown = self.image.pixmap()
        return shown.width() / max(1, self.pixmap.width()) if shown is not None and not shown.isNull() else 1.0

    def zoom_by(self, factor: float) -> None:
        if self.pixmap.isNull():
            return
        self.zoom = max(ZOOM_RANGE[0], min(ZOOM_RANGE[1], self.current_zoom() * factor))
        self._show()

    def toggle_full_screen(self) -> None:
        full = not self.isFullScreen()
        self.side.setVisible(not full)
        self.showFullScreen() if full else self.showNormal()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape and self.isFullScreen():
            self.toggle_full_screen()  # Esc leaves full screen first; a second Esc closes
            return
        super().keyPressEvent(event)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.scroll.viewport() and event.type() == QEvent.Wheel:
            self.zoom_by(ZOOM_STEP if event.angleDelta().y() > 0 else 1 / ZOOM_STEP)
            return True
        if obj is self.image and event.type() == QEvent.MouseButtonRelease and event.button() == Qt.LeftButton:
            return self._face_clicked(event.position())
        return super().eventFilter(obj, event)

    def _face_clicked(self, pos) -> bool:
        """A click on a face outline opens its menu (face_menu.py); elsewhere, nothing."""
        shown = self.image.pixmap()
        if not self._faces_shown or shown is None or shown.isNull():
            return False
        size = shown.deviceIndependentSize()  # the label centres the photo when it is larger
        left, top = (self.image.width() - size.width()) / 2, (self.image.height() - size.height()) / 2
        face = face_at(self._faces_shown, (pos.x() - left) / size.width(), (pos.y() - top) / size.height())
        if face is None:
            return False
        self.face_menu = self.faces_box.actions.menu(face, self)
        self.face_menu.popup(self.image.mapToGlobal(pos.toPoint()))
        return True

    def _show(self) -> None:
        if self.pixmap.isNull():
            self.image.setText(f"This photo cannot be shown: {getattr(self, 'note', '')}")
            self.image.resize(self.scroll.viewport().size())
            return
        if self.zoom is None:
            pix = self.pixmap.scaled(self.scroll.viewport().size(), Qt.KeepAspectRatio, Qt.SmoothTransformation)
        else:
            pix = self.pixmap.scaled(self.pixmap.size() * self.zoom, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        self.image.setPixmap(pix)
        self.image.resize(pix.size())
        self._shown = pix

    def _outline(self, on: bool) -> None:
        """Words: while the pointer is on the photo's text, its lines are outlined on the photo."""
        shown = getattr(self, "_shown", None)
        if shown is not None and not shown.isNull():
            self.image.setPixmap(outlined(shown, self.words.boxes) if on else shown)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.zoom is None:
            self._show()
