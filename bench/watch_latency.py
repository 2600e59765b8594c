"""How soon is a new photo searchable while `photolens watch` runs? And does a burst keep up?

    .venv/bin/python bench/watch_latency.py [--photos 20] [--burst 1000] [--json]

Starts the real `photolens watch` process on a fresh library, then, like a phone sync, copies
photos from ../shared/datasets into the watched folder one at a time (in 64 KB chunks, a few
seconds apart). For each, the clock runs from the end of the write (file closed) until a second
process (a Catalog opened beside the watcher, as the app would be) sees the photo's vector
committed; each photo is then looked up in the vector index that search reads.

Burst: `--burst N` photos are copied in at once and the time until all are searchable gives the
watcher's throughput; the baseline, measured in the same run, is `index` (Catalog.index_all, in a
warm process like the watcher) over N other photos of the same mix. Keys: `p50_s`, `p95_s`, `max_s`, `burst_img_s`, `index_img_s`,
`burst_ratio`. Goal: p95_s <= 2.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, dataset_photos, distinct_copy, emit

PHOTOLENS = [sys.executable, "-m", "photolens"]


def copy_like_a_sync(src: Path, dest: Path, tag: str) -> float:
    """Writes in chunks with a short pause (a slow copy), closes; returns the close time.
    A unique tail keeps every copy's content distinct, so none is taken for a moved photo."""
    data = src.read_bytes() + tag.encode()  # as common.distinct_copy, but written slowly
    with open(dest, "wb") as f:
        for i in range(0, len(data), 65536):
            f.write(data[i:i + 65536])
            f.flush()
            time.sleep(0.01)
    return time.monotonic()


def wait_searchable(catalog, path: Path, model: str, timeout: float = 30.0) -> float | None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        row = catalog.store.photo_by_path(str(path))
        if row is not None and catalog.store.vector(row.id, model) is not None:
            return time.monotonic()
        time.sleep(0.01)
    return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--gap", type=float, default=2.5, help="seconds between single photos")
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    from photolens.engine import Catalog

    pool = dataset_photos(sets=("coco-mini", "flickr8k-dev", "coco128", "flickr8k-train"))
    work = Path(tempfile.mkdtemp(prefix="photolens-watchbench-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT / "app"), PHOTOLENS_LIBRARY=str(work / "lib"))
    watched = work / "watched"
    watched.mkdir()
    result: dict = {}
    proc = None
    try:
        subprocess.run(PHOTOLENS + ["add", str(watched)], env=env, check=True, capture_output=True)
        proc = subprocess.Popen(PHOTOLENS + ["watch"], env=env, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:  # ready once it says it is watching
            if "watching" in line:
                break
        catalog = Catalog(work / "lib")
        model = catalog.model.name

        latencies = []
        for i in range(args.photos):
            dest = watched / f"single-{i:03d}.jpg"
            closed = copy_like_a_sync(pool[i], dest, f"single-{i}")
            seen = wait_searchable(catalog, dest, model)
            if seen is None:
                raise SystemExit(f"{dest.name} was not searchable within 30 s")
            latencies.append(seen - closed)
            # The vector index that search reads (reloaded when another process changed it)
            # must hold it too: its own vector finds it first.
            row = catalog.store.photo_by_path(str(dest))
            top = catalog.index.search(catalog.store.vector(row.id, model), 1)
            if not top or top[0][0] != row.id:
                raise SystemExit(f"{dest.name} is indexed but not in the vector index that search reads")
            time.sleep(args.gap)
        lat = np.array(latencies)

        if args.burst:
            # Every other photo goes to the burst, the rest to the baseline: the same mix of sizes.
            chunk = pool[args.photos:args.photos + 2 * args.burst + 16]
            staging, other = work / "staging", work / "other"
            for d in (staging, other, work / "warm"):
                d.mkdir()
            for i, src in enumerate(chunk[:2 * args.burst]):
                distinct_copy(src, staging / f"b{i:05d}.jpg" if i % 2 == 0 else other / f"o{i:05d}.jpg", f"burst-{i}")
            for i, src in enumerate(chunk[2 * args.burst:]):
                distinct_copy(src, work / "warm" / f"w{i:02d}.jpg", f"warm-{i}")
            t0 = time.monotonic()
            shutil.copytree(staging, watched / "burst")  # the whole folder arrives at once
            deadline = time.monotonic() + 1200
            while time.monotonic() < deadline:
                n = catalog.store.query("SELECT count(*) FROM vectors WHERE model = ? AND kind = 'embedding'",
                                        [model])[0][0]
                if n >= args.photos + args.burst:
                    break
                time.sleep(0.05)
            burst_s = time.monotonic() - t0
            # Baseline: `index` on the other half, in a warm process (model loaded, as the watcher is).
            base = Catalog(work / "lib-baseline")
            base.add_folder(work / "warm")
            base.index_all(faces=False)  # the watcher does not run the face pass either
            base.add_folder(other)
            t0 = time.monotonic()
            embedded = base.index_all(faces=False)["embedded"]
            index_s = time.monotonic() - t0
            base.close()
            result.update(burst_img_s=round(args.burst / burst_s, 1),
                          index_img_s=round(embedded / index_s, 1),
                          burst_ratio=round((args.burst / burst_s) / (embedded / index_s), 2))
        catalog.close()
        result = {"photos": args.photos, "p50_s": round(float(np.percentile(lat, 50)), 2),
                  "p95_s": round(float(np.percentile(lat, 95)), 2), "max_s": round(float(lat.max()), 2),
                  "min_s": round(float(lat.min()), 2), **result}
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = "killed"
            result["watch_exit"] = code
        shutil.rmtree(work, ignore_errors=True)
    emit(result, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
