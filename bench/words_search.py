"""Word search latency at library scale (the words side of a search; the meaning side is
bench/search.py).

    .venv/bin/python bench/words_search.py --n 100000 [--json]

N word rows in a real library database: a quarter of the photos with text (3 or 8 words drawn
from a 20,000-word made-up vocabulary), every photo with a file name and one of four folder
names. Reports the time per query, averaged over three runs, for words absent from the library,
a sentence, three words, a phrase, and a folder word in a quarter of the photos.
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from common import emit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from photolens.engine.store import Store  # noqa: E402
from photolens.engine.words import WordStore  # noqa: E402
from photolens.engine.wordsearch import parse_words, search_words  # noqa: E402

QUERIES = ("zorblax", "dog running on the beach with a ball", "receipt hardware store", '"open 24 hours"',
           "birthday", "kazum")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rng = random.Random(0)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(20_000)]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "library.db")
        words = WordStore(store)
        with store.transaction():
            for i in range(1, args.n + 1):
                text = " ".join(rng.choice(vocab) for _ in range(rng.choice([0, 0, 0, 0, 3, 8])))
                folder = "Pictures " + rng.choice(["Trip", "Birthday party", "Holiday Kazumbi", "Work"])
                words._put(i, (text, f"IMG {i:05d}", folder, "", ""))
        ms = {}
        for q in QUERIES:
            parsed = parse_words(q)
            search_words(words, parsed)  # warm
            start = time.perf_counter()
            for _ in range(3):
                hits = search_words(words, parsed)
            ms[q] = {"ms": round((time.perf_counter() - start) / 3 * 1000, 1), "hits": len(hits)}
        store.close()
    emit({"photos": args.n, "queries": ms}, args.json)


if __name__ == "__main__":
    main()
