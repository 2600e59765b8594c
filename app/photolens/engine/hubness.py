"""Hubs: photos that come close to every sentence, and the correction that puts them back.

A joint space learned from a few thousand captioned photos has hubs: photos that sit near most
sentences, so they rank high for queries that do not describe them and push the photo a query
does describe further down. CSLS (cross-domain similarity local scaling, Conneau et al. 2018,
"Word translation without parallel data") scores a photo against a text query by its similarity
less how close the photo comes to typical queries:

    score = cos(query, photo) - WEIGHT * (hub(photo) - mean)

where hub(photo) is the mean of the photo's K best similarities to a bank of sentences people
write about photos (the model's `query_bank`: training captions, embedded by the model's own
text encoder), and `mean` is hub() over the library's photos (a sample of LIBRARY_SAMPLE at
most), so that scores keep their scale whatever the library holds: the cut-off means the same in
a library of snapshots and in one of scans. K = 10 and WEIGHT = 0.5 are the method's own (its
score is 2 cos - hub(query) - hub(photo); the query's part ranks nothing), not tuned.

Only text queries are corrected: the bank holds sentences, so it says nothing about how typical
a photo is as an image query. Nor is a short query that names a tag ("pizza", ranking.py): the
tagger's evidence ranks it, and on coco-mini the correction cost its class queries a little
(mAP 0.549 -> 0.542) where it raised caption recall (R@10 0.826 -> 0.849). A model without a
bank (the downloadable CLIP family) is searched by similarity alone, as before.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .embedder import normalize
from .errors import PhotolensError

__all__ = ["QueryBank", "load_bank"]

log = logging.getLogger(__name__)

K = 10
WEIGHT = 0.5
# Photos scored per product against the bank: 4,096 x 2,000 floats is 32 MB at most.
CHUNK = 4096
# Photos the library's mean hub value is taken from (30 ms against a 2,000-sentence bank).
LIBRARY_SAMPLE = 2000


@dataclass(frozen=True)
class QueryBank:
    vectors: np.ndarray  # [B, D] float32 unit vectors: the bank's sentences
    k: int = K
    weight: float = WEIGHT

    def hub(self, mat: np.ndarray) -> np.ndarray:
        """[N] each photo's mean similarity to its k nearest sentences of the bank."""
        mat = np.asarray(mat, np.float32)
        out = np.empty(len(mat), np.float32)
        k = min(self.k, len(self.vectors))
        for start in range(0, len(mat), CHUNK):
            sims = mat[start:start + CHUNK] @ self.vectors.T
            out[start:start + CHUNK] = -np.partition(-sims, k - 1, axis=1)[:, :k].mean(1)
        return out

    def mean_hub(self, mat: np.ndarray) -> float:
        """The correction's zero: hub() over a library's photos `mat` (a seeded sample of
        LIBRARY_SAMPLE rows where it has more)."""
        if len(mat) > LIBRARY_SAMPLE:
            mat = mat[np.sort(np.random.default_rng(0).choice(len(mat), LIBRARY_SAMPLE, replace=False))]
        return float(self.hub(mat).mean()) if len(mat) else 0.0

    def correction(self, mat: np.ndarray, mean: float) -> np.ndarray:
        """[N] what is added to each photo's similarity to a text query (negative for hubs), in a
        library whose mean hub value is `mean`."""
        return -self.weight * (self.hub(mat) - mean)

    def corrected(self, hits: list[tuple[int, float]], hubs: dict[int, float],
                  mean: float) -> list[tuple[int, float]]:
        """`hits` (photo id, similarity) re-scored and re-ranked, given the photos' hub values
        `hubs`; a photo without one keeps its similarity."""
        rescored = [(pid, s - self.weight * (hubs[pid] - mean) if pid in hubs else s) for pid, s in hits]
        return sorted(rescored, key=lambda h: -h[1])


def load_bank(model) -> QueryBank | None:
    """The model's query bank (its manifest's `query_bank`: file, k, weight), or None where it ships
    none or it cannot be read (then search goes on uncorrected, and the log says why)."""
    spec = model.manifest.get("query_bank")
    if not spec:
        return None
    try:
        vecs = normalize(np.load(model.file(spec["file"]), allow_pickle=False))
        if vecs.ndim != 2 or vecs.shape[1] != model.dim or not len(vecs):
            raise ValueError(f"shape {vecs.shape}, model dim {model.dim}")
        return QueryBank(vecs, int(spec.get("k", K)), float(spec.get("weight", WEIGHT)))
    except (OSError, ValueError, KeyError, TypeError, PhotolensError) as e:
        log.warning("query bank of %s not used: %s", model.name, e)
        return None
