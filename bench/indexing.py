"""Indexing throughput against the ideal for this machine, measured in the same run.

    .venv/bin/python bench/indexing.py [--photos 96] [--json]

Makes 12-megapixel JPEGs (4000x3000, quality 90) from the shared photos, then measures:
  decode_ms   one core's time to read, hash, decode and preprocess one photo
  model_ms    one core's time to run the model on one photo (batched, one thread)
  ideal_img_s = cores / (decode + model seconds per photo): every core busy, no overhead
  end_to_end_img_s  a real `index` run (scan, decode pool, batched model, SQLite commits)
  ratio       = end_to_end / ideal
  reindex_share  a second `index` with nothing changed, as a share of the first run's time
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from common import OUT, dataset_photos, emit

import numpy as np
from PIL import Image

WIDTH, HEIGHT = 4000, 3000


def make_large_jpegs(n: int) -> Path:
    folder = OUT / f"jpeg12mp-{n}"
    if folder.is_dir() and len(list(folder.glob("*.jpg"))) == n:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for i, src in enumerate(dataset_photos(n)):
        with Image.open(src) as img:
            img.convert("RGB").resize((WIDTH, HEIGHT), Image.BICUBIC).save(folder / f"{i:05d}.jpg", quality=90)
    return folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=96)
    ap.add_argument("--model", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from photolens.engine import Catalog
    from photolens.engine.embedder import Embedder
    from photolens.engine.imaging import decode_for_model
    from photolens.engine.models import default_model_name, get_model

    folder = make_large_jpegs(args.photos)
    files = sorted(folder.glob("*.jpg"))
    model = get_model(default_model_name(args.model or ""))
    cores = os.cpu_count() or 1

    # One core: decode.
    sample = files[: min(len(files), 24)]
    t = time.perf_counter()
    decoded = [decode_for_model(str(p), model.preprocess) for p in sample]
    decode_s = (time.perf_counter() - t) / len(sample)

    # One core: the model, in the pipeline's batch size.
    single = Embedder(model, "cpu", threads=1)
    batch = np.stack([d.pixels for d in decoded] * 2)[:32]
    single.embed_images(batch[:2])  # warm-up
    t = time.perf_counter()
    single.embed_images(batch)
    model_s = (time.perf_counter() - t) / len(batch)
    single.release()

    ideal = cores / (decode_s + model_s)
    with tempfile.TemporaryDirectory() as lib:
        cat = Catalog(Path(lib), device="cpu", model=model.name)
        cat.add_folder(folder)
        summary = cat.index_all()
        first = summary["seconds"]
        assert summary["embedded"] == len(files), summary
        again = cat.index_all()
        cat.close()
    e2e = len(files) / first
    emit({"photos": len(files), "cores": cores, "model": model.name, "decode_ms": round(decode_s * 1e3, 1),
          "model_ms": round(model_s * 1e3, 1), "ideal_img_s": round(ideal, 2), "end_to_end_img_s": round(e2e, 2),
          "ratio": round(e2e / ideal, 3), "reindex_s": again["seconds"],
          "reindex_share": round(again["seconds"] / first, 4)}, args.json)


if __name__ == "__main__":
    main()
