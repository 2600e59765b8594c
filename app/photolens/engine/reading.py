"""Reading photo files with bounded memory and time.

A file is opened only if it is a regular file (a FIFO would block `open` forever, a device such
as /dev/zero never ends), it is hashed in fixed-size blocks instead of being read whole (a 6 GB
"JPEG" once took 6 GB of memory), and large decodes share a memory budget so that one per core
at once cannot exhaust the machine.
"""
from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
import threading
import time
from contextlib import contextmanager
from typing import BinaryIO, Iterator

from .errors import DecodeTimeoutError, EmptyFileError, FileAccessError

__all__ = ["open_regular", "stream_hash", "file_hash", "decode_budget", "DecodeBudget", "Deadline"]

HASH_BLOCK = 1 << 20  # 1 MiB reads: large enough to be fast, small enough never to matter
# Decodes in flight at once may hold this much; a larger one waits for the others to finish.
# Two 250-megapixel photos fit; a machine with less memory still gets at most this much.
DECODE_BUDGET_BYTES = 2_500_000_000


def _access_error(path: str, e: OSError) -> FileAccessError:
    if e.errno == errno.ELOOP:
        return FileAccessError(path, "symbolic link loop")
    if e.errno == errno.ENOENT:
        if os.path.islink(path):
            return FileAccessError(path, "broken symbolic link")
        return FileAccessError(path, "the file vanished before it could be read")
    if e.errno in (errno.EACCES, errno.EPERM):
        return FileAccessError(path, "permission denied")
    if e.errno == errno.EISDIR:
        return FileAccessError(path, "is a directory")
    return FileAccessError(path, e.strerror or str(e))


def open_regular(path: str) -> BinaryIO:
    """The file opened for reading, if it is a non-empty regular file; else a FileAccessError
    or EmptyFileError. The type is checked before opening (a FIFO blocks `open`), the open does
    not block (a FIFO swapped in meanwhile), and checked again on the open descriptor."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise _access_error(path, e) from e
    if not stat.S_ISREG(st.st_mode):
        raise FileAccessError(path, "not a regular file (a folder, FIFO or device)")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise _access_error(path, e) from e
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise FileAccessError(path, "not a regular file (a folder, FIFO or device)")
    if st.st_size == 0:
        os.close(fd)
        raise EmptyFileError(path, "empty file (0 bytes)")
    return os.fdopen(fd, "rb")


def stream_hash(f: BinaryIO) -> str:
    """The content hash of an open file, read block by block from its start (the same digest
    as hashing the whole content at once)."""
    f.seek(0)
    h = hashlib.blake2b(digest_size=16)
    for block in iter(lambda: f.read(HASH_BLOCK), b""):
        h.update(block)
    return h.hexdigest()


def file_hash(path: str) -> str:
    with open_regular(path) as f:
        try:
            return stream_hash(f)
        except OSError as e:
            raise _access_error(path, e) from e


class DecodeBudget:
    """Bytes that decodes in flight may hold together; `hold(n)` waits until n fit."""

    def __init__(self, capacity: int = DECODE_BUDGET_BYTES):
        self.capacity = capacity
        self.used = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, nbytes: int) -> Iterator[None]:
        n = min(max(int(nbytes), 0), self.capacity)  # one decode larger than all of it runs alone
        with self._cond:
            self._cond.wait_for(lambda: self.used + n <= self.capacity)
            self.used += n
        try:
            yield
        finally:
            with self._cond:
                self.used -= n
                self._cond.notify_all()


decode_budget = DecodeBudget()


class Deadline(io.RawIOBase):
    """A file that refuses to be read past a deadline. PIL's decoders pull compressed data
    through `read` block by block from Python, so a decode that runs too long (a file made to
    be slow) stops at its next block with DecodeTimeoutError instead of holding a core."""

    def __init__(self, f: BinaryIO, path: str, seconds: float):
        super().__init__()
        self._f, self._path, self._seconds = f, path, seconds
        self._end = time.monotonic() + seconds

    def _check(self) -> None:
        if time.monotonic() > self._end:
            raise DecodeTimeoutError(self._path, self._seconds)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self._check()
        data = self._f.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def read(self, size: int = -1) -> bytes:
        self._check()
        return self._f.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()

