"""Make the built-in model's query bank: sentences people write about photos, as text vectors.

Text search corrects each photo's similarity by how close the photo comes to typical queries
(app/photolens/engine/hubness.py). "Typical queries" are PHOTOS captions of flickr8k-train, one
caption from each of that many photos drawn with a fixed seed (never flickr8k-dev: it only
measures), embedded by the built model's text encoder exactly as a query is. Only the vectors are
kept (models/head/builtin-query-bank.npy, float16): the captions are the dataset's, not ours to
ship.

    .venv/bin/python models/make_query_bank.py      (needs models/builtin built)

then rebuild (models/build_builtin.py), calibrate the cut-off (models/calibrate_cutoff.py
--write: it is set on corrected scores), and rebuild again.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from photolens.engine.embedder import Embedder  # noqa: E402
from photolens.engine.models import read_manifest  # noqa: E402

TRAIN = ROOT.parent / "shared" / "datasets" / "flickr8k-train"
OUT = ROOT / "models" / "head" / "builtin-query-bank.npy"
# 2,000 sentences: 1,000 to 10,000 gave the same recall on coco-mini and flickr8k-dev (within
# 0.01, as two seeds differ), and 2,000 x 384 is a 3 ms product for a page of results.
PHOTOS = 2000


def bank_captions(photos: int, seed: int) -> list[str]:
    entries = [e for e in json.loads((TRAIN / "labels.json").read_text())["images"] if e.get("captions")]
    rng = random.Random(seed)
    return [rng.choice(e["captions"]).strip() for e in rng.sample(entries, min(photos, len(entries)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=PHOTOS)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    folder = ROOT / "models" / "builtin"
    embedder = Embedder(read_manifest(folder / "manifest.json", folder), device="cpu")
    vecs = embedder.embed_texts(bank_captions(args.photos, args.seed))
    np.save(args.out, vecs.astype(np.float16))
    print(json.dumps({"out": str(args.out), "sentences": len(vecs), "dim": int(vecs.shape[1])}))


if __name__ == "__main__":
    main()
