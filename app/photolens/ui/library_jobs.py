"""The library's long-running jobs, without widgets: indexing, adding tag details, finding faces,
watching.

One object owns the state machine the window used to weave into its widgets:

    idle --start_indexing--> indexing --done--> (watching starts) --> adding tag details (chunks)
                                 ^                                        |      then finding faces
                                 +---- start_indexing stops the chunks ---+ (they resume after)

Every job runs on the app's one serial writer (`Tasks.writes`); the window only shows what
the signals say.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import time

from PySide6.QtCore import QObject, Signal

from ..engine.catalog import Catalog
from ..engine.errors import PhotolensError
from ..engine.jobs import Control, Progress
from ..engine.watcher import Watcher
from .tasks import Tasks

__all__ = ["FACE_CHUNK", "LibraryJobs", "TAG_DETAIL_CHUNK"]

log = logging.getLogger(__name__)

PREPARE_WAIT_S = 2.0  # the longest a new window waits for Catalog.prepare_search before it shows
TAG_DETAIL_CHUNK = 256  # photos per writer job when adding tag details (about 15 s on a 2-core CPU)
# Photos per writer job in the face pass: about 7 s at 0.11 s of CPU a photo (engine/faces.py),
# so a change on disk or a name typed waits at most that long behind it.
FACE_CHUNK = 64


def _prepare_failed(error: Exception) -> None:
    """Reading ahead of the window failed: a missing or broken model is said to the user by the
    first search; anything else is a bug, logged whole."""
    if isinstance(error, PhotolensError):
        log.warning("reading the vector index and tokenizer ahead of the window failed: %s", error)
    else:
        log.error("reading the vector index and tokenizer ahead of the window failed:\n%s",
                  getattr(error, "__traceback_text__", error))


class LibraryJobs(QObject):
    """Indexing, the deferred passes (tag details, then faces) and the folder watcher, as one
    small state machine.

    Signals:
        started(): a job began (indexing, or adding tag details); the window shows progress.
        progress(object): a `Progress` from the running job (sent from the writer's thread,
            delivered on the GUI thread).
        indexed(dict): an indexing run finished, with the engine's summary.
        details_done(int): the tag detail pass ended, having added details to this many photos.
        faces_done(dict): the face pass ended: {"photos": looked at, "faces": found}. Not sent
            when it was stopped (it resumes where it stopped at the next start).
        watched(dict): the watcher brought the library in step with the disk (its summary).
        failed(str): a job stopped with this message.
        idle(): no job runs any more (progress can be hidden).
        paused_changed(bool): the running job was paused (True) or resumed (False).
    """

    started = Signal()
    progress = Signal(object)
    indexed = Signal(dict)
    details_done = Signal(int)
    faces_done = Signal(dict)
    watched = Signal(dict)
    failed = Signal(str)
    idle = Signal()
    paused_changed = Signal(bool)

    def __init__(self, catalog: Catalog, tasks: Tasks, watch: bool = True, parent: QObject | None = None):
        super().__init__(parent)
        self.catalog = catalog
        self.tasks = tasks
        self.watch = watch  # follow the folders live once the start-up catch-up is done
        self._control: Control | None = None
        self._details: dict = {}  # adding tag details: its control, photos done, start time
        self._watcher: Watcher | None = None
        # What holds the interpreter while it loads (the vector index, the tokenizer) is read
        # while the window is built, and the window shows once it is (wait_prepared): a freeze
        # in a window already shown is only a later start in one about to show.
        self._preparing = tasks.read(catalog.prepare_search, on_error=_prepare_failed)
        # The model's sessions load once that read is done, not on the first search; so does
        # the vector index where it takes more than a read (a graph to rebuild or catch up).
        # After it, not beside it: cold, two reads from the disk at once (the graph and a
        # model's 90-100 MB) each take longer than both in turn.
        preparing = self._preparing
        tasks.read(lambda: (cf.wait([preparing]), catalog.warm_up()),
                   on_error=lambda _e: None)  # a failing model says so on first use

    def wait_prepared(self) -> None:
        """Wait for the reads started at construction (Catalog.prepare_search: 0.3-0.4 s for a
        200,000-photo graph, 0.1-0.2 s for the tokenizer), at most PREPARE_WAIT_S: past that
        (a slow disk), the window shows and the reads go on behind it (Tasks.wait covers them
        when the window closes)."""
        cf.wait([self._preparing], PREPARE_WAIT_S)

    # -- state ------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """True while a job (indexing or adding tag details) runs."""
        return self._control is not None

    @property
    def paused(self) -> bool:
        return self._control is not None and self._control.paused

    @property
    def watching(self) -> bool:
        return self._watcher is not None

    # -- indexing ---------------------------------------------------------------------------

    def start_indexing(self) -> None:
        """Scan the folders and embed what is new. Adding tag details stops at its next batch
        and resumes after this run; a second call while indexing does nothing."""
        if self._control is not None:
            if self._control is not self._details.get("control"):
                return  # an indexing run is on its way
            self._control.cancel()
        control = self._control = Control()
        self.started.emit()
        self.tasks.write(lambda: self.catalog.index_all(progress=self.progress.emit, control=control,
                                                        tag_details=False),
                         self._indexing_done, self._failed)

    def toggle_pause(self) -> None:
        if self._control is None:
            return
        if self._control.paused:
            self._control.resume()
        else:
            self._control.pause()
        self.paused_changed.emit(self._control.paused)

    def _indexing_done(self, summary: dict) -> None:
        self._control = None
        self.idle.emit()
        self._start_watching()
        self.indexed.emit(summary)
        self._add_tag_details()

    def _failed(self, error: Exception) -> None:
        self._control = None
        self.idle.emit()
        self.failed.emit(str(error))

    # -- the deferred passes, in chunks: tag details, then faces ----------------------------

    def _add_tag_details(self) -> None:
        """Photos indexed without the tag detail pass (by an older version, or with thorough
        tags off) get it in the background, a chunk per writer job, so that the watcher's live
        updates go in between chunks; then the face pass, in chunks too (people, issue 19)."""
        if self._control is not None:
            return
        control = self._control = Control()
        self._details = {"control": control, "done": 0, "total": 0, "started": time.monotonic(), "faces": False,
                         "found": 0}
        self._next_chunk(control)

    def _next_chunk(self, control: Control) -> None:
        details = self._details

        def progress(p: Progress) -> None:  # on the writer's thread: numbers only; p counts what is left
            # Out of every photo the pass had to do since it started: the total grows when photos
            # arrive, and what the watcher's own chunks did between ours counts as done.
            details["total"] = max(details["total"], details["done"] + p.total)
            self.progress.emit(Progress(details["total"] - (p.total - p.done), details["total"], p.failed,
                                        details["started"], stage=p.stage))

        def chunk() -> dict:
            if details["faces"]:
                return self.catalog.find_faces(progress, control, limit=FACE_CHUNK)
            summary = self.catalog.add_tag_details(progress, control, limit=TAG_DETAIL_CHUNK)
            # Whether the face pass follows, decided in the same writer job: the window learns
            # the details are done and, when no face waits, that nothing runs any more.
            return dict(summary, faces_pending=0 if summary["remaining"] else self.catalog.faces_pending())

        self.tasks.write(chunk, lambda summary: self._chunk_done(summary, control),
                         lambda error: self._failed(error) if control is self._control else None)

    def _chunk_done(self, summary: dict, control: Control) -> None:
        if control is not self._control:  # stopped for an indexing run, which restarts it after
            return
        details = self._details
        looked = summary.get("embedded", summary.get("photos", 0))  # photos this chunk finished
        details["done"] += looked + summary["failed"]
        details["found"] += summary.get("faces", 0)
        if summary["remaining"] and looked and not control.cancelled.is_set():
            self._next_chunk(control)
            return
        if not details["faces"]:
            if summary.get("faces_pending") and not control.cancelled.is_set():
                self.details_done.emit(details["done"])  # said now; the face pass goes on
                details.update(faces=True, done=0, total=0, started=time.monotonic())
                self._next_chunk(control)
                return
            self._all_done()
            self.details_done.emit(details["done"])
            return
        self._all_done()
        if not control.cancelled.is_set():  # stopped (the app closing): it resumes at the next start
            self.faces_done.emit({"photos": details["done"], "faces": details["found"]})

    def _all_done(self) -> None:
        """Nothing runs any more: say so, and hand back the memory the model kept for its next
        batch (about 1 GB after indexing large photos with the detail pass; Catalog.release_memory)."""
        self._control = None
        self.idle.emit()
        self.tasks.write(self.catalog.release_memory)

    # -- live watching ----------------------------------------------------------------------

    def _start_watching(self) -> None:
        """(Re)start the watcher when the set of folders changed. Its library updates go
        through the same serial writer as everything else."""
        if not self.watch:
            return
        folders = {f.path for f in self.catalog.folders()}
        if self._watcher is not None and self._watcher.folders == folders:
            return
        self._stop_watching()
        if folders:
            writes = self.tasks.writes
            self._watcher = Watcher(self.catalog, on_change=self.watched.emit,
                                    run=lambda fn: writes.submit(fn).result())
            self._watcher.start()

    def _stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None

    def stop(self) -> None:
        """Cancel the running job and stop watching (the window is closing)."""
        if self._control is not None:
            self._control.cancel()
        self._stop_watching()
