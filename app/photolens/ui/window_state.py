"""The window's size, position and pane layout: fitted to the screen it opens on, and kept
across sessions in QSettings (under the application's organisation and name)."""
from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow

__all__ = ["fit_to_screen", "restore_layout", "save_layout", "tabify_side_panes"]

DEFAULT_SIZE = (1280, 820)  # on screens that have room for it
SCREEN_SHARE = 0.92  # of the available screen, at most, so the window's frame and title fit too
MIN_SIZE = (640, 420)  # the smallest size at which the grid and one pane are still usable
GEOMETRY_KEY, STATE_KEY = "window/geometry", "window/state"


def fit_to_screen(window: QMainWindow) -> None:
    """The default size where the screen has room for it, else most of the available screen
    (what panels and docks leave, in device-independent pixels: right at any HiDPI scale)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    area = screen.availableGeometry()
    w = min(DEFAULT_SIZE[0], int(area.width() * SCREEN_SHARE))
    h = min(DEFAULT_SIZE[1], int(area.height() * SCREEN_SHARE))
    window.setMinimumSize(min(MIN_SIZE[0], w), min(MIN_SIZE[1], h))
    window.resize(w, h)
    window.move(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2)


def restore_layout(window: QMainWindow) -> None:
    """Size, position and the panes' places from the last session; a saved size that no
    longer fits (another screen, another scale) is fitted again."""
    settings = QSettings()
    geometry, state = settings.value(GEOMETRY_KEY), settings.value(STATE_KEY)
    if isinstance(geometry, QByteArray) and window.restoreGeometry(geometry):
        area = (window.screen() or QGuiApplication.primaryScreen()).availableGeometry()
        if window.width() > area.width() or window.height() > area.height():
            fit_to_screen(window)
    if isinstance(state, QByteArray):
        window.restoreState(state)


def save_layout(window: QMainWindow) -> None:
    settings = QSettings()
    settings.setValue(GEOMETRY_KEY, window.saveGeometry())
    settings.setValue(STATE_KEY, window.saveState())
    settings.sync()


def tabify_side_panes(window: QMainWindow, first: QDockWidget, keep_apart: tuple[QDockWidget, ...] = ()) -> None:
    """The default layout (a saved one wins): every pane on `first`'s side, but `keep_apart`,
    shares one tab group with it, so on a 1366x768 screen none is squeezed to a few rows."""
    area = window.dockWidgetArea(first)
    for dock in window.findChildren(QDockWidget):
        if dock is not first and dock not in keep_apart and window.dockWidgetArea(dock) == area:
            window.tabifyDockWidget(first, dock)
    first.raise_()
