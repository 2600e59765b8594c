"""A readable palette that follows the system's light or dark theme.

Combo and spin boxes keep the platform's drawing (with the palette's colours): a styled one
loses its arrows. Every text colour is chosen against the background it is drawn on with a contrast of at
least 4.5:1 (WCAG AA for body text); `contrast` computes it and a test checks every pair. The
QPalette is set as well as the style sheet, so widgets the sheet does not style (message
boxes' details, progress bar text, tooltips) are readable too. Keyboard focus shows as an
accent-coloured frame."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["DARK", "LIGHT", "TEXT_PAIRS", "apply_theme", "contrast", "system_is_dark"]

MIN_CONTRAST = 4.5  # WCAG AA for normal text

DARK = {
    "window": "#23262b", "base": "#1b1d21", "alt": "#2a2d33", "button": "#343941", "border": "#5a616b",
    "text": "#e6e6e6", "muted": "#aab0b7", "accent": "#5b9df9", "link": "#8dbaff",
    "selection": "#2f5fa8", "selected_text": "#ffffff", "tooltip": "#2e3238", "tooltip_text": "#f0f0f0",
}
LIGHT = {
    "window": "#f4f5f7", "base": "#ffffff", "alt": "#e9ebef", "button": "#e4e7ec", "border": "#8a919c",
    "text": "#1d2026", "muted": "#505763", "accent": "#1f62c9", "link": "#1a56b3",
    "selection": "#2f5fa8", "selected_text": "#ffffff", "tooltip": "#ffffff", "tooltip_text": "#1d2026",
}
# (foreground, background) pairs that carry text somewhere in the app.
TEXT_PAIRS = (("text", "window"), ("text", "base"), ("text", "alt"), ("text", "button"), ("muted", "window"),
              ("muted", "base"), ("link", "window"), ("link", "base"), ("selected_text", "selection"),
              ("tooltip_text", "tooltip"))

STYLE = """
QMainWindow, QDialog {{ background: {window}; color: {text}; }}
QWidget {{ color: {text}; }}
QLineEdit {{ background: {base}; border: 1px solid {border}; border-radius: 6px; padding: 4px 8px; }}
QListView, QTableView, QListWidget, QTextEdit, QPlainTextEdit {{ background: {base}; border: 1px solid {alt}; }}
QListView::item:selected, QTableView::item:selected, QListWidget::item:selected {{ background: {selection};
                                 color: {selected_text}; border-radius: 4px; }}
QHeaderView::section {{ background: {alt}; border: none; padding: 4px; }}
QPushButton, QToolButton {{ background: {button}; border: 1px solid {border}; border-radius: 6px; padding: 4px 10px; }}
QPushButton:hover, QToolButton:hover {{ border-color: {accent}; }}
QPushButton:default {{ border-color: {accent}; }}
QPushButton:disabled, QToolButton:disabled {{ color: {muted}; background: {alt}; border-color: {alt}; }}
QLineEdit:focus, QPushButton:focus, QToolButton:focus, QSlider:focus,
QListView:focus, QTableView:focus, QListWidget:focus, QCheckBox:focus {{ border: 2px solid {accent}; }}
QToolButton#chip {{ border-radius: 12px; background: {alt}; }}
QDockWidget::title {{ background: {alt}; padding: 6px; }}
QLabel#empty {{ font-size: 18px; color: {muted}; }}
QLabel#related {{ color: {muted}; }}
QStatusBar {{ background: {alt}; }}
QProgressBar {{ background: {base}; border: 1px solid {border}; border-radius: 4px; text-align: center;
               color: {text}; }}
QProgressBar::chunk {{ background: {selection}; }}
QMenuBar {{ background: {alt}; color: {text}; }}
QMenuBar::item:selected, QMenu::item:selected {{ background: {selection}; color: {selected_text}; }}
QMenu {{ background: {base}; color: {text}; }}
QToolTip {{ background: {tooltip}; color: {tooltip_text}; border: 1px solid {border}; }}
"""


def _luminance(color: str) -> float:
    c = QColor(color)

    def channel(v: int) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())


def contrast(foreground: str, background: str) -> float:
    """The WCAG contrast ratio of two colours, from 1 (the same) to 21 (black on white)."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def system_is_dark() -> bool:
    """The desktop's choice where Qt can read it (Qt 6.5+), else judged from the palette."""
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None and scheme() != Qt.ColorScheme.Unknown:
        return scheme() == Qt.ColorScheme.Dark
    return QGuiApplication.palette().color(QPalette.Window).lightness() < 128


def palette_for(colors: dict) -> QPalette:
    p = QPalette()
    roles = {QPalette.Window: "window", QPalette.WindowText: "text", QPalette.Base: "base",
             QPalette.AlternateBase: "alt", QPalette.Text: "text", QPalette.Button: "button",
             QPalette.ButtonText: "text", QPalette.Highlight: "selection", QPalette.HighlightedText: "selected_text",
             QPalette.ToolTipBase: "tooltip", QPalette.ToolTipText: "tooltip_text", QPalette.Link: "link",
             QPalette.PlaceholderText: "muted", QPalette.BrightText: "selected_text"}
    for role, key in roles.items():
        p.setColor(role, QColor(colors[key]))
    return p


def apply_theme(app: QApplication, dark: bool | None = None) -> dict:
    """Palette and style sheet for the light or dark theme (default: the system's). Returns
    the colours used."""
    colors = DARK if (system_is_dark() if dark is None else dark) else LIGHT
    app.setPalette(palette_for(colors))  # rich-text links and unstyled widgets read the palette
    app.setStyleSheet(STYLE.format(**colors))
    return colors
