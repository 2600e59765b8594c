"""A photo's pixel signature: is this the same photo, resized, re-encoded or lightly cropped?

The model's vectors say what a photo shows, and a half-size re-encode of a photo can score
lower against it than another shot of the same scene does (bench/duplicates_accuracy.py: CNN
features 0.80 for the weakest planted re-encode, 0.93 for a 70% crop of the same photo). A tiny
grey thumbnail tells them apart: it ignores scale and JPEG noise but not framing. Two are
kept per photo, of the whole frame and of its central 92%, so a light crop matches its original.
The same decode gives the photo's sharpness, which picks the copy to keep among equals.

Both are computed on demand, only for photos whose vectors already say "maybe the same", and
cached by content hash (a moved photo keeps them; an edited one is measured again).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .errors import ImageError
from .imaging import open_image
from .reading import open_regular
from .store import MAX_PARAMS, Store

__all__ = ["PixelStats", "measure", "signature_similarity", "pixel_stats_for"]

# Side of the grey thumbnail: small enough that JPEG noise and resampling average out, large
# enough that a shifted frame does not (16: the planted copies score >= 0.99, 70% crops of the
# same photo <= 0.90).
SIGNATURE_SIDE = 16
# The central share of the frame in the second signature: a crop this light matches it.
CROP_SHARE = 0.92
# Sharpness is measured on a grey thumbnail this size: enough to see focus, cheap to decode
# (a JPEG is drafted down to it by DCT scaling).
SHARPNESS_SIZE = 256
# Bump when the recipe changes: cached values of another version are measured again.
STATS_VERSION = 1


@dataclass(frozen=True)
class PixelStats:
    signature: np.ndarray  # float32[2, SIGNATURE_SIDE**2]: zero-mean unit grey thumbnails
    sharpness: float  # variance of the Laplacian of the grey thumbnail: higher is sharper


def measure(path: str) -> PixelStats | None:
    """Decode once (EXIF orientation applied) and measure; None if the file cannot be decoded."""
    try:
        with open_regular(path) as f:
            img = open_image(path, f, min_size=SHARPNESS_SIZE).convert("L")
    except (ImageError, OSError):
        return None
    w, h = img.size
    sigs = []
    for share in (1.0, CROP_SHARE):
        cw, ch = w * share, h * share
        box = ((w - cw) / 2, (h - ch) / 2, (w + cw) / 2, (h + ch) / 2)
        a = np.asarray(img.resize((SIGNATURE_SIDE, SIGNATURE_SIDE), Image.BOX, box=box), np.float32).ravel()
        a -= a.mean()
        norm = float(np.linalg.norm(a))
        sigs.append(a / norm if norm > 0 else a)  # a flat grey frame matches nothing
    scale = SHARPNESS_SIZE / max(w, h)
    if scale < 1:
        img = img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.BOX)
    g = np.asarray(img, np.float32)
    sharp = 0.0
    if g.shape[0] >= 3 and g.shape[1] >= 3:
        lap = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4 * g[1:-1, 1:-1]
        sharp = float(lap.var())
    return PixelStats(np.stack(sigs), sharp)


def signature_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """How alike two signatures are (1: same pixels): the best of whole against whole and of
    either's central crop against the other's whole frame."""
    return float(max(a[0] @ b[0], a[1] @ b[0], a[0] @ b[1]))


def pixel_stats_for(store: Store, photos: dict[int, tuple[str, str | None]]) -> dict[int, PixelStats]:
    """Stats of photos given as id -> (path, content hash): cached ones read, the others
    measured and cached. Photos that cannot be decoded are left out."""
    hashes = sorted({h for _, h in photos.values() if h})
    cached: dict[str, PixelStats] = {}
    for start in range(0, len(hashes), MAX_PARAMS):
        chunk = hashes[start:start + MAX_PARAMS]
        marks = ",".join("?" * len(chunk))
        for h, blob, sharp in store.query(f"SELECT hash, sig, sharpness FROM photo_signatures "
                                          f"WHERE version = ? AND hash IN ({marks})", [STATS_VERSION, *chunk]):
            cached[h] = PixelStats(np.frombuffer(blob, np.float16).astype(np.float32).reshape(2, -1), sharp)
    out, new = {}, []
    for pid, (path, h) in photos.items():
        stats = cached.get(h) if h else None
        if stats is None:
            stats = measure(path)
            if stats is None:
                continue
            if h:
                cached[h] = stats
                new.append((h, STATS_VERSION, stats.signature.astype(np.float16).tobytes(), stats.sharpness))
        out[pid] = stats
    if new:
        with store.transaction():
            store.db.conn.executemany("INSERT OR REPLACE INTO photo_signatures(hash, version, sig, sharpness) "
                                      "VALUES (?, ?, ?, ?)", new)
    return out
