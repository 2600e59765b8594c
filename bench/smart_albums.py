"""Smart albums at library scale: working one out over the whole library, judging a batch of
newly indexed photos, and working them all out again after a model switch.

    .venv/bin/python bench/smart_albums.py --n 100000 [--new 1000] [--json]

N synthetic photos are written through the store's own code (filtered_search.build: random unit
vectors of the built-in model's size under its name, dates over 2010-2024, one photo in 1000 in
Tokyo, one in four in Paris; each its own content hash). The built-in model embeds the queries
(its text encoder only). Random vectors score near 0, so meaning keeps few photos: these are
figures for the cost, not for quality. Rules: words only, words with a place and a year written
in the query, filters only.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from common import emit
from filtered_search import build
from photolens.engine import Catalog

RULES = {"words": "a dog on the beach", "words, place, year": "a dog on the beach place:Tokyo date:2021",
         "filters only": "place:Paris"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--new", type=int, default=1000, help="photos judged as newly indexed")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    out: dict = {"photos": args.n, "new": args.new}
    with tempfile.TemporaryDirectory() as tmp:
        cat = Catalog(Path(tmp), device="cpu", model="builtin")
        import filtered_search

        filtered_search.MODEL = cat.model.name  # the vectors go under the active model's name
        ids = build(cat.store, args.n, cat.model.dim, rng)
        with cat.store.transaction():
            cat.store.db.conn.executemany("UPDATE photos SET hash = ? WHERE id = ?",
                                          [(f"h{int(i)}", int(i)) for i in ids])
        cat.embedder.embed_text("warm up")
        for name, query in RULES.items():
            start = time.monotonic()
            album = cat.albums.create(name, query=query)
            out[f"create '{name}' s"] = round(time.monotonic() - start, 3)
            out[f"'{name}' photos"] = album.count
        new = ids[-args.new:].tolist()
        start = time.monotonic()
        cat.albums.refresh_smart_albums(new)
        out[f"judge {args.new} new photos, {len(RULES)} albums s"] = round(time.monotonic() - start, 3)
        start = time.monotonic()
        cat.albums.recompute_smart_albums()
        out[f"recompute {len(RULES)} albums (model switch) s"] = round(time.monotonic() - start, 3)
        cat.close()
    emit(out, args.json)


if __name__ == "__main__":
    main()
