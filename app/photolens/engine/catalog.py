"""A photo library: the one object the CLI and the desktop app talk to.

It ties together the database, the active model, the vector index and the pipelines. It does
no printing and never exits: progress goes to callbacks, problems are raised as
`PhotolensError`s or recorded in the database.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from . import models as model_registry
from .config import DB_NAME, Settings, default_library_dir
from .embedder import Embedder
from .errors import LibraryError, QueryError
from .index import VectorIndex
from .indexer import DETAIL_KINDS, Control, Indexer, Progress
from .library import Changes, reconcile, within
from .search import Result, Searcher
from .store import Store
from .albums import Albums
from .duplicates import DuplicateSet
from .tidy import Tidy
from .trash import Trashed

log = logging.getLogger("photolens.catalog")


class Catalog:
    def __init__(self, library_dir: Path | None = None, device: str | None = None, model: str | None = None,
                 threads: int | None = None):
        self.dir = Path(library_dir or default_library_dir()).expanduser().resolve()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.settings = Settings.load(self.dir)
        self.store = Store(self.dir / DB_NAME)
        self.device = device or self.settings.device
        self.threads = threads
        self._model_name = model or self.settings.model
        self._embedder: Embedder | None = None
        self._index: VectorIndex | None = None
        self._searcher: Searcher | None = None
        self._tagger = None
        self._lock = threading.RLock()
        # Duplicates, albums, the trash (issue 21).
        self.tidy = Tidy(self.store, lambda: self.searcher, lambda: self.match_threshold, self._forget)

    # -- model ------------------------------------------------------------------------------

    @property
    def model(self) -> model_registry.ModelInfo:
        return self.embedder.model

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                name = model_registry.default_model_name(self._model_name)
                self._embedder = Embedder(model_registry.get_model(name), self.device, self.threads)
            return self._embedder

    @property
    def index(self) -> VectorIndex:
        with self._lock:
            if self._index is None:
                self._index = VectorIndex(self.store, self.embedder.model.name, self.dir)
            return self._index

    @property
    def searcher(self) -> Searcher:
        with self._lock:
            if self._searcher is None:
                self._searcher = Searcher(self.store, self.embedder, self.index)
            return self._searcher

    @property
    def tagger(self):
        from .tagging import Tagger

        with self._lock:
            if self._tagger is None:
                self._tagger = Tagger.for_model(self.store, self.embedder)
            return self._tagger

    def use_model(self, name: str) -> None:
        """Switch models. Vectors are kept per model, so switching back is instant; a new one
        embeds in the background while search keeps using what exists."""
        model_registry.get_model(name)  # raises when not installed
        with self._lock:
            self.settings.model = name
            self.settings.save(self.dir)
            self._model_name = name
            if self._embedder is not None:
                self._embedder.release()
            self._embedder = self._index = self._searcher = self._tagger = None

    def set_device(self, device: str) -> None:
        with self._lock:
            self.settings.device = self.device = device
            self.settings.save(self.dir)
            if self._embedder is not None:
                self._embedder.release()
            self._embedder = self._index = self._searcher = self._tagger = None

    def set_thorough_tags(self, on: bool) -> None:
        """Whether indexing runs the model's tag detail pass. Photos already indexed keep what
        they have; a photo indexed without it is tagged with its whole photo standing in."""
        with self._lock:
            self.settings.thorough_tags = bool(on)
            self.settings.save(self.dir)

    def warm_up(self) -> None:
        """Load the model's sessions, the vector index and the tag vocabulary now, so the first
        photo that arrives is not the one that pays for them (the watcher calls this)."""
        size = self.model.preprocess.size
        self.embedder.embed_images(np.zeros((1, 3, size, size), np.float32))
        detail = self.model.tag_detail
        if detail is not None and self.settings.thorough_tags:
            self.embedder.embed_detail(np.zeros((1, 3, detail.size, detail.size), np.float32))
        self.embedder.embed_text("warm up")
        self.index.ensure_loaded()
        if self.tagger is not None:
            self.tagger.vectors  # noqa: B018 (computed and cached on first use)

    def close(self) -> None:
        if self._index is not None:
            self._index.save()
        if self._embedder is not None:
            self._embedder.release()
        self.store.close()

    # -- folders ----------------------------------------------------------------------------

    def add_folder(self, path: str | os.PathLike) -> int:
        folder = os.path.abspath(os.fspath(path))
        if not os.path.isdir(folder):
            raise LibraryError(f"not a folder: {folder}")
        for existing in self.store.folders():
            if within(folder, existing["path"]) and folder != existing["path"]:
                raise LibraryError(f"{folder} is already inside the library folder {existing['path']}")
        return self.store.add_folder(folder)

    def remove_folder(self, path_or_id: str | int) -> int:
        folder_id = path_or_id if isinstance(path_or_id, int) else self._folder_id(path_or_id)
        n = self.store.remove_folder(folder_id)
        for model in self.store.models_with_vectors() or [self.embedder.model.name]:
            self.store.bump_generation(model)
        return n

    def _folder_id(self, path: str) -> int:
        folder = os.path.abspath(path)
        for f in self.store.folders():
            if f["path"] == folder:
                return f["id"]
        raise LibraryError(f"{folder} is not a library folder")

    def folders(self) -> list[dict]:
        return self.store.folders()

    # -- indexing ---------------------------------------------------------------------------

    def scan(self, scopes: list[tuple[int, str]] | None = None) -> Changes:
        """Find what is new, changed, moved or gone on disk (no embedding)."""
        roots = {f["id"]: f["path"] for f in self.store.folders()}
        if scopes is None:
            scopes = list(roots.items())
        changes = reconcile(self.store, scopes, roots)
        if changes.removed_ids:
            for model in set(self.store.models_with_vectors()) | {self.embedder.model.name}:
                generation = self.store.bump_generation(model)
                if model == self.embedder.model.name:
                    self.index.apply({}, changes.removed_ids, generation)
        return changes

    def embed_pending(self, progress: Callable[[Progress], None] | None = None,
                      control: Control | None = None) -> dict:
        self._forget_vectors_of_another_build()
        pending = self.store.pending_photos(self.embedder.model.name)
        tagger = self.tagger
        indexer = Indexer(self.store, self.embedder, self.index, on_batch=tagger.on_batch if tagger else None,
                          tag_detail=self.settings.thorough_tags)
        result = indexer.run(pending, progress, control)
        # Smart albums take in the new photos that match them (issue 21): {album: [photo ids]}.
        result["smart_albums"] = self.albums.refresh_smart_albums(p.id for p in pending) if pending else {}
        return result

    def add_tag_details(self, progress: Callable[[Progress], None] | None = None,
                        control: Control | None = None, limit: int | None = None) -> dict:
        """Photos indexed without the model's tag detail pass (by an older version, or with
        thorough tags off) get it now, after new photos: they are decoded and run through the
        model again and retagged. Search is untouched meanwhile: the embeddings it uses come out
        the same. At most `limit` photos per call (the app goes in chunks, so that the watcher's
        updates are not held up behind hours of work); "remaining" says how many are left."""
        if self.model.tag_detail is None or not self.settings.thorough_tags:
            return {"embedded": 0, "failed": 0, "remaining": 0}
        todo = self.store.photos_lacking(self.model.name, DETAIL_KINDS[-1])
        batch = todo[:limit] if limit else todo
        if not batch:
            return {"embedded": 0, "failed": 0, "remaining": 0}
        tagger = self.tagger
        indexer = Indexer(self.store, self.embedder, self.index, on_batch=tagger.on_batch if tagger else None,
                          stage="adding tag details")
        # Progress counts against every photo left, not only this call's share.
        overall = None if progress is None else (lambda p: progress(replace(p, total=len(todo))))
        result = indexer.run(batch, overall, control)
        return dict(result, remaining=len(todo) - len(batch))

    def _forget_vectors_of_another_build(self) -> None:
        """After an update that changed the model's weights under the same name, its old
        vectors would be searched with new text vectors: drop them, so they are embedded again
        (with progress) instead of ranking wrongly."""
        model = self.embedder.model
        if self._build_changed(f"fingerprint:{model.name}", model.fingerprint):
            dropped = self.store.drop_vectors(model.name)
            log.warning("%s changed since this library was indexed: its %d photos are embedded again",
                        model.title, dropped)
        # Another build of the tag detail pass: only its outputs go (add_tag_details redoes them).
        if self._build_changed(f"detail_fingerprint:{model.name}", model.detail_fingerprint):
            n = self.store.drop_vector_kinds(model.name, DETAIL_KINDS)
            log.warning("the tag detail pass of %s changed: it runs again on %d photos", model.title, n)

    def _build_changed(self, key: str, current: str | None) -> bool:
        """Records `current` under the meta `key`; True if another value was recorded before (a
        first record, or a model that lists no checksum, is no change)."""
        if current is None:
            return False
        stored = self.store.get_meta(key)
        if stored != current:
            self.store.set_meta(key, current)
        return stored is not None and stored != current

    def index_all(self, progress: Callable[[Progress], None] | None = None,
                  control: Control | None = None, scopes: list[tuple[int, str]] | None = None,
                  tag_details: bool = True) -> dict:
        """Scan, then embed what is new or changed: the `index` command and the app's job.
        A full run (no `scopes`) also adds tag details where they are missing, unless
        `tag_details` is off (the app does that part in chunks: add_tag_details)."""
        start = time.monotonic()
        changes = self.scan(scopes)
        result = self.embed_pending(progress, control)
        detailed = self.add_tag_details(progress, control)["embedded"] if scopes is None and tag_details else 0
        # Tags computed by another model, tagger or vocabulary (a model switch, an update) are
        # brought up to date from the stored vectors; a scoped run (the watcher) tags what it embeds.
        retagged = self.retag(progress, control) if scopes is None else 0
        return {"added": changes.added, "updated": changes.updated, "moved": changes.moved,
                "removed": changes.removed, "failed": changes.failed + result["failed"], "retagged": retagged,
                "tag_details_added": detailed, "smart_albums": result["smart_albums"],
                "failed_total": self.store.counts(self.embedder.model.name)["failed"],
                "embedded": result["embedded"], "seconds": round(time.monotonic() - start, 3),
                "offline_folders": changes.offline_folders}

    # -- queries ----------------------------------------------------------------------------

    def search(self, query, k: int = 50) -> list[Result]:
        return self.searcher.search(query, k)

    def similar(self, image: str | int, k: int = 50, focus: str | None = None, detail: float = 0.0) -> list[Result]:
        return self.searcher.similar(image, k, focus=focus, detail=detail)

    def photo_id(self, path: str) -> int:
        row = self.store.photo_by_path(os.path.abspath(path))
        if row is None:
            raise QueryError(f"{path} is not in the library")
        return row.id

    # -- tags and concepts ------------------------------------------------------------------

    def related_words(self, text: str, k: int = 5) -> list[str]:
        from .query import parse_query

        tagger = self.tagger
        phrase = parse_query(text).positive_text
        return tagger.related_words(phrase, k) if tagger is not None and phrase else []

    @property
    def concepts(self):
        from .tagging import ConceptTeacher

        return ConceptTeacher(self.store, self.embedder.model.name)

    def retag(self, progress: Callable[[Progress], None] | None = None, control: Control | None = None) -> int:
        return self.tagger.retag_all(progress, control) if self.tagger is not None else 0

    # -- status -----------------------------------------------------------------------------

    def status(self) -> dict:
        counts = self.store.counts(self.embedder.model.name)
        return {**counts, "model": self.embedder.model.name, "device": self.embedder.device_name,
                "provider": self.embedder.provider, "library": str(self.dir),
                "folders": self.store.folders(), "models_with_vectors": self.store.models_with_vectors(),
                "index": "exact" if len(self.index) <= self.index.exact_max else "hnsw",
                "thorough_tags": self.settings.thorough_tags}

    def failures(self) -> list[dict]:
        return self.store.failures()

    # -- duplicates, albums, trash (issue 21): the operations live in tidy.py ----------------

    @property
    def match_threshold(self) -> float:
        """The search's relevance cut-off: scores below it are not good matches (-1: the model
        names none, every result counts)."""
        return float(self.model.manifest.get("match_threshold", -1.0))

    @property
    def albums(self) -> Albums:
        return self.tidy.albums

    def duplicates(self, with_similar: bool = False) -> list[DuplicateSet]:
        return self.tidy.duplicates(with_similar)

    def trash(self, paths: list[str], keep: str | None = None) -> Trashed:
        return self.tidy.trash(paths, keep)

    def _forget(self, ids: list[int]) -> None:
        """Photos the library no longer holds (moved to the trash) leave the vector index."""
        for model in set(self.store.models_with_vectors()) | {self.embedder.model.name}:
            generation = self.store.bump_generation(model)
            if model == self.embedder.model.name:
                self.index.apply({}, ids, generation)
