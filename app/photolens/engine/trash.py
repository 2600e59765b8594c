"""Moving photos to the system trash: the only place Photolens removes a photo from disk.

Only on the user's explicit command, with the exact list of files they confirmed; never a
permanent deletion: `send2trash` moves each file to the desktop's trash (freedesktop.org
Trash on Linux, the Recycle Bin, the macOS Trash), from where the user can put it back. A file
that changed since it was indexed is left alone (the user confirmed what they saw, not what is
there now). The library forgets a trashed photo; what the user gave it (albums, and the user
data kept by content) stays with its content and comes back if the photo does.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Iterable

from send2trash import send2trash
from send2trash.exceptions import TrashPermissionError

from .archive import keep
from .fsutil import printable
from .store import Store

__all__ = ["Trashed", "move_to_trash"]


@dataclass(frozen=True)
class Trashed:
    """What a move to the trash did: paths moved (with their former photo ids), and paths left
    where they are with the reason."""
    moved: tuple[str, ...]
    ids: tuple[int, ...]
    failed: tuple[tuple[str, str], ...]

    def to_json(self) -> dict:
        return {"moved": [printable(p) for p in self.moved],
                "failed": [{"path": printable(p), "reason": r} for p, r in self.failed]}


def move_to_trash(store: Store, paths: Iterable[str], send: Callable[[str], None] = send2trash) -> Trashed:
    """Move these library photos to the trash, one by one, and forget each that went. A path
    that is not a library photo, is gone, or changed since it was indexed is not touched."""
    moved, ids, failed = [], [], []
    for path in dict.fromkeys(os.path.abspath(p) for p in paths):
        row = store.photo_by_path(path)
        if row is None:
            failed.append((path, "not a photo of this library"))
            continue
        try:
            st = os.stat(path)
        except OSError as e:
            failed.append((path, f"cannot be reached ({e.strerror or e})"))
            continue
        if st.st_size != row.size or st.st_mtime_ns != row.mtime_ns:
            failed.append((path, "changed since it was indexed: index again and review it"))
            continue
        try:
            send(path)
        except (OSError, TrashPermissionError) as e:
            failed.append((path, f"could not be moved to the trash ({printable(str(e))})"))
            continue
        with store.transaction():
            keep(store, [row.id])  # its tags and other user facts stay, by content (archive.py)
            store.remove_photos([row.id])
        moved.append(path)
        ids.append(row.id)
    return Trashed(tuple(moved), tuple(ids), tuple(failed))
