"""Help ▸ Keyboard shortcuts: every key the window and the viewer answer to, in one list."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

__all__ = ["SHORTCUTS", "show_shortcuts"]

SHORTCUTS = (
    ("Window", (("Ctrl+F", "Focus the search bar"), ("Enter or Space", "Open the selected photo"),
                ("Ctrl+O", "Add a photo folder"), ("Ctrl+V", "Search by a pasted image"),
                ("Ctrl+,", "Settings"), ("Alt+Left / Alt+Right", "Similar pane: back / forward"),
                ("F11", "Full screen"), ("F1", "This list"), ("Ctrl+Q", "Quit"))),
    ("Viewer", (("Left / Right", "Previous / next photo"), ("F or F11", "Full screen"),
                ("Esc", "Leave full screen, then close"), ("+ / - or the wheel", "Zoom in / out"),
                ("1", "Actual size (1:1)"), ("0", "Fit to the window"), ("Enter in the tag box", "Add the tag"))),
)


def shortcuts_html() -> str:
    parts = []
    for title, rows in SHORTCUTS:
        cells = "".join(f"<tr><td><b>{key}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for key, what in rows)
        parts.append(f"<h3>{title}</h3><table>{cells}</table>")
    return "".join(parts)


def show_shortcuts(parent: QWidget) -> QMessageBox:
    box = QMessageBox(QMessageBox.NoIcon, "Keyboard shortcuts", shortcuts_html(), parent=parent)
    box.setObjectName("shortcuts")
    box.show()
    return box
