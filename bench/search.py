"""Search latency, recall and memory at library scale.

    .venv/bin/python bench/search.py --n 1000000 [--queries 200] [--json]

N synthetic photo vectors shaped like real ones (real image embeddings of the shared photos,
each jittered with noise of the same spread, so the cloud has the real anisotropy rather than
being uniform on the sphere), text queries from real captions encoded by the model. Reports
p50/p95 latency from query text to results, recall@10 of the index against exact search,
resident memory, and the exact-search latency at the same N as the baseline.
rss_mb counts the bench's own float32 input and exact baseline; rss_without_baseline_mb is
measured again after dropping both, and after the model hands back the buffers it keeps
between runs, as the app does once its work is done: the index, the model and the interpreter.
"""
from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from common import DATASETS, dataset_photos, emit, rss_mb


def synthetic_vectors(real: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spread = float(np.std(real - real.mean(0)))
    out = np.empty((n, real.shape[1]), np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        base = real[rng.integers(0, len(real), m)]
        v = base + rng.standard_normal(base.shape).astype(np.float32) * spread * 0.8
        out[start:start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--model", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from photolens.engine.embedder import Embedder
    from photolens.engine.imaging import decode_for_model
    from photolens.engine.index import VectorIndex
    from photolens.engine.models import default_model_name, get_model
    from photolens.engine.store import Store

    model = get_model(default_model_name(args.model or ""))
    emb = Embedder(model, "cpu")
    photos = dataset_photos(300)
    real = np.concatenate([emb.embed_images(np.stack([decode_for_model(str(p), model.preprocess).pixels
                                                      for p in photos[i:i + 32]]))["embedding"]
                           for i in range(0, len(photos), 32)])
    captions = [c for e in json.loads((DATASETS / "flickr8k-dev" / "labels.json").read_text())["images"]
                for c in e["captions"][:1]][: args.queries]
    mat = synthetic_vectors(real, args.n)
    ids = np.arange(1, args.n + 1, dtype=np.int64)
    base_rss = rss_mb()

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "x.db")
        t = time.perf_counter()
        index = VectorIndex(store, model.name, Path(tmp))
        index.build_from(ids, mat)
        build_s = time.perf_counter() - t
        index_rss = rss_mb() - base_rss
        exact = VectorIndex(store, model.name, Path(tmp), exact_max=10**12)
        exact.build_from(ids, mat)

        emb.embed_text("warm up")
        lat, exact_lat, recall = [], [], []
        for text in captions:
            t = time.perf_counter()
            q = emb.embed_text(text)
            hits = index.search(q, 10)
            lat.append(time.perf_counter() - t)
            t = time.perf_counter()
            truth = exact.search(emb.embed_text(text), 10)
            exact_lat.append(time.perf_counter() - t)
            recall.append(len({i for i, _ in hits} & {i for i, _ in truth}) / 10)
        # What the library's own index costs: the bench's float32 input matrix and its exact
        # baseline (each 1.5 GB at 1,000,000 photos) are dropped before measuring again.
        dim, rss_with_baseline = int(mat.shape[1]), rss_mb()
        del exact, mat
        gc.collect()
        emb.release_memory()  # as the app does once its indexing is done (Catalog.release_memory)
        rss_index_only = rss_mb()
    emit({"n": args.n, "dim": dim, "model": model.name, "index": "exact" if index.exact else "hnsw",
          "build_s": round(build_s, 1), "p50_ms": round(float(np.percentile(lat, 50)) * 1e3, 2),
          "p95_ms": round(float(np.percentile(lat, 95)) * 1e3, 2),
          "exact_p50_ms": round(float(np.percentile(exact_lat, 50)) * 1e3, 2),
          "speedup_vs_exact": round(float(np.percentile(exact_lat, 50) / np.percentile(lat, 50)), 2),
          "recall_at_10": round(float(np.mean(recall)), 4), "rss_mb": round(rss_with_baseline, 1),
          "rss_without_baseline_mb": round(rss_index_only, 1), "index_mb": round(index_rss, 1)}, args.json)


if __name__ == "__main__":
    main()
