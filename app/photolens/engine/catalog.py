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
from typing import Callable, Iterator

import numpy as np

from . import models as model_registry
from .archive import keep, kept_counts
from .config import DB_NAME, Settings, default_library_dir
from .dbfile import open_library_dir
from .drafts import DraftSpool
from .embedder import DEVICES, Embedder, load_embedder
from .errors import LibraryError, PhotolensError, QueryError
from .exclusions import excluded_roots
from .export import PhotoRecord, export_records
from .health import backup_user_data
from .health import check as check_library
from .health import repair as repair_library
from .filters import Filters
from .index import VectorIndex
from .indexer import CLOSER, SEARCHABLE, Indexer
from .jobs import Control, Progress
from .library import Changes, reconcile, within
from .outputs import DETAIL_DONE_KIND, DETAIL_KINDS
from .peoplecatalog import PeopleCatalog  # people (issue 19)
from .records import Failure, Folder, PhotoInfo, Status
from .search import Result, Searcher, results_for
from .smart import SmartMatcher
from .store import Store
from .tag_rules import TagManagement
from .tagger import Tagger
from .tagfacade import TagsFacade
from .whenwhere import WhenWhere, WhenWhereFacade
from .tidy import Tidy
from .wordapi import CatalogWords

log = logging.getLogger("photolens.catalog")

SORT_RELEVANCE = "relevance"
SORT_DATE = "date"
SORTS = (SORT_RELEVANCE, SORT_DATE)


class Catalog(WhenWhereFacade, TagsFacade, TagManagement, CatalogWords, PeopleCatalog):
    def __init__(self, library_dir: Path | None = None, device: str | None = None, model: str | None = None,
                 threads: int | None = None):
        self.dir = Path(library_dir or default_library_dir()).expanduser().resolve()
        open_library_dir(self.dir)
        self.settings = Settings.load(self.dir)
        self.store = Store(self.dir / DB_NAME)
        self.device = device or self.settings.device
        self.threads = threads
        self._model_name = model or self.settings.model
        self._embedder: Embedder | None = None
        self._index: VectorIndex | None = None
        # What prepare_search opened before the image model was checked: the chosen model's
        # embedder (tokenizer read, no session) and its saved index; `embedder` adopts them.
        self._unchecked: tuple[Embedder, VectorIndex] | None = None
        self._searcher: Searcher | None = None
        self._tagger = None
        self._lock = threading.RLock()
        self._closed = False
        self._model_warning: str | None = None
        self._drafts = DraftSpool()  # decoded photos, from the first indexing pass to the closer look
        self.when_where = WhenWhere(self.store)
        # Duplicates, albums, the trash (issue 21; tidy.py): catalog.albums, .duplicates(), .trash().
        self.tidy = Tidy(self.store, lambda: self.searcher, SmartMatcher(
            self.store, lambda: self.searcher, self.when_where, self.split_people,
            lambda names: self._people.photos_with_all(names), lambda: self.match_threshold))
        self.albums, self.duplicates, self.trash = self.tidy.albums, self.tidy.duplicates, self.tidy.trash

    # -- model ------------------------------------------------------------------------------

    @property
    def model(self) -> model_registry.ModelInfo:
        return self.embedder.model

    @property
    def embedder(self) -> Embedder:
        """The active model's sessions. A chosen model that is not installed or fails to load
        gives way to the built-in one, and `warnings` says so: a setting never breaks the app."""
        with self._lock:
            if self._embedder is None:
                unchecked, self._unchecked = self._unchecked, None
                self._embedder, self._model_warning = load_embedder(
                    self._model_name, self.device, self.threads, unchecked[0] if unchecked else None)
                if unchecked and self._index is None and unchecked[1].model == self._embedder.model.name:
                    self._index = unchecked[1]
            return self._embedder

    @property
    def warnings(self) -> list[str]:
        """What the library fell back on, for the user: a device or a model that could not be
        used (the app shows them in its status bar, the CLI on stderr). Nothing is loaded to
        answer: before the model is first used there is nothing to warn about."""
        embedder = self._embedder
        return ([self._model_warning] if self._model_warning else []) + (embedder.warnings if embedder else []) + (
            [self.text_warning] if self.text_warning else [])

    @property
    def index(self) -> VectorIndex:
        with self._lock:
            name = self.embedder.model.name  # first: loading the model may adopt prepare_search's index
            if self._index is None:
                self._index = VectorIndex(self.store, name, self.dir)
            return self._index

    @property
    def searcher(self) -> Searcher:
        with self._lock:
            if self._searcher is None:
                self._searcher = Searcher(self.store, self.embedder, self.index)
            return self._searcher

    @property
    def tagger(self):
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
            self._embedder = self._index = self._searcher = self._tagger = self._unchecked = None
            self._model_warning = None
            try:  # smart albums follow the new model's embeddings (issue 21); pins and exclusions stay
                self.albums.recompute_smart_albums()
            except PhotolensError as e:  # the switch stands; the next index run judges the photos again
                log.warning("could not work out the smart albums again with %s: %s", name, e)

    def set_device(self, device: str) -> None:
        """Choose "auto", "cpu" or "cuda" (kept in the library's settings). A device that is not
        available falls back to the CPU with a warning (`warnings`) rather than failing."""
        if device not in DEVICES:
            raise QueryError(f"unknown device {device!r}: one of {', '.join(DEVICES)}")
        with self._lock:
            self.settings.device = self.device = device
            self.settings.save(self.dir)
            if self._embedder is not None:
                self._embedder.release()
            self._embedder = self._index = self._searcher = self._tagger = self._unchecked = None
            self._model_warning = None

    def set_thorough_tags(self, on: bool) -> None:
        """Whether indexing runs the model's tag detail pass. Photos already indexed keep what
        they have; a photo indexed without it is tagged with its whole photo standing in."""
        with self._lock:
            self.settings.thorough_tags = bool(on)
            self.settings.save(self.dir)

    def warm_up(self) -> None:
        """Load the model's sessions, the vector index and the tag vocabulary now, so the first
        photo that arrives is not the one that pays for them (the watcher calls this)."""
        # A first search needs these first (a window starts this as it shows): the model (its image
        # session, made as load_embedder checks the model), the text session, the index and the hub
        # correction's zero (Searcher.prepare); then what indexing needs: the image model, the detail pass.
        self.embedder.embed_text("warm up")
        self.searcher.prepare()
        size = self.model.preprocess.size
        self.embedder.embed_images(np.zeros((1, 3, size, size), np.float32))
        detail = self.model.tag_detail
        if detail is not None and self.settings.thorough_tags:
            self.embedder.embed_detail(np.zeros((1, 3, detail.size, detail.size), np.float32))
        if self.tagger is not None:
            self.tagger.prepare()

    def prepare_search(self) -> bool:
        """Load now what a first search needs and holds the interpreter while it loads: ONNX
        Runtime and the text tokenizer (Embedder.prepare), and the library's saved vector index
        if nothing but reading it is needed (VectorIndex.open_saved: 0.3-0.4 s at 200,000
        photos). A window calls this before it shows. True when the index opened is ready. Any
        thread.

        The image model's session is not loaded here (0.2-0.4 s for the built-in one, which a
        window would wait for): the index opened is that of the model this catalog was asked for
        (its settings, or the `model` it was made with), and `embedder`, which loads the session,
        adopts both. Only where that model fails to load does the built-in one take its place,
        with its own index (load_embedder), and what was read here goes unused."""
        with self._lock:
            if self._embedder is None and self._unchecked is None:
                chosen = model_registry.get_model(model_registry.default_model_name(self._model_name))
                self._unchecked = (Embedder(chosen, self.device, self.threads),
                                   VectorIndex(self.store, chosen.name, self.dir))
            embedder, index = self._unchecked if self._embedder is None else (self._embedder, None)
        embedder.prepare()
        return (self.index if index is None else index).open_saved()

    def release_memory(self) -> None:
        """After a run of indexing: the memory the model keeps for its next batch goes back
        (Embedder.release_memory); the next batch takes it again. So do drafts the closer look
        has not taken (photos that failed it)."""
        self._drafts.clear()
        if self._embedder is not None:
            self._embedder.release_memory()

    def close(self) -> None:
        """Save the vector index, release the model and close the database; a second call
        does nothing."""
        if self._closed:
            return
        self._closed = True
        self._drafts.clear()
        self._unchecked = None  # only read, never adopted: nothing to save
        if self._index is not None:
            self._index.save()
        self.backup()
        if self._embedder is not None:
            self._embedder.release()
        self.store.close()

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

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
        with self.store.transaction():  # reliability: what its photos carry is kept by content
            keep(self.store, [p.id for p in self.store.photos_in_folder(folder_id).values()])
            n = self.store.remove_folder(folder_id)
        for model in self.store.models_with_vectors() or [self.embedder.model.name]:
            self.store.bump_generation(model)
        return n

    def _folder_id(self, path: str) -> int:
        folder = os.path.abspath(path)
        for f in self.folders():
            if f.path == folder:
                return f.id
        raise LibraryError(f"{folder} is not a library folder")

    @property
    def excluded_dirs(self) -> frozenset[str]:
        """Folders never indexed, even inside a library folder: Photolens's own (this library
        included) and other applications' caches (the scan and the watcher both skip them)."""
        return excluded_roots(self.dir)

    def folders(self) -> list[Folder]:
        return [Folder(f["id"], f["path"], f["photos"], f["online"], f["last_scan"], f["offline_reason"],
                       f["unreachable"]) for f in self.store.folders()]

    # -- indexing ---------------------------------------------------------------------------

    def scan(self, scopes: list[tuple[int, str]] | None = None) -> Changes:
        """Find what is new, changed, moved or gone on disk (no embedding)."""
        roots = {f["id"]: f["path"] for f in self.store.folders()}
        if scopes is None:
            scopes = list(roots.items())
        changes = reconcile(self.store, scopes, roots, self.excluded_dirs)
        if changes.removed_ids or changes.revived_ids:
            name = self.embedder.model.name
            back = self.store.vectors_for(changes.revived_ids, name, "embedding")  # revived: no embedding
            for model in set(self.store.models_with_vectors()) | {name}:
                generation = self.store.bump_generation(model)
                if model == name:
                    self.index.apply(back, changes.removed_ids, generation)
        return changes

    def embed_pending(self, progress: Callable[[Progress], None] | None = None,
                      control: Control | None = None) -> dict:
        """Make new and changed photos searchable: the search model on the whole photo, its
        whole-photo tags. The closer look (add_tag_details) comes after, for all of them."""
        self._forget_vectors_of_another_build()
        pending = self.store.pending_photos(self.embedder.model.name)
        tagger = self.tagger
        indexer = Indexer(self.store, self.embedder, self.index, on_batch=tagger.on_batch if tagger else None,
                          pass_=SEARCHABLE, drafts=self._drafts)
        return dict(indexer.run(pending, progress, control), photo_ids=[p.id for p in pending])

    def _closer_kind(self) -> str | None:
        """The stored output a photo lacks until the closer look has reached it: the tag detail
        pass's with thorough tags on, else the tag views'; None for a model with neither."""
        model = self.model
        if model.tag_detail is not None and self.settings.thorough_tags:
            return DETAIL_DONE_KIND
        return "view_features" if model.tag_views else None

    def closer_look_pending(self) -> int:
        """How many searchable photos still wait for the closer look."""
        kind = self._closer_kind()
        return 0 if kind is None else self.store.count_lacking(self.model.name, kind)

    def add_tag_details(self, progress: Callable[[Progress], None] | None = None,
                        control: Control | None = None, limit: int | None = None) -> dict:
        """The closer look, after photos are searchable: the model's tag views and (with
        thorough tags on) its tag detail pass, for photos that lack them (new ones, and those
        indexed by an older version or with thorough tags off); their tags are refined. Search
        is untouched: the embeddings it uses are not recomputed. Resumable: a photo is done once
        its outputs are stored. At most `limit` photos per call (the app and the watcher go in
        chunks, so live updates are not held up behind hours of work); "remaining" says how
        many are left."""
        kind = self._closer_kind()
        if kind is None:
            return {"embedded": 0, "failed": 0, "remaining": 0}
        left = self.store.count_lacking(self.model.name, kind)
        batch = self.store.photos_lacking(self.model.name, kind, limit) if left else []
        if not batch:
            return {"embedded": 0, "failed": 0, "remaining": 0}
        tagger = self.tagger
        indexer = Indexer(self.store, self.embedder, None, on_batch=tagger.on_batch if tagger else None,
                          tag_detail=self.settings.thorough_tags, pass_=CLOSER, drafts=self._drafts)
        # Progress counts against every photo left, not only this call's share.
        overall = None if progress is None else (lambda p: progress(replace(p, total=left)))
        result = indexer.run(batch, overall, control)
        if left == len(batch):  # all done: what is left in the spool failed the closer look
            self._drafts.clear()
        return dict(result, remaining=left - len(batch))

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
                  tag_details: bool = True, faces: bool | None = None) -> dict:
        """Scan, then embed what is new or changed: the `index` command and the app's job.
        A full run (no `scopes`) also adds tag details where they are missing, unless
        `tag_details` is off (the app does that part in chunks: add_tag_details). Likewise the
        face pass (`faces`, by default as `tag_details`; the watcher's chunks: find_faces)."""
        start = time.monotonic()
        changes = self.scan(scopes)
        result = self.embed_pending(progress, control)
        detailed = self.add_tag_details(progress, control)["embedded"] if scopes is None and tag_details else 0
        # Tags computed by another model, tagger or vocabulary (a model switch, an update) are
        # brought up to date from the stored vectors; a scoped run (the watcher) tags what it embeds.
        retagged = self.retag(progress, control) if scopes is None else 0
        dated, text_read = self.when_where.refresh(), self._read_text_after(progress, control, scopes, tag_details)
        faces_found = self.face_pass_of_full_run(progress, control, scopes, tag_details, faces)
        # Smart albums judge the new photos once their dates, places and faces are known (issue 21).
        smart = self.albums.refresh_smart_albums(result["photo_ids"])
        return {**dated, "added": changes.added, "updated": changes.updated, "moved": changes.moved,
                "revived": changes.revived, "offline_reasons": changes.offline_reasons,
                "unreadable": changes.unreadable, "text_read": text_read,
                "removed": changes.removed, "failed": changes.failed + result["failed"], "retagged": retagged,
                "tag_details_added": detailed, "smart_albums": smart, "faces_found": faces_found,
                "failed_total": self.store.counts(self.embedder.model.name)["failed"],
                "embedded": result["embedded"], "seconds": round(time.monotonic() - start, 3),
                "offline_folders": changes.offline_folders}

    # -- queries ----------------------------------------------------------------------------

    @property
    def match_threshold(self) -> float:
        """The score at or above which a result is a good match: the model's calibrated cut-off
        (its manifest's `match_threshold`); -1 when the model states none (everything is good)."""
        try:
            return float(self.model.manifest.get("match_threshold", -1.0))
        except PhotolensError:
            return -1.0

    def search(self, query, k: int = 50, sort: str = SORT_RELEVANCE, filters: Filters | None = None,
               people: tuple[str, ...] = ()) -> list[Result]:
        """The k best matches within the filters (given, in the query: see understand()), each marked
        `good` or not against the cut-off; `sort`: SORT_RELEVANCE or SORT_DATE. Filters only: newest first.
        A person's name in the query, or in `people`, keeps only photos with all of them."""
        if sort not in SORTS:
            raise QueryError(f"unknown sort {sort!r}: one of {', '.join(SORTS)}")
        if (named := self.split_people(query, people))[0]:  # people (issue 19): names are a filter
            return self._sorted(self.search_people(*named, k, filters), sort)
        understood = self.when_where.understand(query, filters)
        if understood.filters.empty:  # meaning and words, fused (wordapi.py); with filters, meaning alone
            return self._sorted(self._fused(query, k), sort)
        if understood.text is None:  # all good: they are what was asked for
            return self._sorted(results_for(self.store, self.when_where.newest(understood.filters, k)), sort)
        found = self.searcher.search(understood.text, k, self.when_where.candidates(understood.filters))
        cut = self.match_threshold
        return self._sorted([replace(r, good=r.score >= cut) for r in found], sort)

    def _sorted(self, results: list[Result], sort: str) -> list[Result]:
        if sort != SORT_DATE:
            return results
        dates = self.store.taken_dates([r.id for r in results])
        by_time = sorted(results, key=lambda r: -dates.get(r.id, 0))  # orders the photos without a date
        return sorted(by_time, key=_local_taken, reverse=True)  # a stable sort: undated ("") last

    def similar(self, image: str | int, k: int = 50, focus: str | None = None, detail: float = 0.0,
                region: tuple[float, ...] | None = None, filters: Filters | None = None) -> list[Result]:
        """Photos like an image (a photo's id or a file) within `filters`; `region`: x, y, w, h shares."""
        if not 0.0 <= detail <= 1.0:
            raise QueryError(f"detail must be between 0 and 1, not {detail}")
        return self.searcher.similar(image, k, focus=focus, detail=detail, region=region,
                                     candidates=self.when_where.candidates(filters))

    def recent(self, k: int) -> list[Result]:
        """The library's indexed photos, newest first: what the app shows before any query."""
        return results_for(self.store, [(pid, 1.0) for pid in self.store.recent_photo_ids(k)])

    def photo_id(self, path: str) -> int:
        row = self.store.photo_by_path(os.path.abspath(path))
        if row is None:
            raise QueryError(f"{path} is not in the library")
        return row.id

    def photo_info(self, photo_id: int) -> PhotoInfo | None:
        d = self.store.photo_details(photo_id)
        return None if d is None else PhotoInfo(**{k: d.get(k) for k in PhotoInfo.__dataclass_fields__})

    def export_records(self) -> Iterator[PhotoRecord]:
        """Every photo as an export record (export.py: where exported fields are added)."""
        return export_records(self.store)

    # -- status -----------------------------------------------------------------------------

    def status(self, with_failures: bool = False) -> Status:
        counts = self.store.counts(self.embedder.model.name)
        return Status(**counts, model=self.embedder.model.name, device=self.embedder.device_name,
                      provider=self.embedder.provider, library=str(self.dir), folders=self.folders(),
                      models_with_vectors=self.store.models_with_vectors(),
                      index="exact" if counts["indexed"] <= self.index.exact_max else "hnsw",
                      thorough_tags=self.settings.thorough_tags, **kept_counts(self.store),
                      bytes_per_photo=self._bytes_per_photo(counts["photos"]),
                      failures=self.failures() if with_failures else None, warnings=self.warnings)

    def _bytes_per_photo(self, photos: int) -> int | None:
        """The library folder's size on disk over its photos (None while it has none)."""
        if not photos:
            return None
        size = sum(p.stat().st_size for p in self.dir.iterdir() if p.is_file())
        return round(size / photos)

    def failures(self) -> list[Failure]:
        return [Failure(f["path"], f["kind"], f["reason"]) for f in self.store.failures()]

    # -- reliability: backup, check, repair -------------------------------------------------

    def backup(self, force: bool = False) -> Path | None:
        """Export the user's own facts (at most daily unless `force`); see health.py."""
        try:
            return backup_user_data(self.store, self.dir, force)
        except (OSError, PhotolensError) as e:  # a full disk, a read-only or damaged library
            log.warning("could not back up your tags to %s: %s", self.dir, getattr(e, "strerror", None) or e)
            return None

    @staticmethod
    def check_at(library_dir: Path | None = None) -> dict:
        """What is wrong with a library, changing nothing (health.check): works on a library
        too damaged to open."""
        return check_library(Path(library_dir or default_library_dir()).expanduser().resolve())

    @staticmethod
    def repair_at(library_dir: Path | None = None) -> dict:
        """Rebuild what can be derived, keeping the user's facts (health.repair)."""
        return repair_library(Path(library_dir or default_library_dir()).expanduser().resolve())


def _local_taken(r: Result) -> str:
    """The local date and time taken ("2019-07-14T15:30:00"), as the timeline counts months; ""."""
    return (r.when_where.taken or "")[:19] if r.when_where is not None else ""
