"""Search by a part of a photo: drag a rectangle over the viewer's photo, then "Find photos like
this part" makes that part the similar pane's subject (Catalog.similar's `region`).

A press that moves less than MIN_DRAG pixels stays a click (a face outline's menu still opens);
a rectangle smaller than MIN_SIDE on either side is too small to describe and is dropped.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QMenu, QRubberBand

from ..engine.imaging import display_image
from .qimages import to_qimage

__all__ = ["RegionSelector", "region_of", "region_preview"]

MIN_DRAG = 6  # pixels the pointer moves before a press becomes a drag, as a system's drag distance
MIN_SIDE = 16  # pixels: the engine refuses a region under ~2% of the photo; this is well above


def region_of(rect: QRect, shown: QSize, label: QSize) -> tuple[float, float, float, float] | None:
    """(x, y, w, h) as shares of the photo, of a rectangle drawn on a label that centres a pixmap
    of size `shown`; None where the rectangle misses the photo."""
    left, top = (label.width() - shown.width()) / 2, (label.height() - shown.height()) / 2
    x0 = min(max((rect.left() - left) / shown.width(), 0.0), 1.0)
    y0 = min(max((rect.top() - top) / shown.height(), 0.0), 1.0)
    x1 = min(max((rect.right() + 1 - left) / shown.width(), 0.0), 1.0)
    y1 = min(max((rect.bottom() + 1 - top) / shown.height(), 0.0), 1.0)
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        return None
    return round(x0, 4), round(y0, 4), round(x1 - x0, 4), round(y1 - y0, 4)


def region_preview(path: str, region: tuple[float, float, float, float]) -> QImage:
    """The part of the photo a region names, for the similar pane's subject (a worker calls it)."""
    img = display_image(path)
    x, y, w, h = region
    box = (round(x * img.width), round(y * img.height), round((x + w) * img.width), round((y + h) * img.height))
    return to_qimage(img.crop(box))


class RegionSelector(QObject):
    """Rubber-band selection on the viewer's image label.

    Signals:
        chosen(object): the user asked for photos like this part: (x, y, w, h) shares of the photo.
    """

    chosen = Signal(object)

    def __init__(self, image: QLabel) -> None:
        super().__init__(image)
        self.image = image
        self.band = QRubberBand(QRubberBand.Rectangle, image)
        self.menu: QMenu | None = None
        self.region: tuple[float, float, float, float] | None = None
        self._origin: QPoint | None = None
        self._dragging = False
        self.enabled = True
        image.setToolTip("Drag over part of the photo to find photos like that part")
        image.installEventFilter(self)

    def setEnabled(self, on: bool) -> None:
        self.enabled = on
        if not on:
            self.band.hide()
            self._origin = None

    def eventFilter(self, obj, event) -> bool:
        if not self.enabled:
            return False
        kind = event.type()
        if kind == QEvent.MouseButtonPress and event.button() == Qt.LeftButton:
            self._origin, self._dragging = event.position().toPoint(), False
        elif kind == QEvent.MouseMove and self._origin is not None:
            pos = event.position().toPoint()
            if not self._dragging and (pos - self._origin).manhattanLength() >= MIN_DRAG:
                self._dragging = True
                self.band.show()
            if self._dragging:
                self.band.setGeometry(QRect(self._origin, pos).normalized())
                return True
        elif kind == QEvent.MouseButtonRelease and event.button() == Qt.LeftButton and self._origin is not None:
            dragged, self._origin = self._dragging, None
            if dragged:  # a drag is never a click on a face underneath
                self._finish(event.globalPosition().toPoint())
                return True
        return False

    def _finish(self, where: QPoint) -> None:
        rect = self.band.geometry()
        pix = self.image.pixmap()
        if pix is None or pix.isNull() or rect.width() < MIN_SIDE or rect.height() < MIN_SIDE:
            self.band.hide()
            return
        self.region = region_of(rect, pix.deviceIndependentSize().toSize(), self.image.size())
        if self.region is None:
            self.band.hide()
            return
        self.menu = QMenu(self.image)
        self.menu.addAction("Find photos like this part", self.choose)
        self.menu.addAction("Clear the selection", self.band.hide)
        self.menu.popup(where)

    def choose(self) -> None:
        if self.region is not None:
            self.chosen.emit(self.region)
        self.band.hide()
