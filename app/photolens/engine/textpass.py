"""The deferred pass that reads text in photos, after they are searchable by meaning.

Resumable by construction: a photo is to do while it has no row in `photo_text` for the
reader's current build, and each photo's row is committed as soon as it is read, so an
interrupted pass (cancel, crash, SIGKILL) loses at most the photo in flight. File and folder
names need no reading: their word rows are written first, in one quick step.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from .errors import ImageError
from .jobs import Control, Progress
from .ocr import OCR_BUILD, TextReader
from .words import WordStore

__all__ = ["TextPass", "STAGE"]

log = logging.getLogger("photolens.textpass")

STAGE = "reading text"
# Word rows are written in groups of this many read photos: one transaction each, so a reader
# that waits on the database is not held up by more than a moment of writes.
WRITE_EVERY = 16


class TextPass:
    def __init__(self, words: WordStore, reader: TextReader, build: str = OCR_BUILD):
        self.words = words
        self.reader = reader
        self.build = build

    def run(self, progress: Callable[[Progress], None] | None = None, control: Control | None = None,
            limit: int | None = None) -> dict:
        """Write stale word rows (names, folders), then read up to `limit` photos. Returns
        {"done", "failed", "remaining"}; progress counts against every photo left."""
        self.words.sync()
        todo, total = self.words.photos_to_read(self.build, limit)
        state = Progress(0, total, 0, time.monotonic(), STAGE)
        if progress is not None and todo:
            progress(state)
        unwritten: list[int] = []
        for pid, path in todo:
            if control is not None:
                control.wait_if_paused()
                if control.cancelled.is_set():
                    break
            try:
                lines, error = self.reader.read_path(path), None
            except ImageError as e:
                # Recorded, so the pass does not retry it; indexing records the same problem.
                lines, error = [], str(e)
                state.failed += 1
                log.info("cannot read text in %s: %s", path, e)
            with self.words.store.transaction():
                self.words.put_text(pid, self.build, lines, error)
            unwritten.append(pid)
            state.done += 1
            if len(unwritten) >= WRITE_EVERY:
                self.words.write_docs(unwritten)
                unwritten = []
            if progress is not None:
                progress(state)
        if unwritten:
            self.words.write_docs(unwritten)
        return {"done": state.done - state.failed, "failed": state.failed, "remaining": total - state.done}
