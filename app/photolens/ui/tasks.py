"""One background-task helper: work runs off the GUI thread, callbacks come back on it.

Reads (searches, thumbnails' metadata) run on a shared pool; every database write (indexing,
tag edits, folder changes) goes through one serial worker, so writes never contend.
"""
from __future__ import annotations

import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


class _Relay(QObject):
    """Carries a result back to the GUI thread (signals cross threads as queued calls)."""

    done = Signal(object, object)  # (callback, result)
    failed = Signal(object, object)  # (callback, exception)


class _Job(QRunnable):
    def __init__(self, relay: _Relay, fn: Callable[[], Any], on_done, on_error):
        super().__init__()
        self.relay, self.fn, self.on_done, self.on_error = relay, fn, on_done, on_error
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as e:  # reported on the GUI thread; never kills the worker
            e.__traceback_text__ = traceback.format_exc()
            self.relay.failed.emit(self.on_error, e)
        else:
            self.relay.done.emit(self.on_done, result)


class Tasks(QObject):
    """Signals:
        error(str): a background job failed; the message is for the status bar.
    """

    error = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.reads = QThreadPool(self)
        self.writes = QThreadPool(self)
        self.writes.setMaxThreadCount(1)  # the one serial writer
        self._relay = _Relay()
        self._relay.done.connect(self._deliver)
        self._relay.failed.connect(self._fail)

    def read(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[Exception], None] | None = None) -> None:
        self.reads.start(_Job(self._relay, fn, on_done, on_error))

    def write(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[Exception], None] | None = None) -> None:
        self.writes.start(_Job(self._relay, fn, on_done, on_error))

    @Slot(object, object)
    def _deliver(self, callback, result) -> None:
        if callback is not None:
            callback(result)

    @Slot(object, object)
    def _fail(self, callback, error: Exception) -> None:
        if callback is not None:
            callback(error)
        else:
            self.error.emit(str(error))

    def wait(self, ms: int = 30_000) -> None:
        self.reads.waitForDone(ms)
        self.writes.waitForDone(ms)
