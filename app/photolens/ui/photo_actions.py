"""What the user can do with selected photos, outside Photolens: open them in the default
application, show them in the file manager, copy the files to a folder, copy their paths.
The photos themselves are never moved or changed; copying never overwrites a file."""
from __future__ import annotations

import os
import shutil

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

__all__ = ["open_with_default_app", "show_in_file_manager", "copy_files_to", "copy_paths"]


def open_with_default_app(paths: list[str]) -> bool:
    """Each photo in the application the desktop opens it with; False if one could not be."""
    return all([QDesktopServices.openUrl(QUrl.fromLocalFile(p)) for p in paths])


def show_in_file_manager(paths: list[str]) -> bool:
    """The folders holding the photos (each once)."""
    folders = dict.fromkeys(os.path.dirname(p) for p in paths)
    return all([QDesktopServices.openUrl(QUrl.fromLocalFile(f)) for f in folders])


def _free_name(folder: str, name: str) -> str:
    """`name` in `folder`, or "name (2).jpg" and so on when it is taken: never overwrite."""
    stem, ext = os.path.splitext(name)
    candidate, n = os.path.join(folder, name), 2
    while os.path.exists(candidate):
        candidate = os.path.join(folder, f"{stem} ({n}){ext}")
        n += 1
    return candidate


def copy_files_to(paths: list[str], folder: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Copy the photos into `folder` (metadata and times kept). Returns (copies made,
    [(photo, reason)] for those that could not be copied, e.g. an offline drive)."""
    made, failed = [], []
    for p in paths:
        try:
            target = _free_name(folder, os.path.basename(p))
            shutil.copy2(p, target)
            made.append(target)
        except OSError as e:
            failed.append((p, e.strerror or str(e)))
    return made, failed


def copy_paths(paths: list[str]) -> None:
    """The photos' full paths on the clipboard, one a line."""
    QGuiApplication.clipboard().setText("\n".join(paths))
