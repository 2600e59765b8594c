"""Long jobs (indexing, adding tag details, retagging): how far they are, and how another
thread pauses, resumes or cancels them. Pure Python, so the UI, the CLI and every pipeline share it."""
from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Control", "Progress", "one_blas_thread", "switching_often"]

log = logging.getLogger("photolens.jobs")

# While a job's threads work side by side (decoders, the model, the text readers), the
# interpreter passes between them every millisecond instead of Python's 5: the thread that feeds
# the model and writes each batch waits for it after every call that let it go. Measured with
# the same 12-MP JPEGs, one index run each way, alternating (photos/s made searchable, then all
# passes): on a 16-core machine with an H200 GPU, 57-62 and 30 at 5 ms against 75-82 and 36 at
# 1 ms; on this 2-core CPU, 35-39 and 13.1-14.0 against 38-47 and 13.7-15.4. The app uses 1 ms
# throughout (ui/app.py).
SWITCH_INTERVAL_S = 0.001


class _WhileJobsRun:
    """A process-wide setting that holds while any job runs: made by the first job to start,
    undone by the last to end (jobs overlap: the app indexes while the text pass reads)."""

    def __init__(self, begin, end) -> None:
        self._begin, self._end = begin, end  # begin() -> what end(it) needs to undo it
        self._lock = threading.Lock()
        self._jobs = 0
        self._before = None

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._jobs == 0:
                self._before = self._begin()
            self._jobs += 1
        try:
            yield
        finally:
            with self._lock:
                self._jobs -= 1
                if self._jobs == 0:
                    before, self._before = self._before, None
                    try:
                        self._end(before)
                    except Exception:  # a setting not given back must not fail a finished job
                        log.exception("could not restore a setting after the last job")


def _switch_often() -> float:
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL_S))
    return before


switching_often = _WhileJobsRun(_switch_often, sys.setswitchinterval)
switching_often.__doc__ = """The interpreter's switch interval at most SWITCH_INTERVAL_S while the
block runs (in any number of jobs at once); the process's own setting comes back after the last."""


# While a job's threads keep every core busy, numpy's matrix products (tagging a batch, the
# tag head) run on one thread. OpenBLAS's threads wait for the next product by spinning for a
# while after each one, taking a core from the decoders and the model, and a product split
# in two gains nothing when no core is free. Measured on this project's 2-core machine, the
# first pass over 96 12-MP JPEGs, eight runs each way, alternating: 2.14-2.40 s with one BLAS
# thread against 2.33-2.81 s with two. The setting is process-wide (OpenBLAS has one), so a
# search made while a job runs multiplies on one thread too; it comes back after the last job.
# Only a speed-up: where threadpoolctl cannot set it (a BLAS it does not know), jobs run as before.
def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits  # inspects the loaded libraries: only when a job runs

        return threadpool_limits(limits=1, user_api="blas")
    except Exception as e:  # noqa: BLE001 - never worth failing a job for
        log.warning("numpy's BLAS threads left as they are while jobs run: %s", e)
        return None


def _restore_blas_threads(limits) -> None:
    if limits is not None:
        limits.restore_original_limits()


one_blas_thread = _WhileJobsRun(_one_blas_thread, _restore_blas_threads)
one_blas_thread.__doc__ = """numpy's BLAS on one thread while the block runs (any number of jobs
at once); its own thread count comes back after the last."""


@dataclass
class Progress:
    done: int
    total: int
    failed: int
    started: float
    stage: str = "indexing"  # or "making searchable", "looking closer", "updating tags" (retagging),
    # "finding faces" (facepass.py)

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None


class Control:
    """Pause, resume and cancel a running index from another thread."""

    def __init__(self) -> None:
        self._running = threading.Event()
        self._running.set()
        self.cancelled = threading.Event()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def cancel(self) -> None:
        self.cancelled.set()
        self._running.set()

    def wait_if_paused(self) -> None:
        self._running.wait()
