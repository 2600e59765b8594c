"""Start the desktop app."""
from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from .. import __version__
from ..engine.catalog import Catalog

STYLE = """
QMainWindow, QDialog { background: #23262b; color: #e6e6e6; }
QWidget { color: #e6e6e6; }
QLineEdit, QComboBox, QSpinBox { background: #2e3238; border: 1px solid #454a52; border-radius: 6px; padding: 4px 8px; }
QLineEdit:focus { border-color: #5b9df9; }
QListView, QTableView, QListWidget { background: #1b1d21; border: none; }
QListView::item:selected { background: #2f5fa8; border-radius: 4px; }
QHeaderView::section { background: #2e3238; border: none; padding: 4px; }
QPushButton, QToolButton { background: #343941; border: 1px solid #4a5059; border-radius: 6px; padding: 4px 10px; }
QPushButton:hover, QToolButton:hover { background: #3d434c; }
QDockWidget::title { background: #2a2d33; padding: 6px; }
QLabel#empty { font-size: 18px; color: #a0a6ad; }
QLabel#related { color: #a0a6ad; }
QLabel a { color: #7fb2ff; }
QStatusBar { background: #1f2226; }
QMenuBar { background: #2a2d33; color: #e6e6e6; }
QMenuBar::item:selected, QMenu::item:selected { background: #2f5fa8; }
QMenu { background: #2e3238; color: #e6e6e6; }
"""


def make_app(argv=None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Photolens")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Photolens")
    # Matches resources/linux/org.photolens.Photolens.desktop, so Wayland docks find the icon.
    app.setDesktopFileName("org.photolens.Photolens")
    app.setStyleSheet(STYLE)
    from PySide6.QtGui import QColor, QPalette

    palette = app.palette()
    palette.setColor(QPalette.Link, QColor("#7fb2ff"))  # rich-text links ignore style sheets
    app.setPalette(palette)
    from .icons import app_icon

    app.setWindowIcon(app_icon())
    return app


def run_app(library: Path | None = None, device: str | None = None) -> int:
    app = make_app()
    from .main_window import MainWindow

    catalog = Catalog(library, device=device)
    window = MainWindow(catalog)
    window.show()
    code = app.exec()
    catalog.close()
    return code
