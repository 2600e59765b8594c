"""What a query was understood to ask for ("Paris", "2019"), as chips the user can remove."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from ..engine.filters import Filters

__all__ = ["FilterChips"]

# What each kind of chip says before its value.
_KIND = {"date": "Taken", "place": "In", "camera": "Camera", "folder": "Folder", "person": "With"}


class FilterChips(QWidget):
    """One chip per filter in effect; hidden when there is none.

    Signals:
        removed(str): the user clicked the chip of this filter ('date', 'place', 'camera',
            'folder'); the window searches Understood.query_without(name).
    """

    removed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.chips: dict[str, QToolButton] = {}
        self._lay = QHBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.addWidget(QLabel("Only photos:"))
        self._lay.addStretch(1)
        self.set_filters(Filters())

    def set_filters(self, filters: Filters) -> None:
        for chip in self.chips.values():
            self._lay.removeWidget(chip)
            chip.deleteLater()
        self.chips = {}
        for name, label in filters.chips():
            chip = QToolButton(text=f"{_KIND[name]} {label}  ✕")
            chip.setObjectName("chip")
            chip.setToolTip(f"{_KIND[name]} {label}: click to remove this filter")
            chip.clicked.connect(lambda _=False, n=name: self.removed.emit(n))
            self._lay.insertWidget(self._lay.count() - 1, chip)
            self.chips[name] = chip
        self.setVisible(bool(self.chips))
