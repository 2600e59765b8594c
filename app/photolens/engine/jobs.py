"""Long jobs (indexing, adding tag details, retagging): how far they are, and how another
thread pauses, resumes or cancels them. Pure Python, so the UI, the CLI and every pipeline share it."""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Control", "Progress", "switching_often"]

# While a job's threads work side by side (decoders, the model, the text readers), the
# interpreter passes between them every millisecond instead of Python's 5: the thread that feeds
# the model and writes each batch waits for it after every call that let it go. Measured with
# the same 12-MP JPEGs, one index run each way, alternating (photos/s made searchable, then all
# passes): on a 16-core machine with an H200 GPU, 57-62 and 30 at 5 ms against 75-82 and 36 at
# 1 ms; on this 2-core CPU, 35-39 and 13.1-14.0 against 38-47 and 13.7-15.4. The app uses 1 ms
# throughout (ui/app.py).
SWITCH_INTERVAL_S = 0.001
_switching = threading.Lock()
_switching_jobs = 0
_interval_before = 0.0


@contextmanager
def switching_often() -> Iterator[None]:
    """The interpreter's switch interval at most SWITCH_INTERVAL_S while the block runs (in
    any number of jobs at once); the process's own setting comes back after the last."""
    global _switching_jobs, _interval_before
    with _switching:
        if _switching_jobs == 0:
            _interval_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_interval_before, SWITCH_INTERVAL_S))
        _switching_jobs += 1
    try:
        yield
    finally:
        with _switching:
            _switching_jobs -= 1
            if _switching_jobs == 0:
                sys.setswitchinterval(_interval_before)


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
