"""Every kind of query at library scale, through the engine's own storage code.

    .venv/bin/python bench/scale.py --n 200000 [--queries 40] [--json]

Builds a synthetic library of N photos in a temporary folder with the engine's own code (the
store's schema and queries, PhotoOutputs.save for every output the built-in model keeps,
auto-tags, dates, cameras, folders): vectors are real outputs of the shared photos, jittered
with noise of their own spread, so the cloud has the real shape. Then, in the same run:

  open_s            a fresh Catalog: open the library and answer the first text search
  text_p50_ms ...   text search; similar (a library photo); focused similar (--focus); a search
                    filtered by date (filtered: one year); each with _p95_ms
  hub_correction_ratio  the same queries once more, alternating: with the hub correction
                    (engine/hubness.py) and no hub value kept (text_no_hub_values_p50_ms) over
                    by similarity alone (text_similarity_only_p50_ms)
  tag_counts_ms     the tag-count query the tag pane makes
  after_add_ms      the first text search after 100 new photos were added
  rss_mb            resident memory at the end; bytes_per_photo: the library folder on disk / N
  build_s           how long building the synthetic library took (not a goal)
One JSON line last.
"""
from __future__ import annotations

import argparse
from datetime import datetime, timezone
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from common import dataset_photos, emit, rss_mb

WORDS = ["dog", "beach", "a child playing", "red car", "mountain lake", "birthday cake", "cat on a sofa",
         "snow", "city street at night", "two people walking", "pizza", "a bicycle", "sunset over water",
         "flowers", "a man riding a horse", "boats in a harbour", "a crowd", "kitchen", "a bird", "forest"]
TAGS = ["dog", "person", "beach", "car", "tree", "water", "sky", "grass", "building", "cat", "food", "snow"]
CAMERAS = ["Canon EOS 80D", "Google Pixel 7", "Apple iPhone 12", "NIKON D750", None]
CHUNK = 5_000  # photos per transaction while building


def real_outputs(model, n_photos: int = 96):
    """The built-in model's outputs for real photos (the seed of the synthetic cloud)."""
    from photolens.engine.embedder import Embedder
    from photolens.engine.indexer import decode_photo, embed_decoded

    emb = Embedder(model, "cpu")
    photos = dataset_photos(n_photos)
    parts = [embed_decoded(emb, [decode_photo(model, str(p)) for p in photos[i:i + 16]])
             for i in range(0, len(photos), 16)]
    emb.release()
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def jitter(real: np.ndarray, n: int, rng, unit: bool) -> np.ndarray:
    flat = real.reshape(len(real), -1)
    base = flat[rng.integers(0, len(flat), n)]
    spread = float(np.std(flat - flat.mean(0)))
    v = base + rng.standard_normal(base.shape).astype(np.float32) * spread * 0.8
    if unit:
        v /= np.linalg.norm(v, axis=1, keepdims=True)
    else:
        v = np.maximum(v, 0)  # CNN features and probabilities are not negative
    return v.reshape((n, *real.shape[1:]))


def add_synthetic_photos(cat, folder: Path, start: int, n: int, real: dict, rng) -> list[int]:
    """n photos through the store's own code: rows, every stored output, tags, dates, cameras."""
    from photolens.engine.hintstore import HINT_TERMS, TagHints
    from photolens.engine.metadata import PhotoMetadata
    from photolens.engine.metastore import record_metadata
    from photolens.engine.outputs import STORED_KINDS, PhotoOutputs

    store, model = cat.store, cat.model.name
    folder_id = next((f.id for f in cat.folders() if f.path == str(folder)), None)
    if folder_id is None:
        folder_id = store.add_folder(str(folder))
    tagger = cat.tagger
    ids: list[int] = []
    for lo in range(start, start + n, CHUNK):
        m = min(CHUNK, start + n - lo)
        outputs = PhotoOutputs(**{k: jitter(real[k], m, rng, unit=(k == "embedding"))
                                  for k in real if k in STORED_KINDS})
        with store.transaction():
            chunk, dates = [], []
            for i in range(lo, lo + m):
                pid = store.add_photo(folder_id, str(folder / f"{i // 1000:04d}" / f"IMG_{i:07d}.jpg"), 2_500_000 + i,
                                      1_600_000_000_000_000_000 + i * 10**9)
                taken = 1.3e9 + float(rng.integers(0, 4e8))
                store.record_indexed(pid, f"{i:064x}", {"width": 4000, "height": 3000, "taken": taken,
                                                        "camera": CAMERAS[i % len(CAMERAS)],
                                                        "gps_lat": None, "gps_lon": None})
                chunk.append(pid)
                # the date as the indexer records it (filters read the local date taken)
                dates.append((pid, PhotoMetadata(taken_local=datetime.fromtimestamp(taken, timezone.utc).replace(
                    tzinfo=None), tz_offset=0, date_source="exif", camera=CAMERAS[i % len(CAMERAS)])))
            record_metadata(store, dates)
            outputs.save(store, model, chunk)
            picks = rng.integers(0, len(TAGS), (m, 4))
            store.replace_auto_tags(model, [(pid, [(TAGS[t], 0.5 + 0.1 * j) for j, t in enumerate(set(row))])
                                            for pid, row in zip(chunk, picks.tolist())])
            if tagger is not None:
                store.mark_tagged(chunk, tagger.identity)
                # Search hints as the tagger writes them: HINT_TERMS terms a photo.
                terms = rng.integers(0, len(tagger.words), (m, HINT_TERMS))
                TagHints(store).replace([(pid, [(tagger.words[t], 0.01 + 0.9 * float(p)) for t, p in
                                                zip(set(row), rng.random(len(row)))])
                                         for pid, row in zip(chunk, terms.tolist())])
            generation = store.bump_generation(model)
        ids += chunk
        if cat._index is not None:  # a library in use takes its new photos in (as the indexer does)
            cat.index.apply(dict(zip(chunk, outputs.embedding)), [], generation)
    return ids


def timed(fn, repeats: list) -> list[float]:
    out = []
    for arg in repeats:
        t = time.perf_counter()
        fn(arg)
        out.append((time.perf_counter() - t) * 1e3)
    return out


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--keep", type=Path, help="build (or reuse) the library here instead of a temporary folder")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from photolens.engine import Catalog

    tmp = Path(tempfile.mkdtemp(prefix="photolens-scale-")) if args.keep is None else args.keep
    library, photos = tmp / "library", tmp / "photos"
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    with Catalog(library, device="cpu") as cat:
        have = cat.status().photos
        if have < args.n:
            real = real_outputs(cat.model)
            add_synthetic_photos(cat, photos, have, args.n - have, real, rng)
            cat.index.ensure_loaded()  # the vector graph is built once, and saved on close, as indexing leaves it
    # A kept library measured again (--keep) is only opened above: the process then holds no
    # graph of its own before the timed open, so rss_mb is what an opened library costs.
    build_s = time.perf_counter() - t
    base_rss = rss_mb()

    t = time.perf_counter()
    cat = Catalog(library, device="cpu")
    cat.search("a dog on the beach", k=50)
    open_s = time.perf_counter() - t
    try:
        queries = [WORDS[i % len(WORDS)] + ("" if i < len(WORDS) else f" {i}") for i in range(args.queries)]
        subjects = [int(x) for x in rng.integers(1, args.n, args.queries)]
        text = timed(lambda q: cat.search(q, k=50), queries)
        text_plain, text_cold = hub_cost(cat, queries)
        similar = timed(lambda pid: cat.similar(pid, k=50), subjects)
        focused = timed(lambda pid: cat.similar(pid, k=50, focus="dog"), subjects[: max(5, args.queries // 4)])
        filtered = timed(lambda q: filtered_search(cat, q), queries)
        tag_counts = timed(lambda _: cat.tag_counts(), range(5))
        real = real_outputs(cat.model, 32)
        add_synthetic_photos(cat, photos, cat.status().photos, 100, real, rng)  # after any earlier run's
        t = time.perf_counter()
        cat.search("a red car", k=50)
        after_add_ms = (time.perf_counter() - t) * 1e3
        rss = rss_mb()
    finally:
        cat.close()
    size = sum(p.stat().st_size for p in library.rglob("*") if p.is_file())
    result = {"n": args.n, "build_s": round(build_s, 1), "open_s": round(open_s, 3),
              "text_p50_ms": pct(text, 50), "text_p95_ms": pct(text, 95),
              # Text search with the hub correction (engine/hubness.py) against without it.
              "text_similarity_only_p50_ms": pct(text_plain, 50), "text_no_hub_values_p50_ms": pct(text_cold, 50),
              "hub_correction_ratio": round(pct(text_cold, 50) / max(pct(text_plain, 50), 1e-9), 3),
              "similar_p50_ms": pct(similar, 50), "similar_p95_ms": pct(similar, 95),
              "focused_p50_ms": pct(focused, 50), "focused_p95_ms": pct(focused, 95),
              "filtered_p50_ms": pct(filtered, 50), "filtered_p95_ms": pct(filtered, 95),
              "tag_counts_ms": pct(tag_counts, 50), "after_add_ms": round(after_add_ms, 1),
              "rss_mb": round(rss, 1), "rss_before_open_mb": round(base_rss, 1),
              "bytes_per_photo": round(size / (args.n + 100))}
    if args.keep is None:
        shutil.rmtree(tmp, ignore_errors=True)
    emit(result, args.json)


def hub_cost(cat, queries: list[str]) -> tuple[list[float], list[float]]:
    """The same queries again (every cache warm from the timed run before), alternating: by
    similarity alone, then with the hub correction and no hub value kept (its worst case: each
    photo's vector fetched and scored against the bank)."""
    plain, cold = [], []
    for q in queries:
        cat.searcher.correct_hubs = False
        plain += timed(lambda x: cat.search(x, k=50), [q])
        cat.searcher.correct_hubs = True
        cat.searcher.forget_hub_values()
        cold += timed(lambda x: cat.search(x, k=50), [q])
    return plain, cold


def filtered_search(cat, query: str):
    """A search within a date range (one year of the library's ten), through the catalog's
    filters: the best matches inside the filter, not the best overall filtered down."""
    from datetime import date

    from photolens.engine.filters import Filters

    return cat.search(query, k=50, filters=Filters(date_from=date(2015, 1, 1), date_to=date(2015, 12, 31)))


if __name__ == "__main__":
    main()
