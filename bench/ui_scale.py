"""Is the app usable on a 200,000-photo library? (the window, not just the engine)

    .venv/bin/python bench/scale.py --n 200000 --keep /tmp/pl200k      # builds the library once
    xvfb-run -a .venv/bin/python bench/ui_scale.py --library /tmp/pl200k/library --json
    (QT_QPA_PLATFORM=offscreen works too)

Opens the real MainWindow on the library (the synthetic photos' files do not exist: their folder
is offline, so the thumbnails are the placeholders an offline drive shows). Measures:

  window_usable_s   from opening the library to the first tick of the shown window's event loop
  process_usable_s  the same from this script's first line: with the imports of the engine, Qt
                    and the window, as a user starting the app waits (less the interpreter's start)
  first_photos_s    ... to the grid showing the library's newest photos
  tag_pane_s        ... to the tag pane showing the tag counts
Then, after an idle baseline taken once the grid shows photos, a user: every ACTION_MS one of typing a query, clicking a tag in
the tag pane (tens of thousands of photos in the grid: `grid_rows_max`), and scrolling the grid a
page, five pages, to the end and back. A 10 ms precise timer on the GUI thread measures the
event loop (bench/ui_stall.py's Ticker): `max_stall_ms`, `p99_stall_ms`, `stalls_over_100ms`,
with `idle_max_stall_ms` from the same window before the user starts. One JSON line last.
Goals (issue 17): window usable within 3 s, no stall over 100 ms.
"""
from __future__ import annotations

import time

STARTED = time.perf_counter()  # before the imports, which a user starting the app waits for too

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path

import numpy as np  # noqa: E402

from common import emit  # noqa: E402
from ui_stall import Ticker  # noqa: E402

from PySide6.QtCore import QTimer  # noqa: E402

ACTION_MS = 700
QUERIES = ["dog", "beach", "a child playing", "red car", "snow", "birthday cake", "mountain lake", "a crowd"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", type=Path, required=True, help="a library folder (bench/scale.py --keep DIR: DIR/library)")
    ap.add_argument("--actions", type=int, default=40)
    ap.add_argument("--idle-seconds", type=float, default=3.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from photolens.engine import Catalog
    from photolens.ui.app import make_app
    from photolens.ui.main_window import MainWindow

    app = make_app()
    ticker = Ticker()
    state: dict = {"usable": None, "photos": None, "tags": None, "rows": 0, "step": 0, "idle": None, "busy": None}
    t0 = time.perf_counter()
    catalog = Catalog(args.library)
    window = MainWindow(catalog, welcome=False, watch=False)
    window.show()
    tags = [t.tag for t in catalog.tag_counts()[:6]]

    def first_tick():
        state["usable"] = time.perf_counter() - t0

    def poll():
        now = time.perf_counter() - t0
        if state["photos"] is None and window.results.rowCount() > 0:
            state["photos"] = now
            state["startup"] = ticker.take()  # start-up is not idle: the baseline starts now
            QTimer.singleShot(int(args.idle_seconds * 1000), start_user)
        if state["tags"] is None and window.tags.view.model().rowCount() > 0:
            state["tags"] = now
        state["rows"] = max(state["rows"], window.results.rowCount())

    def act():
        state.setdefault("log", []).append((state["step"], len(ticker.samples)))
        i = state["step"]
        state["step"] += 1
        if i >= args.actions:
            state["busy"] = ticker.take()
            user.stop()
            QTimer.singleShot(200, app.quit)
            return
        bar = window.grid.verticalScrollBar()
        kind = i % 6
        if kind == 0:
            window.search.set_text(QUERIES[(i // 6) % len(QUERIES)])
        elif kind == 1:
            window.tags.tag_chosen.emit(tags[(i // 6) % len(tags)])  # as a click on the tag
        elif kind == 2:
            bar.setValue(bar.value() + bar.pageStep())
        elif kind == 3:
            bar.setValue(bar.value() + 5 * bar.pageStep())
        elif kind == 4:
            bar.setValue(bar.maximum())
        else:
            bar.setValue(0)

    def start_user():
        state["idle"] = ticker.take()
        user.start()

    watcher = QTimer(interval=20)
    watcher.timeout.connect(poll)
    user = QTimer(interval=ACTION_MS)
    user.timeout.connect(act)
    QTimer.singleShot(0, first_tick)
    QTimer.singleShot(0, ticker.start)
    watcher.start()
    QTimer.singleShot(600_000, app.quit)
    app.exec()
    window.close()
    window.tasks.wait()
    catalog.close()

    if state["busy"] is None:
        raise SystemExit("the scripted session did not finish within 10 minutes")
    idle, busy = state["idle"], state["busy"]
    starts = [n for _, n in state["log"]] + [len(busy)]
    kinds = ["query", "tag", "page", "5 pages", "end", "top"]
    worst: dict[str, float] = {}
    for step, (a, b) in enumerate(zip(starts, starts[1:])):
        if b > a:
            worst[kinds[step % 6]] = max(worst.get(kinds[step % 6], 0.0), float(busy[a:b].max()))
    result = {
        "photos": catalog_photos(args.library),
        "window_usable_s": round(state["usable"], 2),
        "process_usable_s": round(state["usable"] + t0 - STARTED, 2),
        "first_photos_s": round(state["photos"], 2) if state["photos"] is not None else None,
        "tag_pane_s": round(state["tags"], 2) if state["tags"] is not None else None,
        "actions": args.actions,
        "grid_rows_max": state["rows"],
        "max_stall_ms": round(float(busy.max()), 1),
        "p99_stall_ms": round(float(np.percentile(busy, 99)), 1),
        "stalls_over_100ms": int((busy > 100).sum()),
        "idle_max_stall_ms": round(float(idle.max()), 1),
        "startup_max_stall_ms": round(float(state["startup"].max()), 1),
        "max_stall_ms_by_action": {k: round(v, 1) for k, v in worst.items()},
    }
    emit(result, args.json)
    return 0


def catalog_photos(library: Path) -> int:
    from photolens.engine import Catalog

    with Catalog(library) as cat:
        return cat.status().photos


if __name__ == "__main__":
    sys.exit(main())
