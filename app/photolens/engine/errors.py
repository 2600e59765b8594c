"""A small exception hierarchy that carries data.

The indexer records a bad file with `kind` and `str(error)` and goes on; only the CLI or the UI
decides how to show an error.
"""
from __future__ import annotations


class PhotolensError(Exception):
    """Base class: anything the engine raises on purpose."""

    kind = "error"


class ImageError(PhotolensError):
    """A file that could not be turned into pixels."""

    kind = "unreadable"

    def __init__(self, path: str, reason: str):
        super().__init__(f"{reason}")
        self.path = path
        self.reason = reason


class NotAnImageError(ImageError):
    kind = "not-an-image"


class EmptyFileError(ImageError):
    kind = "empty"


class TruncatedImageError(ImageError):
    kind = "truncated"


class ImageTooLargeError(ImageError):
    kind = "too-large"

    def __init__(self, path: str, pixels: int, limit: int, nbytes: int = 0, byte_limit: int = 0):
        if nbytes:
            reason = (f"decoding {pixels:,} pixels would take {nbytes / 1e9:.1f} GB, over the limit of "
                      f"{byte_limit / 1e9:.1f} GB")
        else:
            reason = f"{pixels:,} pixels is over the limit of {limit:,} (possible decompression bomb)"
        super().__init__(path, reason)
        self.pixels = pixels
        self.limit = limit
        self.nbytes = nbytes
        self.byte_limit = byte_limit


class DecodeTimeoutError(ImageError):
    kind = "too-slow"

    def __init__(self, path: str, seconds: float):
        super().__init__(path, f"decoding took longer than {seconds:g} s (a file made to be slow?)")
        self.seconds = seconds


class FileAccessError(ImageError):
    """Permission denied, a broken or looping link, a file that vanished."""

    kind = "access"


class ModelError(PhotolensError):
    kind = "model"


class ModelNotFoundError(ModelError):
    def __init__(self, name: str, known: list[str] | None = None):
        hint = f"; known models: {', '.join(known)}" if known else ""
        super().__init__(f"model {name!r} is not installed{hint}")
        self.name = name


class DownloadError(ModelError):
    kind = "download"


class ChecksumError(DownloadError):
    def __init__(self, path: str, expected: str, actual: str):
        super().__init__(f"{path}: sha256 {actual[:12]}... does not match the expected {expected[:12]}...")
        self.path, self.expected, self.actual = path, expected, actual


class QueryError(PhotolensError):
    """A search query that cannot be understood."""

    kind = "query"


class LibraryError(PhotolensError):
    kind = "library"
