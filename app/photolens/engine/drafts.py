"""Decoded photos kept between the two indexing passes, so that a photo is decoded once.

Searchable first (indexer.py): the search model runs over every new photo before the closer
look (tag views, detail pass) begins. Decoding a 12-MP JPEG is mostly entropy-decoding the
whole file, even for its 1/8 draft, so the closer look's second decode cost nearly as much as
the first (41 against 39 ms a photo on this project's 2-core machine). The first pass keeps
each photo's decoded draft here (500x375 for a 4000x3000 JPEG: 0.56 MB) up to a memory cap,
and the closer look takes it back when the file is unchanged since (same size and mtime).

A photo is decoded again when its draft is not here: beyond the cap (an import larger than
about 450 12-MP photos: the first ones are kept, as the closer look reaches them first), after
a restart, or when the file changed in between. The spool holds decoded pixels only, never
anything the user could lose: dropping it costs time, not data.
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from PIL import Image

# 256 MB: the drafts of about 450 12-MP photos (a day's photos, a phone's import), small beside
# the model's own buffers while it indexes (about 1 GB), and handed back when the closer look
# has taken them (or by Catalog.release_memory).
SPOOL_BYTES = 256 * 1024 * 1024


def file_stamp(path: str) -> tuple[int, int] | None:
    """(size, mtime in ns): what says a file is the one decoded before; None when it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


@dataclass(frozen=True)
class _Draft:
    stamp: tuple[int, int]
    min_size: int
    image: Image.Image

    @property
    def nbytes(self) -> int:
        return self.image.width * self.image.height * len(self.image.getbands())


class DraftSpool:
    """Decoded drafts by path, up to `max_bytes`; thread-safe (decoder threads put and take)."""

    def __init__(self, max_bytes: int = SPOOL_BYTES):
        self.max_bytes = max_bytes
        self._drafts: dict[str, _Draft] = {}
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._drafts)

    def put(self, path: str, stamp: tuple[int, int] | None, min_size: int, image: Image.Image) -> bool:
        """Keep `image`, the draft of `path` decoded for `min_size` when the file had `stamp`;
        False (nothing kept) when it would pass the cap or the stamp is unknown."""
        if stamp is None:
            return False
        draft = _Draft(stamp, min_size, image)
        with self._lock:
            old = self._drafts.pop(path, None)
            if old is not None:
                self._bytes -= old.nbytes
            if self._bytes + draft.nbytes > self.max_bytes:
                return False
            self._drafts[path] = draft
            self._bytes += draft.nbytes
            return True

    def take(self, path: str, min_size: int) -> Image.Image | None:
        """The draft of `path` for `min_size`, removed from the spool; None when there is none,
        it was decoded for another size, or the file changed (or went) since."""
        with self._lock:
            draft = self._drafts.pop(path, None)
            if draft is not None:
                self._bytes -= draft.nbytes
        if draft is None or draft.min_size != min_size or draft.stamp != file_stamp(path):
            return None
        return draft.image

    def clear(self) -> None:
        with self._lock:
            self._drafts.clear()
            self._bytes = 0
