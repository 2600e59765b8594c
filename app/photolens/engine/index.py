"""The vector index: exact numpy search for small libraries, hnswlib (cosine) for large ones.

Both answer over the same photo ids with the same scores (cosine similarity), so the ranking
is the same either way within HNSW's recall. The HNSW graph is saved next to the database with
a sidecar recording which generation of the model's vectors it holds; a missing, corrupt or
stale file is rebuilt from SQLite.
"""
from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np

from .fsutil import atomic_write_text
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


def search_width(n: int) -> int:
    return int(min(HNSW_EF_MAX, max(HNSW_EF_MIN, n * HNSW_EF_PER_VECTOR)))


DETACHED = -2  # built from vectors handed in (benchmarks), not from the database


class VectorIndex:
    """One model's vectors, searchable by cosine similarity. Thread-safe."""

    def __init__(self, store: Store, model: str, folder: Path, exact_max: int = EXACT_MAX):
        self.store = store
        self.model = model
        self.folder = Path(folder)
        self.exact_max = exact_max
        self._lock = threading.RLock()
        self._ids = np.zeros(0, np.int64)
        self._mat: np.ndarray | None = None  # exact mode: [N, D] float32 unit vectors
        self._hnsw = None
        self._loaded_generation = -1

    # -- files ------------------------------------------------------------------------------

    @property
    def _graph_path(self) -> Path:
        return self.folder / f"index-{_safe(self.model)}.hnsw"

    @property
    def _sidecar_path(self) -> Path:
        return self.folder / f"index-{_safe(self.model)}.json"

    # -- loading ----------------------------------------------------------------------------

    def ensure_loaded(self) -> None:
        """Load (or rebuild) if the database has moved on since we last looked."""
        if self._loaded_generation == DETACHED:
            return
        generation = self.store.generation(self.model)
        with self._lock:
            if generation != self._loaded_generation:
                self._load(generation)

    def _load(self, generation: int) -> None:
        ids, mat = self.store.vectors(self.model)
        self._ids = ids
        if len(ids) <= self.exact_max:
            self._mat, self._hnsw = mat, None
        else:
            self._mat = None
            self._hnsw = self._open_graph(generation, len(ids), mat.shape[1]) or self._build(ids, mat, generation)
        self._loaded_generation = generation

    def _open_graph(self, generation: int, count: int, dim: int):
        import hnswlib

        try:
            meta = json.loads(self._sidecar_path.read_text())
            if meta.get("generation") != generation or meta.get("count") != count or meta.get("dim") != dim:
                return None
            graph = hnswlib.Index(space="cosine", dim=dim)
            graph.load_index(str(self._graph_path), max_elements=count)
            graph.set_ef(search_width(count))
            return graph
        except (OSError, ValueError, RuntimeError) as e:
            log.info("vector index %s unusable (%s); rebuilding from the database", self._graph_path, e)
            return None

    def _build(self, ids: np.ndarray, mat: np.ndarray, generation: int):
        import hnswlib

        graph = hnswlib.Index(space="cosine", dim=mat.shape[1])
        graph.init_index(max_elements=max(len(ids), 1), ef_construction=HNSW_EF_CONSTRUCTION, M=HNSW_M,
                         allow_replace_deleted=True)
        graph.add_items(mat, ids)
        graph.set_ef(search_width(len(ids)))
        self._save_graph(graph, generation, len(ids), mat.shape[1])
        return graph

    def _save_graph(self, graph, generation: int, count: int, dim: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self._graph_path.with_suffix(".tmp")
        graph.save_index(str(tmp))
        tmp.replace(self._graph_path)
        atomic_write_text(self._sidecar_path, json.dumps(
            {"model": self.model, "generation": generation, "count": count, "dim": dim}))

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
                    try:
                        self._hnsw.mark_deleted(int(pid))
                    except RuntimeError:
                        pass  # never indexed
                if added:
                    need = self._hnsw.get_current_count() + len(added)
                    if need > self._hnsw.get_max_elements():
                        self._hnsw.resize_index(int(need * 1.5))
                    self._hnsw.add_items(np.stack(list(added.values())), list(added.keys()), replace_deleted=True)
                present = set(self._ids.tolist()) - set(removed)
                present.update(added)
                self._ids = np.fromiter(sorted(present), np.int64, len(present))
            self._loaded_generation = generation

    def save(self) -> None:
        with self._lock:
            if self._hnsw is not None and self._loaded_generation >= 0:
                self._save_graph(self._hnsw, self._loaded_generation, len(self._ids), self._hnsw.dim)

    # -- search -----------------------------------------------------------------------------

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


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
