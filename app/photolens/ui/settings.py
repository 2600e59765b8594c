"""Settings: model, device (showing the active one), thorough tags, thumbnail size, library location."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QMessageBox,
                               QSpinBox)

from ..engine import models as registry
from ..engine.embedder import DEVICES, available_providers


def wrapped(text: str) -> QLabel:
    """A label that wraps long text (an error, a path) instead of widening the dialog."""
    label = QLabel(text)
    label.setWordWrap(True)
    return label


def active_device(catalog) -> str:
    """What runs the model now, and why not what was asked for; never raises, so the dialog
    that can fix a broken setting always opens."""
    try:
        text = f"Active: {catalog.embedder.provider} · available: {', '.join(available_providers())}"
    except Exception as e:  # a model or device that cannot load is what this dialog is for
        return f"The model cannot run: {e}"
    warnings = catalog.warnings
    return text + ("\n" + "\n".join(warnings) if warnings else "")


class SettingsDialog(QDialog):
    """Signals:
        applied(): the settings were changed and saved (the window re-indexes what needs it).
    """

    applied = Signal()

    def __init__(self, catalog, parent=None):
        super().__init__(parent)
        self.catalog = catalog
        self.setWindowTitle("Photolens settings")
        form = QFormLayout(self)
        self.model = QComboBox()
        self.known = registry.known_models()
        for name, info in self.known.items():
            self.model.addItem(f"{info.title}{'' if info.installed else '  (not installed)'}", name)
        self.model.setCurrentIndex(max(0, self.model.findData(catalog.settings.model)))
        self.device = QComboBox()
        self.device.addItems(list(DEVICES))
        self.device.setCurrentText(catalog.device)
        self.active = active = wrapped(active_device(catalog))
        self.setMaximumWidth(720)
        self.thorough = QCheckBox("Look closely for small things when tagging")
        self.thorough.setChecked(catalog.settings.thorough_tags)
        self.thorough.setToolTip("Looks at every part of each new photo for cups, phones, knives and the like.\n"
                                 "On a CPU this makes indexing about 3x slower; search does not need it.\n"
                                 "Photos already indexed keep their tags.")
        self.thumbs = QSpinBox(minimum=96, maximum=384, singleStep=32, value=catalog.settings.thumbnail_size)
        location = wrapped(str(catalog.dir))
        location.setToolTip("Start Photolens with --library DIR (or PHOTOLENS_LIBRARY) to use another library")
        form.addRow("Model", self.model)
        form.addRow("", wrapped("Install another: photolens models install NAME (needs internet)"))
        form.addRow("Device", self.device)
        form.addRow("", active)
        form.addRow("Tags", self.thorough)
        form.addRow("", wrapped("On a CPU, indexing is about 3x slower with it; a GPU hardly notices"))
        form.addRow("Thumbnail size", self.thumbs)
        form.addRow("Library", location)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.apply)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def apply(self) -> None:
        name = self.model.currentData()
        try:
            if self.known[name].installed and name != self.catalog.model.name:
                self.catalog.use_model(name)
            elif not self.known[name].installed:
                QMessageBox.information(self, "Photolens", f"Install it first: photolens models install {name}")
                return
            if self.device.currentText() != self.catalog.device:
                self.catalog.set_device(self.device.currentText())
        except Exception as e:
            QMessageBox.warning(self, "Photolens", str(e))
            return
        if self.thorough.isChecked() != self.catalog.settings.thorough_tags:
            self.catalog.set_thorough_tags(self.thorough.isChecked())
        self.catalog.settings.thumbnail_size = self.thumbs.value()
        self.catalog.settings.save(self.catalog.dir)
        self.active.setText(active_device(self.catalog))
        self.applied.emit()
        self.accept()
