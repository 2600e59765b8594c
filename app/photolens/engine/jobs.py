"""Long jobs (indexing, adding tag details, retagging): how far they are, and how another
thread pauses, resumes or cancels them. Pure Python, so the UI, the CLI and every pipeline share it."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

__all__ = ["Control", "Progress"]


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
