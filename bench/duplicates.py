"""Finding duplicates at library scale.

    .venv/bin/python bench/duplicates.py [--n 100000] [--baseline-n 10000] [--json]

N synthetic photo embeddings shaped like real ones (bench/search.py's recipe: real embeddings
of shared photos, jittered), 2% of them planted near-copies of another (cosine ~0.95, as the
planted re-encodes of bench/duplicates_accuracy.py score), in a real library database (photo
rows with hashes, vectors). Reports:
- pairs_s: the neighbour pairs above the candidate threshold at N from a graph built for the
  purpose (a library without a saved graph), and recall of the planted copies among them;
- find_s: find_duplicates end to end on that database with the library's own vector index
  (loading vectors, neighbours from its saved graph, groups, the keep rule); the graph is built
  first, as indexing builds it (library_graph_build_s, not part of find_s). The files do not
  exist, so no pixel signature is computed: on real photos each candidate photo costs one small
  decode the first time (ms_per_signature, measured here on shared photos), cached by content;
- the baseline: every pair scored exactly (blocked matrix products) at --baseline-n, and the
  graph's recall of those exact pairs at that size.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from common import dataset_photos, emit

PLANTED_SHARE = 0.02
COPY_NOISE = 0.3  # noise norm relative to the vector: cosine ~0.95 with the original


def real_embeddings(n_photos: int) -> np.ndarray:
    from photolens.engine.embedder import Embedder
    from photolens.engine.imaging import decode_for_model
    from photolens.engine.models import default_model_name, get_model

    model = get_model(default_model_name(""))
    emb = Embedder(model, "cpu")
    photos = dataset_photos(n_photos)
    return np.concatenate([emb.embed_images(np.stack([decode_for_model(str(p), model.preprocess).pixels
                                                      for p in photos[i:i + 32]]))["embedding"]
                           for i in range(0, len(photos), 32)])


def synthetic(real: np.ndarray, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors [n, d], planted pairs [m, 2]): the last m rows are copies of random others."""
    from search import synthetic_vectors

    rng = np.random.default_rng(seed)
    m = int(n * PLANTED_SHARE)
    mat = synthetic_vectors(real, n, seed)
    src = rng.choice(n - m, m, replace=False)
    noise = rng.standard_normal((m, mat.shape[1])).astype(np.float32)
    noise *= COPY_NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
    copies = mat[src] + noise
    mat[n - m:] = copies / np.linalg.norm(copies, axis=1, keepdims=True)
    return mat, np.stack([src, np.arange(n - m, n)], axis=1)


def pair_recall(found: np.ndarray, truth: np.ndarray) -> float:
    have = {tuple(p) for p in np.sort(found, axis=1).tolist()}
    return sum(tuple(p) in have for p in np.sort(truth, axis=1).tolist()) / max(1, len(truth))


def library_with(folder: Path, mat: np.ndarray):
    """A library database holding n photos (rows with hashes) and their embeddings."""
    from photolens.engine.store import Store

    store = Store(folder / "library.db")
    n = len(mat)
    with store.transaction():
        fid = store.add_folder(str(folder / "photos"))
        store.db.conn.executemany(
            "INSERT INTO photos(id, folder_id, path, size, mtime_ns, hash, width, height, status, added_at) "
            "VALUES (?, ?, ?, 1000, 0, ?, 640, 480, 'indexed', 0)",
            [(i + 1, fid, str(folder / "photos" / f"{i}.jpg").encode(), f"h{i}") for i in range(n)])
        store.put_vectors("synthetic", "embedding", zip(range(1, n + 1), mat))
    return store


def _found_and_planted(store, index, planted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The candidate pairs find_duplicates starts from with the library's graph (rows), and the
    planted pairs."""
    from photolens.engine.duplicates import CANDIDATE_MIN, neighbour_pairs

    ids, mat = store.vectors("synthetic")
    pairs, _ = neighbour_pairs(mat / np.linalg.norm(mat, axis=1, keepdims=True), CANDIDATE_MIN, library=(ids, index))
    return pairs, planted


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--baseline-n", type=int, default=10_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from photolens.engine.duplicates import CANDIDATE_MIN, exact_pairs, find_duplicates, graph_pairs, neighbour_pairs
    from photolens.engine.index import VectorIndex
    from photolens.engine.signature import measure

    real = real_embeddings(200)
    photos = dataset_photos(100)
    t = time.perf_counter()
    for p in photos:
        measure(str(p))
    ms_per_signature = (time.perf_counter() - t) / len(photos) * 1e3

    mat, planted = synthetic(real, args.n)
    t = time.perf_counter()
    pairs, _ = neighbour_pairs(mat, CANDIDATE_MIN)
    pairs_s = time.perf_counter() - t
    recall = pair_recall(pairs, planted)

    with tempfile.TemporaryDirectory() as tmp:
        store = library_with(Path(tmp), mat)
        index = VectorIndex(store, "synthetic", Path(tmp))
        t = time.perf_counter()
        index.ensure_loaded()
        graph_build_s = time.perf_counter() - t
        t = time.perf_counter()
        groups = find_duplicates(store, "synthetic", index=index)
        find_s = time.perf_counter() - t
        library_recall = pair_recall(*_found_and_planted(store, index, planted))
        store.close()

    small, _ = synthetic(real, args.baseline_n, seed=1)
    t = time.perf_counter()
    exact, _ = exact_pairs(small, CANDIDATE_MIN)
    exact_s = time.perf_counter() - t
    t = time.perf_counter()
    graph, _ = graph_pairs(small, CANDIDATE_MIN)
    graph_small_s = time.perf_counter() - t
    emit({"n": args.n, "dim": int(mat.shape[1]), "planted_pairs": len(planted), "candidate_pairs": len(pairs),
          "pairs_s": round(pairs_s, 2), "planted_recall": round(recall, 4),
          "library_graph_build_s": round(graph_build_s, 1), "find_s": round(find_s, 2),
          "find_planted_recall": round(library_recall, 4), "groups_without_signatures": len(groups),
          "ms_per_signature": round(ms_per_signature, 2),
          "baseline_n": args.baseline_n, "baseline_exact_pairs_s": round(exact_s, 2),
          "baseline_graph_pairs_s": round(graph_small_s, 2),
          "graph_recall_of_exact_pairs": round(pair_recall(graph, exact), 4)}, args.json)


if __name__ == "__main__":
    main()
