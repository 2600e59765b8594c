"""The duplicates review: groups of copies side by side, and the one way to the trash.

Each group shows its photos with size, resolution, date and folder. The user picks the copy to
keep (the engine's choice first), may set copies aside (they stay too) or set the whole group
aside, and "Move the others to the trash…" asks first, listing every file; only then do the
files go, to the desktop's trash (never deleted). Nothing else in the app removes a photo.
"""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QDialog, QDialogButtonBox, QFrame, QHBoxLayout, QLabel,
                               QListWidget, QMessageBox, QPushButton, QRadioButton, QScrollArea, QSplitter,
                               QVBoxLayout, QWidget)

from ..engine.duplicates import DuplicatePhoto, DuplicateSet
from ..engine.imaging import thumbnail
from .tasks import Tasks

KIND_LABELS = {"exact": "identical files", "near": "the same photo", "similar": "similar shots"}
CARD_THUMB = 220  # px: big enough to compare two copies by eye


def describe_photo(p: DuplicatePhoto) -> str:
    size = f"{p.width} × {p.height}" if p.width else "size unknown"
    when = datetime.fromtimestamp(p.date).strftime("%Y-%m-%d %H:%M") if p.date else ""
    date = when if p.taken and when else f"no date taken (file saved {when})" if when else "no date"
    return f"{os.path.basename(p.path)}\n{size}, {p.size / 1e6:.2f} MB\n{date}\n{p.folder}"


class DuplicatesDialog(QDialog):
    """Review and tidy duplicates.

    `confirm(paths) -> bool` asks before anything moves (default: a message box listing the
    files); `trash(paths, keep)` moves them (default: catalog.trash). Both are parameters so a
    test can answer and keep the real trash out of it.

    Signals:
        trashed(int): this many photos went to the trash (the window refreshes what it shows).
    """

    trashed = Signal(int)

    def __init__(self, catalog, tasks: Tasks, cache: Path, parent: QWidget | None = None,
                 confirm: Callable[[list[str]], bool] | None = None,
                 trash: Callable[[list[str], str], object] | None = None):
        super().__init__(parent)
        self.setWindowTitle("Duplicates")
        self.resize(1000, 620)
        self.catalog, self.tasks, self.cache = catalog, tasks, cache
        self.confirm = confirm or self._ask
        self.trash = trash or catalog.trash
        self.groups: list[DuplicateSet] = []
        self.aside_groups: set[tuple[int, ...]] = set()
        self.keep_choice: dict[tuple[int, ...], int] = {}
        self.aside_photos: set[int] = set()
        self.generation = 0
        self.note = ""  # what the last move to the trash did, shown above the counts

        self.status = QLabel("Looking for duplicates…")
        self.similar = QCheckBox("Include similar shots (bursts)")
        self.similar.toggled.connect(lambda _: self.load())
        self.list = QListWidget()
        self.list.currentRowChanged.connect(self.show_group)
        self.cards = QWidget()
        self.cards_layout = QHBoxLayout(self.cards)
        self.cards_layout.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.cards)
        split = QSplitter()
        split.addWidget(self.list)
        split.addWidget(scroll)
        split.setStretchFactor(1, 3)
        self.aside_button = QPushButton("Set this group aside")
        self.aside_button.clicked.connect(self.set_group_aside)
        self.trash_button = QPushButton("Move the others to the trash…")
        self.trash_button.clicked.connect(self.trash_others)
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.aside_button)
        row.addStretch(1)
        row.addWidget(self.trash_button)
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.similar)
        v = QVBoxLayout(self)
        v.addLayout(top)
        v.addWidget(split, 1)
        v.addLayout(row)
        v.addWidget(buttons)
        self._enable(False)
        self.load()

    # -- groups -----------------------------------------------------------------------------

    def load(self) -> None:
        self.generation += 1
        generation, similar = self.generation, self.similar.isChecked()
        self.status.setText("Looking for duplicates…")
        self.tasks.read(lambda: self.catalog.duplicates(with_similar=similar),
                        lambda groups: self._loaded(generation, groups),
                        lambda e: self.status.setText(f"Could not look for duplicates: {e}"))

    def _loaded(self, generation: int, groups: list[DuplicateSet]) -> None:
        if generation != self.generation:
            return
        self.groups = [g for g in groups if self._key(g) not in self.aside_groups]
        self.list.clear()
        for g in self.groups:
            self.list.addItem(f"{len(g.photos)} × {KIND_LABELS.get(g.kind, g.kind)}\n"
                              f"{os.path.basename(g.keep.path)}")
        n = sum(len(g.photos) - 1 for g in self.groups if g.kind != "similar")
        counts = f"{len(self.groups)} groups; {n} copies could go" if self.groups else "No duplicates"
        self.status.setText(f"{self.note}  {counts}" if self.note else counts)
        self._enable(bool(self.groups))
        if self.groups:
            self.list.setCurrentRow(0)
        else:
            self._clear_cards()

    @staticmethod
    def _key(group: DuplicateSet) -> tuple[int, ...]:
        return tuple(sorted(p.id for p in group.photos))

    def current(self) -> DuplicateSet | None:
        row = self.list.currentRow()
        return self.groups[row] if 0 <= row < len(self.groups) else None

    def keep_id(self, group: DuplicateSet) -> int:
        return self.keep_choice.get(self._key(group), group.keep.id)

    def to_trash(self, group: DuplicateSet) -> list[str]:
        """The files "Move the others to the trash" would move: all but the kept one and
        those set aside."""
        keep = self.keep_id(group)
        return [p.path for p in group.photos if p.id != keep and p.id not in self.aside_photos]

    # -- cards ------------------------------------------------------------------------------

    def _clear_cards(self) -> None:
        while self.cards_layout.count():
            item = self.cards_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()

    def show_group(self, row: int) -> None:
        self._clear_cards()
        group = self.current()
        if group is None:
            return
        self.keep_buttons = QButtonGroup(self.cards)
        keep = self.keep_id(group)
        for p in group.photos:
            self.cards_layout.addWidget(self._card(group, p, p.id == keep))

    def _card(self, group: DuplicateSet, photo: DuplicatePhoto, kept: bool) -> QFrame:
        card = QFrame()
        card.setFrameShape(QFrame.StyledPanel)
        v = QVBoxLayout(card)
        image = QLabel()
        image.setFixedSize(CARD_THUMB, CARD_THUMB)
        image.setAlignment(Qt.AlignCenter)
        v.addWidget(image)
        info = QLabel(describe_photo(photo))
        info.setTextInteractionFlags(Qt.TextSelectableByMouse)
        v.addWidget(info)
        keep = QRadioButton("Keep this one")
        keep.setChecked(kept)
        keep.toggled.connect(lambda on: on and self.keep_choice.__setitem__(self._key(group), photo.id))
        self.keep_buttons.addButton(keep)
        v.addWidget(keep)
        aside = QCheckBox("Set aside (keep it too)")
        aside.setChecked(photo.id in self.aside_photos)
        aside.toggled.connect(lambda on: (self.aside_photos.add if on else self.aside_photos.discard)(photo.id))
        v.addWidget(aside)
        generation, path, cache = self.generation, photo.path, self.cache
        self.tasks.read(lambda: QImage(str(thumbnail(path, CARD_THUMB, cache))),
                        lambda img: self._show_thumb(generation, image, img), lambda e: image.setText("unreadable"))
        return card

    def _show_thumb(self, generation: int, label: QLabel, image: QImage) -> None:
        if generation == self.generation and not image.isNull():
            try:
                label.setPixmap(QPixmap.fromImage(image))
            except RuntimeError:  # the card was replaced meanwhile
                pass

    # -- actions ----------------------------------------------------------------------------

    def set_group_aside(self) -> None:
        group = self.current()
        if group is not None:
            self.aside_groups.add(self._key(group))
            self._loaded(self.generation, self.groups)

    def trash_others(self) -> None:
        group = self.current()
        if group is None:
            return
        paths = self.to_trash(group)
        if not paths:
            QMessageBox.information(self, "Duplicates", "Every other copy is set aside: nothing to move.")
            return
        if not self.confirm(paths):
            return
        keep = next(p.path for p in group.photos if p.id == self.keep_id(group))
        self._enable(False)
        self.tasks.write(lambda: self.trash(paths, keep), self._trashed,
                         lambda e: (self.status.setText(f"Nothing moved: {e}"), self._enable(True)))

    def _trashed(self, result) -> None:
        failed = "".join(f"\n{p}: {reason}" for p, reason in result.failed)
        self.note = f"Moved {len(result.moved)} to the trash." + (f" Left in place:{failed}\n" if failed else "")
        self.trashed.emit(len(result.moved))
        self.load()

    def _ask(self, paths: list[str]) -> bool:
        box = QMessageBox(QMessageBox.Warning, "Move to the trash",
                          f"Move these {len(paths)} files to the trash? You can restore them from there.",
                          QMessageBox.Cancel, self)
        box.setDetailedText("\n".join(paths))
        box.setInformativeText("\n".join(paths[:10]) + ("\n…" if len(paths) > 10 else ""))
        move = box.addButton("Move to the trash", QMessageBox.DestructiveRole)
        box.setDefaultButton(QMessageBox.Cancel)
        box.exec()
        return box.clickedButton() is move

    def _enable(self, on: bool) -> None:
        self.trash_button.setEnabled(on)
        self.aside_button.setEnabled(on)
