"""The search bar: words, and a photo shown as a chip (its thumbnail and name), never as a
path or the query language's `image:` syntax."""
from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QToolButton, QWidget

from ..engine.query import IMAGE_PREFIX

__all__ = ["SearchBar", "SEARCH_DEBOUNCE_MS"]

SEARCH_DEBOUNCE_MS = 250  # fast typists do not start a search per key; slow ones see results at once
CHIP_ICON = 28  # the chip's thumbnail, as tall as the line edit's text
CHIP_TEXT_WIDTH = 160  # pixels of the photo's name on the chip: the words keep most of the bar


class SearchBar(QWidget):
    """A line edit for words plus, when searching by a photo, a chip showing that photo.

    Signals:
        search_requested(): the query changed and settled (debounced), or Enter was pressed.
    """

    search_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.image_path: str | None = None
        self.chip = QToolButton()
        self.chip.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.chip.setIconSize(QSize(CHIP_ICON, CHIP_ICON))
        self.chip.setObjectName("chip")
        self.chip.setToolTip("Searching by this photo: click to search by words only")
        self.chip.clicked.connect(self.clear_image)
        self.chip.hide()
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("Describe a photo: dog on beach, birthday cake, snowy mountain...  "
                                     "(+ adds, - leaves out)")
        self.edit.setClearButtonEnabled(True)
        for button in self.edit.findChildren(QToolButton):  # Qt's clear button: an icon, so a tooltip
            button.setToolTip("Clear the search")
        self.edit.setMinimumHeight(36)
        self.debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self.debounce.timeout.connect(self.search_requested)
        self.edit.textChanged.connect(lambda _: self.debounce.start())
        self.edit.returnPressed.connect(self._submit)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.chip)
        lay.addWidget(self.edit, 1)
        self.setFocusProxy(self.edit)

    def _submit(self) -> None:
        self.debounce.stop()
        self.search_requested.emit()

    def text(self) -> str:
        """The words typed (without the photo)."""
        return self.edit.text()

    def set_text(self, text: str) -> None:
        self.edit.setText(text)

    def clear_quietly(self) -> None:
        """Empty the bar without asking for a search (the grid is about to show something else)."""
        self.edit.blockSignals(True)
        self.edit.setText("")
        self.edit.blockSignals(False)
        self.image_path = None
        self.chip.hide()

    def set_image(self, path: str, words: str = "", label: str | None = None,
                  thumbnail: QImage | None = None) -> None:
        """Search by this photo (plus `words`): the chip shows `label` (default: the file's
        name) and the thumbnail; clicking the chip goes back to words only."""
        self.image_path = path
        name = self.chip.fontMetrics().elidedText(label or os.path.basename(path), Qt.ElideMiddle, CHIP_TEXT_WIDTH)
        self.chip.setText(f"{name}  ✕")
        self.chip.setToolTip(f"Searching by this photo: {path}\nClick to search by words only")
        image = thumbnail if thumbnail is not None else QImage(path)
        if not image.isNull():
            self.chip.setIcon(QIcon(QPixmap.fromImage(image.scaled(
                CHIP_ICON * 2, CHIP_ICON * 2, Qt.KeepAspectRatio, Qt.SmoothTransformation))))
        self.chip.show()
        self.edit.blockSignals(True)
        self.edit.setText(words)
        self.edit.blockSignals(False)
        self._submit()

    def clear_image(self) -> None:
        self.image_path = None
        self.chip.hide()
        self._submit()

    def query(self) -> str:
        """The query for the engine: the photo (as `image:"path"`) plus the words, if any."""
        words = self.edit.text().strip()
        if self.image_path is None:
            return words
        photo = f'{IMAGE_PREFIX}"{self.image_path}"'
        return f"{photo} + {words}" if words else photo

    def describe(self) -> str:
        """The query as the user reads it ("this photo + at night")."""
        words = self.edit.text().strip()
        if self.image_path is None:
            return words
        return f"this photo + {words}" if words else "this photo"
