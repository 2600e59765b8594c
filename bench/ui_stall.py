"""Does the window stay responsive while a big folder indexes? (the app, not just the engine)

    xvfb-run -a .venv/bin/python bench/ui_stall.py --photos 10000 --json
    (QT_QPA_PLATFORM=offscreen works too)

Builds a folder of N distinct photos from ../shared/datasets (common.distinct_copy), opens the real MainWindow on a fresh library and adds the folder through the same
path the "Add folder" button uses. While it indexes, a user is simulated: a new query typed every
1.5 s (debounced search, grid refill, thumbnails loading) and the grid scrolled.

A 10 ms precise QTimer on the GUI thread measures the event loop: a stall is how late a tick comes.
The baseline is the same timer on the same idle window in the same run, before indexing starts.
Keys: `max_stall_ms` and `p99_stall_ms` during indexing, `stalls_over_100ms`, `idle_max_stall_ms`,
`p99_ratio_vs_idle`, `photos`, `index_seconds`, `img_s`. Goal: max_stall_ms <= 100.
With --deferred, the user goes on after the photos are searchable, through the passes the app
runs behind them (the closer look for tags and finding faces, then the watcher reading text)
until no photo is left to read: `deferred_seconds`, `deferred_max_stall_ms`, `deferred_p99_stall_ms`,
`deferred_stalls_over_100ms`.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import dataset_photos, distinct_copy, emit

from PySide6.QtCore import QElapsedTimer, Qt, QTimer

TICK_MS = 10
QUERIES = ["a dog running on the grass", "children playing", "a man on a bike", "beach at sunset",
           "snow", "a red car", "people in a city street", "a cat", "food on a table", "mountains"]


def make_folder(dest: Path, n: int) -> int:
    sources = dataset_photos(sets=("flickr8k-train", "flickr8k-dev", "coco-mini", "coco128"))
    for i in range(n):
        src = sources[i % len(sources)]
        distinct_copy(src, dest / f"roll-{i // 500:03d}" / f"{i:05d}-{src.name}", f"photolens-bench-{i}")
    return n


class Ticker:
    """Records how late each tick of a precise timer arrives: the event loop's stalls."""

    def __init__(self):
        self.clock = QElapsedTimer()
        self.timer = QTimer(interval=TICK_MS, timerType=Qt.PreciseTimer)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.samples: list[float] = []

    def start(self) -> None:
        self.clock.start()
        self.last = self.clock.nsecsElapsed()
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.nsecsElapsed()
        self.samples.append(max(0.0, (now - self.last) / 1e6 - TICK_MS))
        self.last = now

    def take(self) -> np.ndarray:
        out, self.samples = np.array(self.samples or [0.0]), []
        return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=10_000)
    ap.add_argument("--idle-seconds", type=float, default=3.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--deferred", action="store_true", help="measure on through the passes that follow indexing")
    args = ap.parse_args()

    from photolens.engine import Catalog
    from photolens.engine.ocr import OCR_BUILD
    from photolens.ui.app import make_app
    from photolens.ui.main_window import MainWindow

    work = Path(tempfile.mkdtemp(prefix="photolens-stall-"))
    try:
        folder = work / "photos"
        t0 = time.perf_counter()
        make_folder(folder, args.photos)
        print(f"made {args.photos} photos in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

        app = make_app()
        catalog = Catalog(work / "library")
        window = MainWindow(catalog, welcome=False)
        window.show()
        ticker = Ticker()
        state = {"idle": None, "busy": None, "started": None, "summary": None, "query": 0}

        def simulate_user():
            if state["summary"] is not None and not args.deferred:
                return
            window.search.set_text(QUERIES[state["query"] % len(QUERIES)])
            state["query"] += 1
            bar = window.grid.verticalScrollBar()
            bar.setValue((bar.value() + 400) % max(1, bar.maximum() + 1))

        user = QTimer(interval=1500)
        user.timeout.connect(simulate_user)

        def start_indexing():
            state["idle"] = ticker.take()
            state["started"] = time.perf_counter()
            window.add_folder(str(folder))  # the "Add folder" path: register, then index in the background
            user.start()

        def finished(summary):
            state["summary"] = summary
            state["seconds"] = time.perf_counter() - state["started"]
            state["busy"] = ticker.take()
            if args.deferred:
                window.jobs.idle.connect(deferred_done)
                return
            user.stop()
            QTimer.singleShot(200, app.quit)

        def deferred_done():
            if "deferred" in state or "text_poll" in state:
                return
            state["text_poll"] = poll = QTimer(interval=500)  # the watcher reads text last, in chunks
            poll.timeout.connect(text_read)
            poll.start()

        def text_read():
            if catalog.words.photos_to_read(OCR_BUILD, 1)[1] or "deferred" in state:
                return
            state["text_poll"].stop()
            state["deferred_seconds"] = time.perf_counter() - state["started"] - state["seconds"]
            state["deferred"] = ticker.take()
            user.stop()
            QTimer.singleShot(200, app.quit)

        window.index_done.connect(finished)
        ticker.start()
        QTimer.singleShot(int(args.idle_seconds * 1000), start_indexing)
        QTimer.singleShot(3_600_000, app.quit)
        app.exec()
        window.close()  # stops the folder watcher and waits for background work
        window.tasks.wait()
        catalog.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if state["summary"] is None:
        raise SystemExit("indexing did not finish within an hour")
    idle, busy = state["idle"], state["busy"]
    p99_idle = float(np.percentile(idle, 99))
    result = {
        "photos": args.photos,
        "embedded": state["summary"]["embedded"],
        "index_seconds": round(state["seconds"], 1),
        "img_s": round(state["summary"]["embedded"] / state["seconds"], 1),
        "queries_typed": state["query"],
        "ticks": int(len(busy)),
        "max_stall_ms": round(float(busy.max()), 1),
        "p99_stall_ms": round(float(np.percentile(busy, 99)), 1),
        "stalls_over_100ms": int((busy > 100).sum()),
        "idle_max_stall_ms": round(float(idle.max()), 1),
        "idle_p99_stall_ms": round(p99_idle, 1),
        "p99_ratio_vs_idle": round(float(np.percentile(busy, 99)) / max(p99_idle, 0.1), 1),
    }
    if args.deferred:
        if "deferred" not in state:
            raise SystemExit("the deferred passes did not finish within an hour")
        later = state["deferred"]
        result.update(deferred_seconds=round(state["deferred_seconds"], 1),
                      deferred_max_stall_ms=round(float(later.max()), 1),
                      deferred_p99_stall_ms=round(float(np.percentile(later, 99)), 1),
                      deferred_stalls_over_100ms=int((later > 100).sum()))
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
