"""Small file-system helpers: atomic writes, and paths that are not valid UTF-8."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename: a crash leaves the old file
    or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def path_key(path: str | os.PathLike) -> bytes:
    """The bytes the file system uses for a path: the database key, so that names that are
    not valid UTF-8 round-trip exactly."""
    return os.fsencode(path)


_FS_ENCODING, _FS_ERRORS = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()


def path_str(key: bytes) -> str:
    """The path of a database key: os.fsdecode's result, without its checks (a third of the
    time, for the 60,000 paths of a large tag's results)."""
    return key.decode(_FS_ENCODING, _FS_ERRORS) if isinstance(key, bytes) else os.fsdecode(key)


def printable(path: str) -> str:
    """A path safe to print or put in JSON: undecodable bytes become \\xNN escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
