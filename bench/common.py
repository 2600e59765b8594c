"""Shared helpers for the benchmarks: the shared photo sets and resident memory."""
from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Another machine (a GPU lent for a run) has the photo sets elsewhere: PHOTOLENS_DATASETS.
DATASETS = Path(os.environ.get("PHOTOLENS_DATASETS") or ROOT.parent / "shared" / "datasets")
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT / "app"))


SETS = ("coco-mini", "coco128", "flickr8k-dev")


def dataset_photos(limit: int | None = None, sets: tuple[str, ...] = SETS) -> list[Path]:
    photos: list[Path] = []
    for name in sets:
        folder = DATASETS / name / "images"
        if folder.is_dir():
            photos += sorted(folder.rglob("*.jpg"))
    if not photos:
        raise SystemExit(f"no photos under {DATASETS}: the benchmarks read the shared photo sets")
    return photos[:limit]


def distinct_copy(src: Path, dest: Path, tag: str) -> bytes:
    """A copy with a few unique trailing bytes, which JPEG decoders ignore: every copy has its
    own content hash, so none is taken for a moved photo and all are embedded. Returns the bytes."""
    data = src.read_bytes() + tag.encode()
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return data


def rss_mb() -> float:
    """Current resident memory in MB (from /proc where it exists, else the peak)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def emit(result: dict, as_json: bool) -> None:
    if not as_json:
        for k, v in result.items():
            print(f"{k:>22}: {v}")
    print(json.dumps(result))
