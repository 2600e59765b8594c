"""The library database file: refused when damaged, checked after a crash, private to its user.

A zero-length or foreign file where library.db should be is never silently replaced by a new
empty library (SQLite would happily treat a 0-byte file as a new database, and every tag would
seem gone); every sqlite3 error becomes one LibraryError with a message a person can act on.
"""
from __future__ import annotations

import errno
import itertools
import os
import sqlite3
from pathlib import Path

from .errors import LibraryError

__all__ = ["check_library_file", "library_error", "SessionMarker", "make_private", "open_library_dir",
           "ensure_sound"]

SQLITE_HEADER = b"SQLite format 3\x00"
FILE_MODE = 0o600  # the library holds paths, places and tags: for its owner's eyes only
DIR_MODE = 0o700
REPAIR_HINT = "run `photolens library check` (and `photolens library repair` to rebuild it keeping your tags)"


def open_library_dir(folder: Path) -> None:
    """Make the library folder if needed (private: 0700), or say clearly why it cannot be one."""
    if folder.exists() and not folder.is_dir():
        raise LibraryError(f"{folder} is a file, not a library folder: give --library a folder")
    try:
        existed = folder.is_dir()
        folder.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    except OSError as e:
        raise library_error(folder / "library.db", e) from e
    if not existed:
        make_private(folder, DIR_MODE)
    if not os.access(folder, os.R_OK | os.X_OK):
        raise LibraryError(f"cannot read the library folder {folder}: permission denied")


def check_library_file(path: Path) -> None:
    """Refuse a library.db that cannot be a library: a folder, an empty or a foreign file."""
    if not path.exists() and not path.is_symlink():
        return
    if not path.is_file():
        raise LibraryError(f"{path} is not a file: cannot open the library")
    try:
        with open(path, "rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as e:
        raise LibraryError(f"cannot read the library {path}: {e.strerror or e}") from e
    if not head:
        raise LibraryError(f"the library database {path} is empty (0 bytes): it was damaged; {REPAIR_HINT}")
    if head != SQLITE_HEADER:
        raise LibraryError(f"{path} is not a Photolens library database (damaged or another file); {REPAIR_HINT}")


def library_error(path: Path, e: BaseException) -> LibraryError:
    """One clear LibraryError for an sqlite3 (or file system) error on the library at `path`."""
    text = str(e).lower()
    if (isinstance(e, OSError) and e.errno == errno.ENOSPC) or "disk is full" in text:
        msg = f"the disk holding the library {path.parent} is full: free some space and run the command again"
    elif "readonly" in text or "read-only" in text or isinstance(e, PermissionError):
        msg = f"the library {path.parent} is read-only or not yours: Photolens needs to write to it"
    elif "locked" in text or "busy" in text:
        msg = f"the library {path.parent} is busy (another Photolens is writing to it): try again in a moment"
    elif isinstance(e, sqlite3.IntegrityError):  # a change the schema refused: nothing was written
        msg = f"Photolens tried a change the library {path} refuses ({e}); nothing was written (please report it)"
    elif "unable to open" in text:
        msg = f"cannot open the library database {path}: is the folder readable and writable?"
    else:
        msg = f"the library database {path} is damaged ({e}); {REPAIR_HINT}"
    err = LibraryError(msg)
    err.cause = e
    return err


def make_private(path: Path, mode: int = FILE_MODE) -> None:
    """Narrow a file's (or folder's) permissions to its owner; a file system without them is left be."""
    try:
        os.chmod(path, mode)
    except OSError:
        pass


_serial = itertools.count()


class SessionMarker:
    """A small file per open Store, removed at close: one left behind by a process that is gone
    means that process ended uncleanly (a crash, SIGKILL, power cut), so the database deserves a
    `PRAGMA quick_check` before it is trusted again."""

    def __init__(self, db_path: Path):
        self.folder = db_path.with_name(db_path.name + ".sessions")
        self.path = self.folder / f"{os.getpid()}-{next(_serial)}"

    def unclean_before(self) -> bool:
        """True if a session of a process no longer running left its marker; those are cleared."""
        found = False
        try:
            names = os.listdir(self.folder)
        except OSError:
            return False
        for name in names:
            try:
                pid = int(name.split("-")[0])
            except ValueError:
                continue
            if not _alive(pid):
                found = True
                try:
                    os.unlink(self.folder / name)
                except OSError:
                    pass
        return found

    def enter(self) -> None:
        try:
            self.folder.mkdir(mode=DIR_MODE, exist_ok=True)
            self.path.touch(mode=FILE_MODE)
        except OSError:
            pass  # a read-only library: no marker, and no crash check next time

    def leave(self) -> None:
        try:
            self.path.unlink()
        except OSError:
            pass


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ensure_sound(conn: sqlite3.Connection, path: Path) -> None:
    """PRAGMA quick_check (a few seconds for a large library, so only after a crash): a
    damaged database is closed and refused with one clear message."""
    try:
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
        verdict = "; ".join(str(r[0]) for r in rows)
    except sqlite3.DatabaseError as e:
        verdict = str(e)
    if verdict != "ok":
        conn.close()
        raise LibraryError(f"the library database {path} is damaged ({verdict}); {REPAIR_HINT}")
