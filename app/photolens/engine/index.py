"""The vector index: exact numpy search for small libraries, hnswlib (cosine) for large ones.

Both answer over the same photo ids with the same scores (cosine similarity), so the ranking
is the same either way within HNSW's recall. The HNSW graph is saved next to the database with
a sidecar recording which generation of the model's vectors it holds, its size and checksum
(graphfile.py). A missing or damaged file is rebuilt from SQLite; a stale one (another process
indexed meanwhile) is brought up to date incrementally: photos added, deleted or re-embedded
since are applied to it, never a full rebuild.
"""
from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
from pathlib import Path

import numpy as np

from .graphfile import fingerprints, load_fingerprints, read_sidecar, save_fingerprints, save_graph, verify_graph
from .store import Store

log = logging.getLogger(__name__)

# Below this many vectors a brute-force matrix product costs no more than walking the graph
# (~1.5 ms for 20k x 384 on 2 cores) and is exact, with no graph to build or store.
EXACT_MAX = 20_000
# Graph degree and build width: 32/200 keeps recall@10 >= 0.95 for text queries (which sit far
# from the image vectors) at a million photos; see bench/search.py.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 200
# Search width: text queries sit far from the image vectors, so the beam must be wide, and wider
# as the library grows. Measured (recall@10 of text queries): 200k vectors, ef 1600 -> 0.997
# (2.3 ms); 1M vectors, ef 1600 -> 0.85, 3200 -> 0.92, 6400 -> 0.99 (16 ms on one core).
HNSW_EF_MIN, HNSW_EF_MAX = 400, 6400
HNSW_EF_PER_VECTOR = 1 / 125


# A filtered search over at most this many photos scores them exactly (their vectors fetched from
# the graph, ~35 us each); larger candidate sets search the graph with the filter applied while it
# walks. Measured at 200,000 photos (/tmp script, six queries): one year (15,800 photos) exact
# 580 ms, walking 72 ms, with the same top 10; one month (1,600) 55 ms; one day 26 ms.
CANDIDATE_EXACT_MAX = 2_000


# In exact mode, candidates that are more than a quarter of the library are scored in place
# (one product over every row, the rest masked) rather than gathered into a copy first.
GATHER_SHARE = 4


def search_width(n: int) -> int:
    return int(min(HNSW_EF_MAX, max(HNSW_EF_MIN, n * HNSW_EF_PER_VECTOR)))


# Largest difference between a stored (float16) vector and the graph's copy that still counts
# as the same embedding: float16 rounding is ~1e-3; a photo embedded again differs by ~1e-1.
CHANGED_TOLERANCE = 2e-2
# Photos whose neighbours one graph_neighbours step finds while holding the lock (~0.2 s).
NEIGHBOUR_CHUNK = 2048
DETACHED = -2  # built from vectors handed in (benchmarks), not from the database


# Verifies a saved graph while its opener reads the photo ids (VectorIndex._open_unchanged).
_VERIFIER = cf.ThreadPoolExecutor(1, thread_name_prefix="photolens-verify-graph")
# hnswlib's get_items holds the interpreter for the whole call, about 20 us a vector (a 200,000-
# photo graph here): the 2,000 vectors of a first text search's hub sample held it 45 ms, and
# with the hits' vectors the app's event loop stalled 165-220 ms while a worker thread searched
# (bench/ui_scale.py). Asked for in chunks, the interpreter can pass between them.
ITEMS_CHUNK = 256


class VectorIndex:
    """One model's vectors, searchable by cosine similarity. Thread-safe."""

    def __init__(self, store: Store, model: str, folder: Path, exact_max: int = EXACT_MAX,
                 candidate_exact_max: int = CANDIDATE_EXACT_MAX):
        self.store = store
        self.model = model
        self.folder = Path(folder)
        self.exact_max = exact_max
        self.candidate_exact_max = candidate_exact_max
        self._lock = threading.RLock()
        self._ids = np.zeros(0, np.int64)
        self._mat: np.ndarray | None = None  # exact mode: [N, D] float32 unit vectors
        self._hnsw = None
        self._deleted: set[int] = set()  # labels marked deleted in the graph (hnswlib still lists them)
        self._fps: dict[int, int] = {}  # id -> fingerprint of the vector the graph holds for it
        self._loaded_generation = -1
        # The generation the graph file on disk holds: closing saves only when it is behind
        # (rewriting and checksumming an unchanged 200,000-photo graph took 1.5-3 s at every close).
        self._saved_generation: int | None = None

    # -- files ------------------------------------------------------------------------------

    @property
    def _graph_path(self) -> Path:
        return self.folder / f"index-{_safe(self.model)}.hnsw"

    @property
    def _sidecar_path(self) -> Path:
        return self.folder / f"index-{_safe(self.model)}.json"

    @property
    def _fingerprint_path(self) -> Path:
        return self.folder / f"index-{_safe(self.model)}.ids.npy"

    # -- loading ----------------------------------------------------------------------------

    def ensure_loaded(self) -> None:
        """Load (or rebuild) if the database has moved on since we last looked."""
        if self._loaded_generation == DETACHED:
            return
        generation = self.store.generation(self.model)
        with self._lock:
            if generation != self._loaded_generation:
                self._load(generation)

    def open_saved(self) -> bool:
        """Read the saved graph now, where that is all loading takes: the database has not moved
        on since the graph was saved (one verified read of one file, no vector from SQLite). False
        where it takes more (a small library held exactly, a catch-up, a rebuild); ensure_loaded
        does that later, in the background. A window calls this before it shows: hnswlib holds
        the interpreter while it reads (0.3-0.4 s at 200,000 photos), which a shown window would
        feel as a freeze, and one that shows a moment later does not."""
        if self._loaded_generation == DETACHED:
            return False
        generation = self.store.generation(self.model)
        with self._lock:
            if generation == self._loaded_generation:
                return True
            if self._open_unchanged(generation):
                self._loaded_generation = generation
                return True
        return False

    def _load(self, generation: int) -> None:
        if self._open_unchanged(generation):
            self._loaded_generation = generation
            return
        ids, mat = self.store.vectors(self.model)
        self._ids = ids
        if len(ids) <= self.exact_max:
            self._mat, self._hnsw = mat, None
        else:
            self._mat = None
            graph = self._open_graph(ids, mat, generation)
            self._hnsw = graph if graph is not None else self._build(ids, mat, generation)
        self._loaded_generation = generation

    def _open_unchanged(self, generation: int) -> bool:
        """Open the saved graph without reading a vector from SQLite, where the database has not
        changed since it was saved: the same generation and the same photo ids (the ids are read
        from SQLite's index alone). Opening a 200,000-photo library then reads the graph file
        once to verify it and once to load it, not 200,000 vectors (see bench/scale.py open_s).
        The file is verified on a thread while the ids are read: both mostly wait for the disk
        without the interpreter (0.25-0.4 s and 0.1-0.2 s cold at 200,000 photos)."""
        meta = read_sidecar(self._sidecar_path)
        if meta is None or meta.get("model") != self.model or meta.get("generation") != generation:
            return False
        saved = load_fingerprints(self._fingerprint_path, meta.get("fingerprints"))
        if saved is None or len(saved) <= self.exact_max:
            return False
        verifying = _VERIFIER.submit(verify_graph, self._graph_path, meta)
        ids = self.store.vector_ids(self.model)
        if len(ids) != len(saved) or not np.array_equal(ids, np.fromiter(sorted(saved), np.int64, len(saved))):
            return False
        one = self.store.vector(int(ids[0]), self.model)
        if one is None or meta["dim"] != len(one):
            return False
        graph = self._read_graph(meta, len(ids), verifying)
        if graph is None:
            return False
        self._ids, self._mat, self._fps = ids, None, saved
        graph.set_ef(search_width(len(ids)))
        self._hnsw = graph
        self._saved_generation = generation
        return True

    def _read_graph(self, meta: dict, count: int, verifying: "cf.Future | None" = None):
        """The saved graph file, verified (size, header, checksum; `verifying` where that was
        started already) before hnswlib reads it; None where it is unusable (the caller rebuilds
        it from the library)."""
        import hnswlib

        problem = verify_graph(self._graph_path, meta) if verifying is None else verifying.result()
        if problem is not None:
            log.warning("the vector index %s is unusable: %s; rebuilding it from the library", self._graph_path,
                        problem)
            return None
        try:
            graph = hnswlib.Index(space="cosine", dim=meta["dim"])
            graph.load_index(str(self._graph_path), max_elements=max(count, meta["count"]),
                             allow_replace_deleted=True)
        except (RuntimeError, ValueError, MemoryError) as e:
            log.warning("the vector index %s could not be loaded (%s); rebuilding it", self._graph_path, e)
            return None
        self._deleted = {int(i) for i in meta.get("deleted", [])}
        return graph

    def _open_graph(self, ids: np.ndarray, mat: np.ndarray, generation: int):
        """The saved graph, verified before hnswlib reads it, and caught up with the database."""
        meta = read_sidecar(self._sidecar_path)
        if meta is None or meta["dim"] != mat.shape[1] or meta.get("model") != self.model:
            return None
        graph = self._read_graph(meta, len(ids))
        if graph is None:
            return None
        now = fingerprints(mat)
        saved = load_fingerprints(self._fingerprint_path, meta.get("fingerprints"))
        if meta["generation"] != generation or saved is None:
            self._catch_up(graph, ids, mat, now, saved)
        else:
            self._saved_generation = generation
        self._fps = dict(zip(ids.tolist(), now.tolist()))
        graph.set_ef(search_width(len(ids)))
        return graph

    def _catch_up(self, graph, ids: np.ndarray, mat: np.ndarray, now: np.ndarray,
                  saved: dict[int, int] | None) -> None:
        """Apply what changed in the database since the graph was saved: new photos added,
        gone ones marked deleted, re-embedded ones (same id, another vector) replaced. The saved
        fingerprints say which were re-embedded; without them each vector is read back."""
        live = set(int(i) for i in graph.get_ids_list()) - self._deleted
        wanted = set(ids.tolist())
        gone = live - wanted
        for pid in gone:
            graph.mark_deleted(pid)
        self._deleted |= gone
        common = np.fromiter(sorted(live & wanted), np.int64)
        changed: list[int] = []
        if len(common) and saved is not None:
            rows = np.searchsorted(ids, common)
            changed = [int(i) for i, fp in zip(common.tolist(), now[rows].tolist()) if saved.get(i) != fp]
        elif len(common):
            rows = np.searchsorted(ids, common)
            have = np.asarray(graph_items(graph, common), np.float32)
            want = mat[rows] / np.maximum(np.linalg.norm(mat[rows], axis=1, keepdims=True), 1e-12)
            # float16 storage differs from the graph's float32 copy by ~1e-3; a new embedding by far more
            changed = common[np.abs(have - want).max(axis=1) > CHANGED_TOLERANCE].tolist()
        new = sorted((wanted - live) | set(changed))
        if new:
            self._add(graph, {pid: mat[np.searchsorted(ids, pid)] for pid in new})
        if gone or new:
            log.info("vector index caught up: %d added or replaced, %d deleted", len(new), len(gone))

    def _add(self, graph, added: dict[int, np.ndarray]) -> None:
        need = graph.get_current_count() + len(added)
        if need > graph.get_max_elements():
            graph.resize_index(int(need * 1.5))
        labels = list(added)
        vecs = np.stack([added[i] for i in labels]).astype(np.float32)
        revived = [i for i in labels if i in self._deleted]
        for pid in revived:
            graph.unmark_deleted(pid)  # an id SQLite gave again: its slot is reused for the new vector
        graph.add_items(vecs, labels)
        self._deleted -= set(labels)

    def _build(self, ids: np.ndarray, mat: np.ndarray, generation: int):
        import hnswlib

        graph = hnswlib.Index(space="cosine", dim=mat.shape[1])
        graph.init_index(max_elements=max(len(ids), 1), ef_construction=HNSW_EF_CONSTRUCTION, M=HNSW_M,
                         allow_replace_deleted=True)
        graph.add_items(mat, ids)
        graph.set_ef(search_width(len(ids)))
        self._deleted = set()
        self._fps = dict(zip(ids.tolist(), fingerprints(mat).tolist()))
        self._save_graph(graph, generation, len(ids), mat.shape[1])
        return graph

    def _save_graph(self, graph, generation: int, count: int, dim: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        ids = np.fromiter(self._fps.keys(), np.int64, len(self._fps))
        digest = save_fingerprints(self._fingerprint_path, ids,
                                   np.fromiter(self._fps.values(), np.uint64, len(self._fps)))
        save_graph(graph, self._graph_path, self._sidecar_path,
                   {"model": self.model, "generation": generation, "count": count, "dim": dim,
                    "deleted": sorted(self._deleted), "fingerprints": digest})
        self._saved_generation = generation

    def build_from(self, ids: np.ndarray, mat: np.ndarray) -> None:
        """Index these vectors directly (benchmarks; not tied to the database)."""
        with self._lock:
            self._ids = ids
            if len(ids) <= self.exact_max:
                self._mat, self._hnsw = mat, None
            else:
                import hnswlib

                graph = hnswlib.Index(space="cosine", dim=mat.shape[1])
                graph.init_index(max_elements=len(ids), ef_construction=HNSW_EF_CONSTRUCTION, M=HNSW_M)
                graph.add_items(mat, ids)
                graph.set_ef(search_width(len(ids)))
                self._mat, self._hnsw = None, graph
            self._loaded_generation = DETACHED

    # -- incremental updates ----------------------------------------------------------------

    def apply(self, added: dict[int, np.ndarray], removed: list[int], generation: int) -> None:
        """Fold one committed batch in without a rebuild."""
        with self._lock:
            if self._loaded_generation < 0:
                return  # not loaded yet: the first search loads the current state
            if self._hnsw is None:
                keep = ~np.isin(self._ids, list(added) + list(removed))
                new_ids = np.fromiter(added.keys(), np.int64, len(added))
                new_vecs = np.stack(list(added.values())).astype(np.float32) if added else None
                self._ids = np.concatenate([self._ids[keep], new_ids])
                if self._mat is not None and self._mat.size:
                    parts = [self._mat[keep]] + ([new_vecs] if new_vecs is not None else [])
                    self._mat = np.concatenate(parts) if parts else self._mat
                else:
                    self._mat = new_vecs if new_vecs is not None else np.zeros((0, 0), np.float32)
                if len(self._ids) > self.exact_max:
                    self._loaded_generation = -1  # grown past exact search: build the graph next time
                    return
            else:
                for pid in removed:
                    self._fps.pop(int(pid), None)
                    if int(pid) in self._deleted:
                        continue
                    try:
                        self._hnsw.mark_deleted(int(pid))
                        self._deleted.add(int(pid))
                    except RuntimeError:
                        pass  # never indexed
                if added:
                    self._add(self._hnsw, added)
                    self._fps.update(zip(added, fingerprints(np.stack(list(added.values()))).tolist()))
                present = set(self._ids.tolist()) - set(removed)
                present.update(added)
                self._ids = np.fromiter(sorted(present), np.int64, len(present))
            self._loaded_generation = generation

    def save(self) -> None:
        with self._lock:
            if self._hnsw is not None and self._loaded_generation >= 0 \
                    and self._loaded_generation != self._saved_generation:
                self._save_graph(self._hnsw, self._loaded_generation, len(self._ids), self._hnsw.dim)

    # -- search -----------------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        """True once the index was loaded (read from its saved graph, built, or held exactly)
        and has not been marked to load again since (as when it grows past exact search). It
        does not look at the database: ensure_loaded does."""
        return self._loaded_generation != -1

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def exact(self) -> bool:
        return self._hnsw is None

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The k nearest photos to a unit query vector, as (photo id, cosine similarity)."""
        self.ensure_loaded()
        with self._lock:
            n = len(self._ids)
            if n == 0 or k <= 0:
                return []
            k = min(k, n)
            q = np.asarray(query, np.float32).reshape(-1)
            if self._hnsw is None:
                scores = self._mat @ q
                top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
                top = top[np.argsort(-scores[top], kind="stable")]
                return [(int(self._ids[i]), float(scores[i])) for i in top]
            labels, dist = self._hnsw.knn_query(q, k=k)
            return [(int(i), float(1.0 - d)) for i, d in zip(labels[0], dist[0])]

    def search_within(self, query: np.ndarray, k: int, candidates: np.ndarray) -> list[tuple[int, float]]:
        """The k nearest among `candidates` (photo ids): the best matches inside a filter, not
        the best overall filtered down. Ids without a vector here are ignored."""
        self.ensure_loaded()
        with self._lock:
            ids = np.intersect1d(self._ids, np.asarray(candidates, np.int64), assume_unique=True)
            if len(ids) == 0 or k <= 0:
                return []
            k = min(k, len(ids))
            q = np.asarray(query, np.float32).reshape(-1)
            if self._hnsw is None and len(ids) * GATHER_SHARE >= len(self._ids):
                # Most photos pass: score them all (no copy of their rows) and drop the rest.
                scores = self._mat @ q
                scores[~np.isin(self._ids, ids)] = -np.inf
                mat, ids = None, self._ids
            elif self._hnsw is None:
                rows = np.searchsorted(self._ids, ids) if _ascending(self._ids) else \
                    np.flatnonzero(np.isin(self._ids, ids))
                mat, ids = self._mat[rows], self._ids[rows]
            elif len(ids) > self.candidate_exact_max:
                wanted = set(ids.tolist())
                try:
                    labels, dist = self._hnsw.knn_query(q, k=k, filter=wanted.__contains__)
                    return [(int(i), float(1.0 - d)) for i, d in zip(labels[0], dist[0])]
                except RuntimeError:  # the walk found fewer than k: score the candidates exactly
                    mat = graph_items(self._hnsw, ids)
            else:
                mat = graph_items(self._hnsw, ids)
            if mat is not None:
                scores = mat @ q
            top = np.argpartition(-scores, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
            top = top[np.argsort(-scores[top], kind="stable")]
            return [(int(ids[i]), float(scores[i])) for i in top]


    def vectors_of(self, ids: list[int]) -> dict[int, np.ndarray]:
        """The vectors the index holds for these photo ids (those it has): no SQLite read."""
        self.ensure_loaded()
        with self._lock:
            wanted = np.asarray(ids, np.int64)
            if self._hnsw is None:
                rows = np.flatnonzero(np.isin(self._ids, wanted))
                return {int(self._ids[r]): self._mat[r] for r in rows}
            present = [i for i in ids if i not in self._deleted]
            if not present:
                return {}
            try:
                mat = graph_items(self._hnsw, present)
            except RuntimeError:  # an id the graph lacks: one at a time, skipping it
                return {i: v for i in present if (v := self._one_item(i)) is not None}
            return dict(zip(present, mat))

    def sample(self, n: int) -> np.ndarray:
        """[<= n, D] the vectors of a seeded sample of n of the photos (all of them where fewer)."""
        self.ensure_loaded()
        with self._lock:
            ids = self._ids
            if len(ids) > n:
                ids = np.sort(np.random.default_rng(0).choice(ids, n, replace=False))
            vecs = self.vectors_of(ids.tolist())
        return np.stack(list(vecs.values())) if vecs else np.zeros((0, 0), np.float32)

    def _one_item(self, pid: int) -> np.ndarray | None:
        try:
            return self._hnsw.get_items([pid], return_type="numpy")[0]
        except RuntimeError:
            return None

    # -- every photo's neighbours (duplicates) ------------------------------------------------

    def graph_neighbours(self, vecs: np.ndarray, k: int, ef: int) -> tuple[np.ndarray, np.ndarray] | None:
        """For each row of `vecs` (unit vectors: the indexed photos' own), its k nearest photos
        in the saved graph as (photo ids [n, k], cosine scores [n, k]), searched with width `ef`
        (narrow suffices for near pairs); None while the index is exact (no graph). The lock is
        taken per chunk, so searches go on in between."""
        self.ensure_loaded()
        labels, sims = [], []
        for start in range(0, len(vecs), NEIGHBOUR_CHUNK):
            with self._lock:
                if self._hnsw is None:
                    return None
                kk = min(k, self._hnsw.get_current_count())
                self._hnsw.set_ef(max(ef, kk))
                try:
                    found, dist = self._hnsw.knn_query(vecs[start:start + NEIGHBOUR_CHUNK], k=kk)
                finally:
                    self._hnsw.set_ef(search_width(len(self._ids)))
            labels.append(found.astype(np.int64))
            sims.append(1.0 - dist)
        if not labels:
            return np.zeros((0, k), np.int64), np.zeros((0, k), np.float32)
        return np.concatenate(labels), np.concatenate(sims)


def _ascending(ids: np.ndarray) -> bool:
    return len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1]))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def graph_items(graph, ids) -> np.ndarray:
    """[len(ids), D] the vectors an hnswlib graph holds for these labels, ITEMS_CHUNK at a time;
    RuntimeError where it lacks one, as get_items."""
    if len(ids) <= ITEMS_CHUNK:
        return graph.get_items(ids, return_type="numpy")
    return np.concatenate([graph.get_items(ids[start:start + ITEMS_CHUNK], return_type="numpy")
                           for start in range(0, len(ids), ITEMS_CHUNK)])
