"""The built model's outputs for the photos that calibrate the auto-tags' terms, cached.

    .venv/bin/python models/tag_outputs.py [--photos 1500]
        -> models/.cache/tag-outputs-<set>-<n>-<build>.npz

Photos go through the built model's own ONNX pipeline (tag views and detail pass included),
exactly as the indexer runs them, so the calibration sees the scores a user's library gets.
Only flickr8k-train (a fixed, evenly spread sample) and coco-mini are read: flickr8k-dev and
coco128 are where `photolens eval` measures.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "app"))
DATASETS = HERE.parent.parent / "shared" / "datasets"
CACHE = HERE / ".cache"
BATCH = 16  # photos per ONNX call: larger batches run faster, this keeps memory small


def sample(name: str, n: int | None) -> list[dict]:
    """Every k-th photo of a set (all of it without n): spread evenly, the same every run."""
    root = DATASETS / name
    entries = [dict(e, path=str(root / e["file"])) for e in json.loads((root / "labels.json").read_text())["images"]]
    if n is None or n >= len(entries):
        return entries
    step = len(entries) / n
    return [entries[int(i * step)] for i in range(n)]


def outputs_for(name: str, n: int | None, model_name: str = "builtin") -> tuple[list[dict], dict[str, np.ndarray]]:
    """(entries, outputs) for a sample of a set, from the cache or computed and cached. The
    cache is kept per build of the model's image graphs (another detail pass, another cache)."""
    from photolens.engine.models import get_model

    model = get_model(model_name)
    entries = sample(name, n)
    build = hashlib.sha256(f"{model.fingerprint}:{model.detail_fingerprint}".encode()).hexdigest()[:8]
    cache = CACHE / f"tag-outputs-{name}-{len(entries)}-{build}.npz"
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        return entries, {k: data[k] for k in data.files}
    from photolens.engine.embedder import Embedder
    from photolens.engine.indexer import decode_photo, embed_decoded

    emb = Embedder(model, "cpu")
    parts, start = [], time.time()
    for i in range(0, len(entries), BATCH):
        parts.append(embed_decoded(emb, [decode_photo(model, e["path"]) for e in entries[i:i + BATCH]]))
        if i % (BATCH * 20) == 0:
            print(f"  {name}: {i}/{len(entries)} photos, {time.time() - start:.0f}s", flush=True)
    out = {k: np.concatenate([p[k] for p in parts]).astype(np.float16) for k in parts[0]}
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return entries, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=1500, help="flickr8k-train photos to calibrate on")
    args = ap.parse_args()
    outputs_for("coco-mini", None)
    outputs_for("flickr8k-train", args.photos)


if __name__ == "__main__":
    main()
