"""Pixels from the engine (PIL images) as Qt images."""
from __future__ import annotations

from PySide6.QtGui import QImage

__all__ = ["to_qimage"]


def to_qimage(img) -> QImage:
    """A PIL RGB image as a QImage that owns its pixels."""
    data = img.tobytes("raw", "RGB")
    return QImage(data, img.width, img.height, img.width * 3, QImage.Format_RGB888).copy()
