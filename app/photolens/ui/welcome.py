"""The first start: what Photolens does, and a folder to begin with."""
from __future__ import annotations

import os
from typing import Callable

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QMessageBox, QWidget

__all__ = ["show_welcome"]


def show_welcome(parent: QWidget, add_folder: Callable[[str], None], choose_folder: Callable[[], None]) -> QMessageBox:
    pictures = QStandardPaths.writableLocation(QStandardPaths.PicturesLocation)
    box = QMessageBox(parent)
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
    box.buttonClicked.connect(lambda b: add_folder(pictures) if use is not None and b is use else
                              (choose_folder() if b is other else None))
    box.show()
    return box
