"""The application icon, from the PNGs in resources/icons (source tree or bundle)."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon


def resources_dir() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    return Path(frozen) / "resources" if frozen else Path(__file__).resolve().parents[3] / "resources"


def app_icon() -> QIcon:
    icon = QIcon()
    for png in sorted((resources_dir() / "icons").glob("photolens-*.png")):
        icon.addFile(str(png))
    return icon
