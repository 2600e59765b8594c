"""A photo viewer: fit and zoom, next and previous, details and tags (remove or add one)."""
from __future__ import annotations

import os
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QImageReader, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QLineEdit, QListWidget, QPushButton, QScrollArea,
                               QVBoxLayout)

from .photo_text import PhotoTextPanel, outlined


class Viewer(QDialog):
    def __init__(self, catalog, tasks, model, row: int, parent=None):
        super().__init__(parent)
        self.catalog, self.tasks, self.model, self.row = catalog, tasks, model, row
        self.zoom = None  # None: fit to window
        self.resize(1100, 760)
        self.image = QLabel(alignment=Qt.AlignCenter)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.image)
        self.scroll.setAlignment(Qt.AlignCenter)
        self.scroll.setWidgetResizable(False)
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.tags = QListWidget()
        remove = QPushButton("Remove tag")
        remove.clicked.connect(self.remove_tag)
        self.new_tag = QLineEdit(placeholderText="Add a tag and press Enter")
        self.new_tag.returnPressed.connect(self.add_tag)
        side = QVBoxLayout()
        side.addWidget(self.info)
        side.addWidget(QLabel("Tags"))
        side.addWidget(self.tags, 1)
        side.addWidget(remove)
        side.addWidget(self.new_tag)
        # Words: the photo's text (hover outlines it on the photo) and the user's caption.
        self.words = PhotoTextPanel()
        self.words.hovered.connect(self._outline)
        self.words.caption_edited.connect(
            lambda pid, text: self.tasks.write(lambda: self.catalog.set_caption(pid, text)))
        side.addWidget(self.words)
        nav = QHBoxLayout()
        for text, slot in (("◀ Previous", lambda: self.step(-1)), ("Fit", self.fit), ("Zoom −", lambda: self.zoom_by(0.8)),
                           ("Zoom +", lambda: self.zoom_by(1.25)), ("Next ▶", lambda: self.step(1))):
            b = QPushButton(text)
            b.clicked.connect(slot)
            nav.addWidget(b)
        left = QVBoxLayout()
        left.addWidget(self.scroll, 1)
        left.addLayout(nav)
        lay = QHBoxLayout(self)
        lay.addLayout(left, 3)
        lay.addLayout(side, 1)
        for key, slot in ((Qt.Key_Right, lambda: self.step(1)), (Qt.Key_Left, lambda: self.step(-1)),
                          (QKeySequence.ZoomIn, lambda: self.zoom_by(1.25)), (QKeySequence.ZoomOut, lambda: self.zoom_by(0.8))):
            QShortcut(key, self, slot)
        self.load()

    @property
    def result(self):
        return self.model.result(self.row)

    def load(self) -> None:
        r = self.result
        reader = QImageReader(r.path)
        reader.setAutoTransform(True)  # EXIF orientation
        img = reader.read()
        self.pixmap = QPixmap.fromImage(img) if not img.isNull() else QPixmap()
        self.setWindowTitle(f"{os.path.basename(r.path)} — Photolens")
        d = self.catalog.photo_info(r.id)
        taken = datetime.fromtimestamp(d.taken).strftime("%d %b %Y %H:%M") if d and d.taken else "unknown"
        size = f"{d.width}×{d.height}, {d.size / 1e6:.1f} MB" if d and d.width else ""
        self.info.setText(f"<b>{os.path.basename(r.path)}</b><br>Taken: {taken}<br>Camera: {(d and d.camera) or '—'}"
                          f"<br>{size}<br><small>{r.path}</small>")
        self.refresh_tags()
        self.words.show_photo(r.id, self.catalog.text_of(r.id), self.catalog.caption_of(r.id))
        self.fit()

    def refresh_tags(self) -> None:
        self.tags.clear()
        for t in self.catalog.tags_of(self.result.id):
            score = f"  {t.score:.2f}" if t.source == "auto" and t.score is not None else ""
            self.tags.addItem(f"{t.tag}{score}  ({t.source})")
            self.tags.item(self.tags.count() - 1).setData(Qt.UserRole, t.tag)

    def remove_tag(self) -> None:
        item = self.tags.currentItem()
        if item is not None:
            tag, pid = item.data(Qt.UserRole), self.result.id
            self.tasks.write(lambda: self.catalog.remove_tag(pid, tag), lambda _: self.refresh_tags())

    def add_tag(self) -> None:
        tag, pid = self.new_tag.text().strip(), self.result.id
        if tag:
            self.new_tag.clear()
            self.tasks.write(lambda: self.catalog.add_tag(pid, tag), lambda _: self.refresh_tags())

    def step(self, delta: int) -> None:
        self.row = (self.row + delta) % self.model.rowCount()
        self.load()

    def fit(self) -> None:
        self.zoom = None
        self._show()

    def zoom_by(self, factor: float) -> None:
        if self.pixmap.isNull():
            return
        current = self.zoom or (self.image.pixmap().width() / max(1, self.pixmap.width()) if self.image.pixmap() else 1.0)
        self.zoom = max(0.05, min(8.0, current * factor))
        self._show()

    def _show(self) -> None:
        if self.pixmap.isNull():
            self.image.setText("This photo cannot be shown (offline or unreadable).")
            self.image.adjustSize()
            return
        if self.zoom is None:
            area = self.scroll.viewport().size()
            pix = self.pixmap.scaled(area, Qt.KeepAspectRatio, Qt.SmoothTransformation)
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
        if self.zoom is None and hasattr(self, "pixmap"):
            self._show()
