"""The viewer's words: the text read in the photo (selectable, copyable; hovering it outlines
the lines on the photo) and the user's caption (saved when editing ends)."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRectF, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QLabel, QLineEdit, QPlainTextEdit, QVBoxLayout, QWidget

__all__ = ["PhotoTextPanel", "outlined"]

OUTLINE = QColor(255, 200, 0)  # amber: visible on light and dark photos alike


def outlined(pixmap: QPixmap, boxes: list[tuple[float, float, float, float]]) -> QPixmap:
    """A copy of the (scaled) photo with each box, given as fractions, outlined."""
    out = QPixmap(pixmap)
    if not boxes or out.isNull():
        return out
    painter = QPainter(out)
    pen = QPen(OUTLINE)
    pen.setWidth(max(2, out.width() // 300))
    painter.setPen(pen)
    w, h = out.width(), out.height()
    for left, top, right, bottom in boxes:
        painter.drawRect(QRectF(left * w, top * h, (right - left) * w, (bottom - top) * h))
    painter.end()
    return out


class PhotoTextPanel(QWidget):
    """Text and caption of one photo.

    Signals:
        hovered(bool): the pointer entered (True) or left (False) the text: the viewer outlines
            the lines on the photo meanwhile.
        caption_edited(int, str): the user finished editing the caption of this photo id.
    """

    hovered = Signal(bool)
    caption_edited = Signal(int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.photo_id: int | None = None
        self.boxes: list[tuple[float, float, float, float]] = []
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setPlaceholderText("No text found in this photo")
        self.text.setMaximumHeight(110)
        self.text.setToolTip("Text read in the photo: select and copy it; hover to see where it is")
        self.text.viewport().installEventFilter(self)
        self.caption = QLineEdit(placeholderText="Add a caption (searchable) and press Enter")
        self.caption.editingFinished.connect(self._edited)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Text in photo"))
        lay.addWidget(self.text)
        lay.addWidget(QLabel("Caption"))
        lay.addWidget(self.caption)
        self._saved = ""

    def show_photo(self, photo_id: int, lines, caption: str) -> None:
        """`lines`: the catalog's TextLines for the photo, or None when not read yet."""
        self.photo_id = photo_id
        self.boxes = [ln.box for ln in lines or []]
        self.text.setPlainText("\n".join(ln.text for ln in lines or []))
        self.text.setPlaceholderText("No text found in this photo" if lines is not None
                                     else "Text not read yet (it is read in the background)")
        self._saved = caption
        self.caption.setText(caption)

    def _edited(self) -> None:
        text = self.caption.text().strip()
        if self.photo_id is not None and text != self._saved:
            self._saved = text
            self.caption_edited.emit(self.photo_id, text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Enter:
            self.hovered.emit(True)
        elif event.type() == QEvent.Leave:
            self.hovered.emit(False)
        return False
