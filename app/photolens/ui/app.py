"""Start the desktop app."""
from __future__ import annotations

import gc
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from .. import __version__
from ..engine.catalog import Catalog
from ..engine.jobs import SWITCH_INTERVAL_S
from .icons import app_icon
from .main_window import MainWindow
from .theme import apply_theme

# Python's cycle collector runs every 700 new container objects; a 60,000-photo list makes
# hundreds of thousands, and each full collection that follows walks every object the window
# holds, on whichever thread allocated last, while the window waits for the interpreter:
# 40-170 ms each, several per tag clicked, none of which found garbage (bench/ui_scale.py).
# Photolens makes few reference cycles, so collecting rarely costs little memory; 50,000 made
# those pauses disappear from the benchmark (p99 stall 35 -> 16 ms).
GC_THRESHOLDS = (50_000, 20, 100)

# The window's thread takes the interpreter back for every call Qt makes into Python (each tile's
# data, each row count), and while a background thread computes, each of those waits for the
# interpreter's switch interval: 5 ms by default, so a repaint of a few dozen tiles could wait
# a tenth of a second behind a large tag's list being built. The engine's jobs' interval
# (jobs.SWITCH_INTERVAL_S, 1 ms) for the whole app cuts that wait fivefold (bench/ui_stall.py:
# p99 stall 10.5-11.8 -> 7.6-9.4 ms).


def make_app(argv=None) -> QApplication:
    gc.set_threshold(*GC_THRESHOLDS)
    sys.setswitchinterval(SWITCH_INTERVAL_S)  # jobs.switching_often then leaves it as it is
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("Photolens")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("Photolens")
    # Matches resources/linux/org.photolens.Photolens.desktop, so Wayland docks find the icon.
    app.setDesktopFileName("org.photolens.Photolens")
    apply_theme(app)
    # The system switched between light and dark while Photolens runs (Qt 6.5+).
    changed = getattr(app.styleHints(), "colorSchemeChanged", None)
    if changed is not None:
        changed.connect(lambda _scheme: apply_theme(app))
    app.setWindowIcon(app_icon())
    return app


def run_app(library: Path | None = None, device: str | None = None) -> int:
    app = make_app()
    catalog = Catalog(library, device=device)
    window = MainWindow(catalog)
    window.show()
    code = app.exec()
    catalog.close()
    return code
