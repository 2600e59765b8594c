"""Live folder watching: the library follows the disk while Photolens runs.

watchdog reports created, modified, moved and deleted files and folders. Events only mark
directories dirty; once a directory has been quiet for QUIET_S (a copy in progress keeps
writing, so it is never read half-written), the same reconcile-and-embed pipeline as `index`
runs over just those directories. A burst of thousands of files becomes a few batched runs,
not thousands of single ones. Moves are matched by content across all dirty directories, so
renamed photos and folders keep their vectors.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .catalog import Catalog
from .exclusions import is_excluded
from .library import is_image_name, within

log = logging.getLogger("photolens.watch")

# A directory must be this quiet before it is scanned: long enough for a copy to finish its
# next write, short enough that a new photo is searchable within about two seconds.
QUIET_S = 0.6
POLL_S = 0.2
# Photos per closer-look run between live updates: about 4 s of work on a 2-core CPU, so a new
# photo waits at most that long behind the background pass before it is made searchable.
CLOSER_CHUNK = 64
# Words: after the closer look, text is read this many photos at a time (under a second on two
# cores, most photos having no text), so a change on disk waits at most one such chunk.
TEXT_CHUNK = 8


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: "Watcher"):
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [os.fsdecode(event.src_path)]
        if getattr(event, "dest_path", None):
            paths.append(os.fsdecode(event.dest_path))
        for path in paths:
            if is_excluded(path, self.watcher.excluded):
                continue  # a cache (Photolens's thumbnails among them) inside a library folder
            if event.is_directory:
                self.watcher.mark(path)
                self.watcher.mark(os.path.dirname(path))
            elif is_image_name(os.path.basename(path)):
                self.watcher.mark(os.path.dirname(path))


class Watcher:
    """Watches every library folder and keeps the index in step. Thread-safe start/stop."""

    def __init__(self, catalog: Catalog, on_change=None, run=None, look_closer: bool = True, on_closer=None):
        self.catalog = catalog
        self.on_change = on_change  # called with each run's summary (the app refreshes views)
        # The closer look (tag views, detail pass) follows new photos in the background, in
        # chunks, whenever no folder is waiting: photos become searchable first.
        self.look_closer = look_closer
        self.on_closer = on_closer  # called with each closer-look chunk's summary
        self._closer_due = look_closer
        self._text_due = True  # words: text is read in new photos after the closer look
        # How a library update is run: directly here, or handed to the app's one serial writer
        # (and waited for), so the app's writes stay serialized.
        self._run = run or (lambda fn: fn())
        self.folders: set[str] = set()
        self.excluded = catalog.excluded_dirs
        self._dirty: dict[str, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer = None
        self._thread: threading.Thread | None = None

    def mark(self, directory: str) -> None:
        with self._lock:
            self._dirty[directory] = time.monotonic()

    def start(self) -> None:
        self._observer = Observer()
        handler = _Handler(self)
        folders = self.catalog.folders()
        self.folders = {f.path for f in folders}
        for f in folders:
            if os.path.isdir(f.path):
                self._observer.schedule(handler, f.path, recursive=True)
            # The parent is watched too, so a folder that disappears and comes back is noticed.
            parent = os.path.dirname(f.path)
            if os.path.isdir(parent):
                self._observer.schedule(handler, parent, recursive=False)
        self._observer.start()
        self._thread = threading.Thread(target=self._loop, name="photolens-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _ready(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            ready = [d for d, t in self._dirty.items() if now - t >= QUIET_S]
            if ready and len(ready) < len(self._dirty):
                return []  # wait for the whole burst: its moves pair up across directories
            for d in ready:
                del self._dirty[d]
        return ready

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            dirs = self._ready()
            try:
                if dirs:
                    summary = self.sync(dirs)
                    self._closer_due = self.look_closer and (self._closer_due or bool(summary.get("embedded")))
                    self._text_due = True
                elif self._closer_due and not self._pending():
                    self._look_closer()
                elif self._text_due and not self._pending():
                    self._read_text()
            except Exception:  # one bad run must not stop the watching
                log.exception("could not update the library")
                self._text_due = False

    def _pending(self) -> bool:
        with self._lock:
            return bool(self._dirty)

    def _look_closer(self) -> dict:
        """One chunk of the closer look; the loop comes back for more once no folder waits."""
        summary = self._run(lambda: self.catalog.add_tag_details(limit=CLOSER_CHUNK))
        if not summary["remaining"]:  # then the face pass, in chunks too (people, issue 19)
            faces = self._run(lambda: self.catalog.find_faces(limit=CLOSER_CHUNK))
            summary = dict(summary, remaining=faces["remaining"], faces_found=faces["faces"])
        self._closer_due = summary["remaining"] > 0
        if summary["embedded"]:
            log.info("looked closer at %d photos, %d to go", summary["embedded"], summary["remaining"])
        if self.on_closer is not None:
            self.on_closer(summary)
        return summary

    def _read_text(self) -> dict:
        """Words: one chunk of reading text in photos, last of the background passes."""
        summary = self._run(lambda: self.catalog.read_text(limit=TEXT_CHUNK))
        self._text_due = summary["remaining"] > 0
        return summary

    def sync(self, dirs: list[str]) -> dict:
        folders = self.catalog.folders()
        scopes: list[tuple[int, str]] = []
        for d in dirs:
            for f in folders:
                if within(d, f.path):
                    scopes.append((f.id, d))
                elif within(f.path, d):
                    scopes.append((f.id, f.path))  # the folder itself went or came back
        scopes = sorted(set(scopes))
        if not scopes:
            return {}
        summary = self._run(lambda: self.catalog.index_all(scopes=scopes))
        counted = ("added", "updated", "moved", "removed", "revived", "embedded")
        changed = {k: v for k, v in summary.items() if k in counted and v}
        if changed or summary.get("offline_folders"):
            log.info("%s", ", ".join(f"{v} {k}" for k, v in changed.items()) or
                     f"offline: {', '.join(summary['offline_folders'])}")
        if self.on_change is not None:
            self.on_change(summary)
        return summary
