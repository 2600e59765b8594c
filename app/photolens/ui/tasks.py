"""One background-task helper: work runs off the GUI thread, callbacks come back on it.

Reads (searches, thumbnails' metadata) run on a shared pool; every database write (indexing,
tag edits, folder changes) goes through one serial worker, so writes never contend.

The pools are plain Python thread pools rather than QThreadPool with QRunnable subclasses:
queued work can be dropped and waited for in one place (`Pool`), and no Python object's
lifetime is left to Qt's auto-deletion. Results come back to the GUI thread through a signal
on a QObject that lives there (a queued connection).
"""
from __future__ import annotations

import concurrent.futures as cf
import os
import threading
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot


def _lower_priority(nice: int) -> None:
    """Runs first in each worker thread: on Linux a thread has its own nice value, and the
    threads it starts (the indexer's decoders, ONNX Runtime's pool) inherit it. On 2 cores,
    indexing at full speed otherwise keeps the GUI thread waiting for a core for 100+ ms."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


class Pool:
    """A thread pool whose queued (not yet started) work can be dropped, and waited for.
    `nice` > 0 runs its threads (and the threads they start) at a lower priority."""

    def __init__(self, workers: int, name: str, nice: int = 0):
        self._executor = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name,
                                               initializer=_lower_priority if nice else None,
                                               initargs=(nice,) if nice else ())
        self._pending: set[cf.Future] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[[], Any]) -> cf.Future:
        future = self._executor.submit(fn)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: cf.Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def clear(self) -> None:
        """Drop the work that has not started (a new search makes old thumbnails useless)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            future.cancel()

    def wait(self, ms: int) -> bool:
        with self._lock:
            pending = list(self._pending)
        done, not_done = cf.wait(pending, timeout=ms / 1000)
        return not not_done

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


WRITER_NICE = 10


class Lane:
    """One worker for lists that replace each other (the grid's searches, tags and recent
    photos): a request drops the older ones that have not started. Building a 60,000-photo
    list holds the interpreter for most of a second; four of them at once, for tags the user
    clicked past, kept the window waiting for its turn for up to a second."""

    def __init__(self, name: str):
        self._pool = Pool(1, name)
        self._serials: dict[cf.Future, int] = {}
        self._lock = threading.Lock()

    def submit(self, serial: int, fn: Callable[[], Any]) -> None:
        with self._lock:
            stale = [future for future, older in self._serials.items() if older < serial]
        for future in stale:  # outside the lock: cancel() runs the done callbacks (_forget) at once
            future.cancel()
        future = self._pool.submit(fn)
        with self._lock:
            self._serials[future] = serial
        future.add_done_callback(self._forget)

    def _forget(self, future: cf.Future) -> None:
        with self._lock:
            self._serials.pop(future, None)

    def wait(self, ms: int) -> bool:
        return self._pool.wait(ms)

    def shutdown(self) -> None:
        self._pool.shutdown()


class _Relay(QObject):
    """Carries a result back to the GUI thread (signals cross threads as queued calls)."""

    done = Signal(object, object)  # (callback, result)
    failed = Signal(object, object)  # (callback, exception)


def _emit(signal, callback, value) -> None:
    try:
        signal.emit(callback, value)
    except RuntimeError:  # the window (and its relay) is gone: nobody waits for the answer
        pass


class Tasks(QObject):
    """Signals:
        error(str): a background job failed; the message is for the status bar.
    """

    error = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.reads = Pool(4, "photolens-read")
        # The one serial writer. It runs indexing, so it yields the CPU to the window and searches.
        self.writes = Pool(1, "photolens-write", nice=WRITER_NICE)
        self.lists = Lane("photolens-list")
        self._relay = _Relay(self)  # deleted with Tasks on the GUI thread, never by a worker (models.py)
        self._relay.done.connect(self._deliver)
        self._relay.failed.connect(self._fail)
        pools = (self.reads, self.writes, self.lists)  # not self: the wrapper may be gone by then
        self.destroyed.connect(lambda *_: [pool.shutdown() for pool in pools])

    def _job(self, fn: Callable[[], Any], on_done, on_error) -> Callable[[], None]:
        relay = self._relay

        def run() -> None:
            try:
                result = fn()
            except Exception as e:  # reported on the GUI thread; never kills the worker
                e.__traceback_text__ = traceback.format_exc()
                _emit(relay.failed, on_error, e)
            else:
                _emit(relay.done, on_done, result)

        return run

    def read(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
             on_error: Callable[[Exception], None] | None = None) -> cf.Future:
        """Run `fn` on a reader thread; the future says when it has ended (its callback is
        delivered on the GUI thread)."""
        return self.reads.submit(self._job(fn, on_done, on_error))

    def latest(self, serial: int, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
               on_error: Callable[[Exception], None] | None = None) -> None:
        """A read whose result replaces the grid's list: requests with a lower `serial` that
        have not started are dropped (their callers ignore stale answers anyway)."""
        self.lists.submit(serial, self._job(fn, on_done, on_error))

    def write(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
              on_error: Callable[[Exception], None] | None = None) -> None:
        self.writes.submit(self._job(fn, on_done, on_error))

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
        self.reads.wait(ms)
        self.lists.wait(ms)
        self.writes.wait(ms)
