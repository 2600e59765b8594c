"""Filtered search at library scale: resolving filters to candidates, and the best matches
inside them, against exact scores over the same candidates.

    .venv/bin/python bench/filtered_search.py --n 100000 [--dim 384] [--graph] [--json]

N synthetic photos are written through the store's own code (random unit vectors; dates
spread over 2010-2024; one photo in SHARE in Tokyo, one in four in Paris). For each filter:
the time to find the candidate ids (SQL over the indexed columns) and to search within them
(p50 over the queries), and recall@10 against exact search over the candidates. With --graph
the index is an HNSW graph (as above EXACT_MAX photos); otherwise exact.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np

from common import emit
from photolens.engine.filters import Filters
from photolens.engine.index import VectorIndex
from photolens.engine.metadata import PhotoMetadata
from photolens.engine.metastore import known_places, matching_ids, record_metadata, record_places
from photolens.engine.places import Place
from photolens.engine.store import Store

TOKYO_SHARE = 1000  # one photo in this many is in Tokyo: a narrow filter
MODEL = "bench"


def build(store: Store, n: int, dim: int, rng) -> np.ndarray:
    with store.transaction():
        folder = store.add_folder("/bench")
        ids = np.array([store.add_photo(folder, f"/bench/{i}.jpg", 1, 1) for i in range(n)], np.int64)
        store.db.conn.executemany("UPDATE photos SET status = 'indexed' WHERE id = ?", [(int(i),) for i in ids])
        for start in range(0, n, 50_000):
            v = rng.standard_normal((min(50_000, n - start), dim)).astype(np.float32)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            store.put_vectors(MODEL, "embedding", zip(ids[start:start + len(v)].tolist(), v))
        days = rng.integers(0, 15 * 365, n)
        record_metadata(store, [(int(i), PhotoMetadata(datetime.fromordinal(date(2010, 1, 1).toordinal() + int(d)),
                                                        None, "exif", None)) for i, d in zip(ids, days)])
        tokyo, paris = ids[::TOKYO_SHARE], ids[1::4]
        record_places(store, [(int(i), Place("Shinjuku", "Tokyo", "Japan", "JP")) for i in tokyo])
        record_places(store, [(int(i), Place("Paris", "Île-de-France", "France", "FR")) for i in paris])
        store.bump_generation(MODEL)
    return ids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--graph", action="store_true", help="search an HNSW graph (else exact)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "library.db")
        start = time.monotonic()
        build(store, args.n, args.dim, rng)
        built = time.monotonic() - start
        index = VectorIndex(store, MODEL, Path(tmp), exact_max=0 if args.graph else args.n + 1)
        start = time.monotonic()
        index.ensure_loaded()
        loaded = time.monotonic() - start
        ids, mat = store.vectors(MODEL)
        queries = mat[rng.integers(0, len(ids), args.queries)]
        filters = {"tokyo": Filters(place="Tokyo"), "year_2019": Filters(date_from=date(2019, 1, 1),
                                                                          date_to=date(2019, 12, 31)),
                   "paris": Filters(place="Paris"), "paris_2019": Filters(place="Paris", date_from=date(2019, 1, 1),
                                                                          date_to=date(2019, 12, 31))}
        out = {"n": args.n, "dim": args.dim, "index": "hnsw" if args.graph else "exact",
               "library_seconds": round(built, 1), "index_seconds": round(loaded, 1)}
        places = known_places(store)  # as the catalog keeps them between searches
        for name, f in filters.items():
            times_sql, times_search, recalls = [], [], []
            for q in queries:
                t0 = time.monotonic()
                cand = matching_ids(store, f, places)
                t1 = time.monotonic()
                hits = index.search_within(q, 10, cand)
                t2 = time.monotonic()
                times_sql.append(t1 - t0)
                times_search.append(t2 - t1)
                rows = np.searchsorted(ids, cand)
                truth = set(cand[np.argsort(-(mat[rows] @ q))[:10]].tolist())
                recalls.append(len(truth & {i for i, _ in hits}) / len(truth))
            out[name] = {"candidates": int(len(cand)), "filter_ms_p50": round(1000 * float(np.median(times_sql)), 2),
                         "search_ms_p50": round(1000 * float(np.median(times_search)), 2),
                         "recall_at_10": round(float(np.mean(recalls)), 3)}
        store.close()
    emit(out, args.json)


if __name__ == "__main__":
    main()
