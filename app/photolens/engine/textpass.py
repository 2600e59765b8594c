"""The deferred pass that reads text in photos, after they are searchable by meaning.

Resumable by construction: a photo is to do while it has no row in `photo_text` for the
reader's current build, and each photo's row is committed as soon as it is read, so an
interrupted pass (cancel, crash, SIGKILL) loses at most the photos in flight (two per reading
thread), which the next run reads again. A pause takes effect once those are read. File and folder
names need no reading: their word rows are written first, in one quick step.
"""
from __future__ import annotations

import logging
import os
import time
from collections import deque
from contextlib import closing
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterator

from .errors import ImageError
from .jobs import Control, Progress, switching_often
from .ocr import OCR_BUILD, TextReader
from .words import WordStore

__all__ = ["TextPass", "STAGE"]

log = logging.getLogger("photolens.textpass")

STAGE = "reading text"
# Word rows are written in groups of this many read photos: one transaction each, so a reader
# that waits on the database is not held up by more than a moment of writes.
WRITE_EVERY = 16
# Photos in flight per reading thread: each thread has the next photo to read while the one
# before it is written.
READ_AHEAD = 2
# At most this many reading threads, each with an OCR engine of its own (~30 MB) kept between
# chunks: past a few cores, a background pass would hold more memory than it saves time.
MAX_WORKERS = 4


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system says), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS and Windows have no affinity call
        return max(1, os.cpu_count() or 1)


class TextPass:
    """Reads photos on `workers` threads (decoding and ONNX Runtime let go of the interpreter,
    so each keeps a core busy) and writes what they read in the photos' order, one photo at a
    time, on the caller's thread. One thread left the second core idle: on a 2-core CPU the
    pass ran at 9.0-9.4 photos/s of 12-MP JPEGs with one thread (bench/indexing.py
    text_pass_img_s)."""

    def __init__(self, words: WordStore, reader: TextReader, build: str = OCR_BUILD, workers: int | None = None):
        self.words = words
        self.reader = reader
        self.build = build
        self.workers = max(1, workers or min(MAX_WORKERS, usable_cores()))

    def _read(self, path: str) -> tuple[list, str | None]:
        try:
            return self.reader.read_path(path), None
        except ImageError as e:  # recorded by the caller, so the pass does not retry it
            return [], str(e)

    def _read_in_order(self, todo: list[tuple[int, str]]) -> Iterator[tuple[int, str, list, str | None]]:
        """(id, path, lines, error) of each photo in `todo`, in its order, read on the pool with
        READ_AHEAD photos in flight per thread. Closing the iterator early (a cancel, a failed
        write) cancels the photos not started."""
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="read-text")
        try:
            pending: deque[tuple[int, str, Future]] = deque()
            for pid, path in todo:
                pending.append((pid, path, pool.submit(self._read, path)))
                if len(pending) >= self.workers * READ_AHEAD:
                    pid, path, future = pending.popleft()
                    yield (pid, path, *future.result())
            while pending:
                pid, path, future = pending.popleft()
                yield (pid, path, *future.result())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

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
        # Leaving the loop early cancels the photos not started.
        with switching_often(), closing(self._read_in_order(todo)) as reads:
            for pid, path, lines, error in reads:
                if control is not None:
                    control.wait_if_paused()
                    if control.cancelled.is_set():
                        break  # this photo and those in flight are dropped, to be read next time
                if error is not None:
                    state.failed += 1
                    log.info("cannot read text in %s: %s", path, error)
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
