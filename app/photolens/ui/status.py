"""The status bar: progress of the library's jobs, pause, unreadable files, device, warnings.
Long texts are elided (the full text is the tooltip), so an error never widens the window."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QStatusBar, QToolButton

from ..engine.jobs import Progress

__all__ = ["ElidedLabel", "StatusBar", "counted"]

PROGRESS_WIDTH = 220  # wide enough for a percentage, narrow enough for a 1366-pixel screen


def counted(n: int, noun: str = "photo", plural: str | None = None) -> str:
    """ "1 photo", "2,345 photos", "1 person", "3 people" (`plural` where it is not noun + s)."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


class ElidedLabel(QLabel):
    """A one-line label that never asks for more width than it gets: text that does not fit
    ends in "…", and the whole text is its tooltip."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.setMinimumWidth(40)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        self._full = text
        self.setToolTip(text if text else "")
        self._elide()

    def full_text(self) -> str:
        return self._full

    def text(self) -> str:  # noqa: D102 - what the user reads is the whole message
        return self._full

    def _elide(self) -> None:
        shown = QFontMetrics(self.font()).elidedText(self._full, Qt.ElideRight, max(10, self.width()))
        super().setText(shown)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()


class StatusBar(QStatusBar):
    """Shows what `LibraryJobs` reports; the buttons are wired by the window."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.progress_label = ElidedLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(PROGRESS_WIDTH)
        self.progress.setFormat("%p%")
        self.progress.hide()
        self.pause_button = QToolButton(text="Pause", toolTip="Pause indexing (it resumes where it stopped)")
        self.pause_button.hide()
        self.failures_button = QToolButton(toolTip="Files that could not be read, with the reason for each")
        self.failures_button.hide()
        self.device_label = QLabel("")
        self.addWidget(self.progress_label, 1)
        self.addPermanentWidget(self.progress)
        self.addPermanentWidget(self.pause_button)
        self.addPermanentWidget(self.failures_button)
        self.addPermanentWidget(self.device_label)

    def busy(self, text: str) -> None:
        self.progress.setRange(0, 0)
        self.progress.show()
        self.pause_button.show()
        self.progress_label.setText(text)

    def idle(self) -> None:
        self.progress.hide()
        self.pause_button.hide()
        self.pause_button.setText("Pause")

    def show_progress(self, p: Progress, paused: bool) -> None:
        if self.progress.isHidden():  # background work that found some
            self.progress.show()
            self.pause_button.show()
        self.progress.setRange(0, max(1, p.total))
        self.progress.setValue(p.done)
        eta = f", {p.eta:,.0f} s left" if p.eta is not None and p.done < p.total else ""
        self.progress_label.setText(f"{p.stage.capitalize()} {p.done:,}/{p.total:,} · {p.rate:,.1f} photos/s"
                                    f"{eta}{' (paused)' if paused else ''}")

    def show_faces_found(self, summary: dict) -> None:
        """The face pass's end (LibraryJobs.faces_done): how many photos it looked at, and faces."""
        photos, faces = summary["photos"], summary["faces"]
        self.progress_label.setText(f"Found {counted(faces, 'face')} in {counted(photos)}")

    def show_paused(self, paused: bool) -> None:
        self.pause_button.setText("Resume" if paused else "Pause")
        text = self.progress_label.text().replace(" (paused)", "")
        self.progress_label.setText(text + (" (paused)" if paused else ""))

    def show_failures(self, count: int) -> None:
        self.failures_button.setText(f"{count} could not be read")
        self.failures_button.setVisible(count > 0)
