"""Duplicates across the library: exact copies, near-duplicates and (optionally) similar shots.

- **exact**: the same bytes (the content hash the library records when it indexes a photo).
- **near**: the same photo resized, re-encoded, lightly cropped or rotated by EXIF. Candidate
  pairs come from each photo's nearest neighbours in the stored search embedding (blocked matrix
  products for a small library, an HNSW graph for a large one), are narrowed by the stored CNN
  'features', and decided by a tiny pixel signature (signature.py) computed only for those
  candidates. Thresholds measured on planted copies of real photos (bench/duplicates_accuracy.py).
- **similar**: different shots of one scene (a burst, a pan): a lower, separate threshold on
  the embedding; only on request, since such photos are not copies.

Linked photos are gathered by union-find. Which copy to keep is `keep_order`'s rule.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .embedder import normalize
from .fsutil import printable
from .index import VectorIndex
from .signature import pixel_stats_for, signature_similarity
from .store import Store

__all__ = ["EXACT", "NEAR", "SIMILAR", "DuplicateGroup", "DuplicatePhoto", "DuplicateSet", "describe",
           "find_duplicates", "link_groups", "neighbour_pairs", "exact_pairs", "graph_pairs", "copy_links",
           "keep_order"]

EXACT, NEAR, SIMILAR = "exact", "near", "similar"

# Thresholds measured with bench/duplicates_accuracy.py on 160 real photos (100 Flickr8k, 60
# COCO) with planted copies, built-in model (README "Duplicates" has the figures).
# Embedding cosine every planted copy exceeds against its original (weakest: a 92% crop of a
# busy scene, 0.78; 0.788 with the five-head search head): only neighbours above it can be copies.
CANDIDATE_MIN = 0.75
# The same for the CNN features (weakest copy: a half-size re-encode, 0.80); different photos
# reach 0.84, and 70% crops of the same photo 0.93, so the features alone cannot decide.
FEATURES_MIN = 0.75
# The pixel signature decides (signature.py): planted copies >= 0.99, 70% crops of the same
# photo <= 0.90, different photos whose features pass FEATURES_MIN <= 0.25.
SIGNATURE_MIN = 0.96
# Similar shots: embedding cosine above which two photos show one scene. Chosen so that no two
# different photos of the planted set group, with a margin of about 0.01 over the closest pair,
# at the cost of finding only the closer of the planted "pans" (70% crops at opposite corners).
# With the five-head search head the closest pair scores 0.878 (0.87 before), so the threshold
# went from 0.88 to 0.89: 29% of the pans found (34% at 0.88; 22.5% with the earlier head at
# 0.88). The weakest embedding of a planted copy is 0.788 (0.78 before), above CANDIDATE_MIN.
SIMILAR_EMBEDDING_MIN = 0.89
# Neighbours looked at per photo: a photo rarely has more copies than this, and each copy
# links to the others, so a bigger family is still gathered through them.
NEIGHBOURS = 8
# Up to this many photos every pair is scored exactly (blocked matrix products, a few seconds at
# this size on two cores); above it an HNSW graph gives each photo's neighbours.
EXACT_PAIRS_MAX = 20_000
PAIR_BLOCK = 1024  # rows per matrix product: 1024 x 20k float32 scores is 80 MB
# HNSW settings for neighbours that are near-duplicates: such pairs sit very close, so a small
# graph finds them (bench/duplicates.py measures recall against exact pairs).
GRAPH_M, GRAPH_EF_CONSTRUCTION, GRAPH_EF = 16, 80, 48
# Search width in the library's own graph (M 32, built wide for text queries): at 40k synthetic
# photos, 24 finds the same planted pairs as 48 (recall 0.999) in 23% less time; 8 misses some.
LIBRARY_GRAPH_EF = 24
# Sharpness within this share of the sharpest counts as equal: re-encoding a photo adds JPEG
# noise, which raises the Laplacian's variance by a few percent without making it sharper.
SHARPNESS_TIE = 0.10


@dataclass(frozen=True)
class DuplicateGroup:
    """Photos that are one photo (or one scene, for SIMILAR), best copy first. `keep` is the
    best copy."""
    kind: str
    ids: tuple[int, ...]
    keep: int


@dataclass(frozen=True)
class DuplicatePhoto:
    """One photo of a group, as a review shows it."""
    id: int
    path: str
    folder: str
    size: int  # bytes
    width: int | None
    height: int | None
    date: float | None  # when taken, else the file's time (seconds since the epoch)
    taken: bool = True  # False: `date` is only the file's time (never shown as a date taken)


@dataclass(frozen=True)
class DuplicateSet:
    kind: str  # EXACT, NEAR or SIMILAR
    photos: tuple[DuplicatePhoto, ...]  # best copy first
    keep: DuplicatePhoto

    @property
    def others(self) -> tuple[DuplicatePhoto, ...]:
        return tuple(p for p in self.photos if p.id != self.keep.id)

    def to_json(self) -> dict:
        return {"kind": self.kind, "photos": [printable(p.path) for p in self.photos],
                "keep": printable(self.keep.path)}


def describe(store: Store, group: DuplicateGroup, keep: int | None = None) -> DuplicateSet:
    """A group as the CLI and the app show it; `keep` overrides the best copy."""
    photos = []
    for pid in group.ids:
        d = store.photo_details(pid)
        if d is not None:
            photos.append(DuplicatePhoto(pid, d["path"], os.path.dirname(d["path"]), d["size"], d["width"],
                                         d["height"], d["taken"] or d["mtime"], d["taken"] is not None))
    chosen = keep if keep is not None else group.keep
    return DuplicateSet(group.kind, tuple(photos), next(p for p in photos if p.id == chosen))


# -- pairs -----------------------------------------------------------------------------------

def exact_pairs(vecs: np.ndarray, min_score: float, k: int = NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """Each row's (up to) k best other rows with cosine >= min_score, scored exactly, as
    (pairs int64[P, 2] with i < j, scores float32[P]). `vecs` are unit rows."""
    n = len(vecs)
    pairs, scores = [], []
    for start in range(0, n, PAIR_BLOCK):
        block = vecs[start:start + PAIR_BLOCK] @ vecs.T
        rows = np.arange(start, min(start + PAIR_BLOCK, n))
        block[rows - start, rows] = -np.inf  # not a pair with itself
        kk = min(k, n - 1)
        if kk <= 0:
            break
        top = np.argpartition(-block, kk - 1, axis=1)[:, :kk]
        top_scores = np.take_along_axis(block, top, axis=1)
        keep = top_scores >= min_score
        i = np.repeat(rows, kk).reshape(-1, kk)[keep]
        pairs.append(np.stack([i, top[keep]], axis=1))
        scores.append(top_scores[keep])
    return _unique_pairs(pairs, scores)


def graph_pairs(vecs: np.ndarray, min_score: float, k: int = NEIGHBOURS,
                threads: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """As exact_pairs, with neighbours from an HNSW graph built for the purpose."""
    import hnswlib

    n, dim = vecs.shape
    graph = hnswlib.Index(space="ip", dim=dim)
    graph.init_index(max_elements=n, ef_construction=GRAPH_EF_CONSTRUCTION, M=GRAPH_M)
    graph.add_items(vecs, np.arange(n), num_threads=threads)
    graph.set_ef(max(GRAPH_EF, k + 1))
    labels, dist = graph.knn_query(vecs, k=min(k + 1, n), num_threads=threads)
    sims = 1.0 - dist  # hnswlib's "ip" distance is 1 - dot
    rows = np.repeat(np.arange(n), labels.shape[1]).reshape(labels.shape)
    keep = (sims >= min_score) & (labels != rows)
    return _unique_pairs([np.stack([rows[keep], labels[keep].astype(np.int64)], axis=1)], [sims[keep]])


def neighbour_pairs(vecs: np.ndarray, min_score: float, k: int = NEIGHBOURS,
                    library: tuple[np.ndarray, VectorIndex] | None = None,
                    exact_max: int = EXACT_PAIRS_MAX) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of rows with cosine >= min_score among each row's k nearest: exact up to
    EXACT_PAIRS_MAX rows; above, from the library's own saved graph when `library` gives it
    (the rows' photo ids, sorted, and the index), else from a graph built here."""
    if len(vecs) < 2:
        return np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    if len(vecs) <= exact_max:
        return exact_pairs(vecs, min_score, k)
    if library is not None:
        ids, index = library
        found = index.graph_neighbours(vecs, k + 1, LIBRARY_GRAPH_EF)
        if found is not None:
            return _pairs_from_labels(ids, *found, min_score)
    return graph_pairs(vecs, min_score, k)


def _pairs_from_labels(ids: np.ndarray, labels: np.ndarray, sims: np.ndarray,
                       min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Neighbours given as photo ids turned into pairs of rows of `ids` (sorted)."""
    rows = np.repeat(np.arange(len(labels)), labels.shape[1]).reshape(labels.shape)
    at = np.clip(np.searchsorted(ids, labels), 0, len(ids) - 1)
    keep = (ids[at] == labels) & (sims >= min_score) & (at != rows)  # a photo the index holds, not itself
    return _unique_pairs([np.stack([rows[keep], at[keep]], axis=1)], [sims[keep]])


def _unique_pairs(pairs: list[np.ndarray], scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not pairs:
        return np.zeros((0, 2), np.int64), np.zeros(0, np.float32)
    p = np.concatenate(pairs).astype(np.int64)
    s = np.concatenate(scores).astype(np.float32)
    p.sort(axis=1)  # (i, j) and (j, i) become one pair
    p, first = np.unique(p, axis=0, return_index=True)
    return p, s[first]


# -- groups ----------------------------------------------------------------------------------

def link_groups(n: int, pairs: np.ndarray) -> list[np.ndarray]:
    """Union-find over n items: the components of two or more linked by `pairs`."""
    parent = np.arange(n)

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([root(i) for i in range(n)]) if n else np.zeros(0, np.int64)
    order = np.argsort(roots, kind="stable")
    splits = np.flatnonzero(np.diff(roots[order])) + 1
    return [g for g in np.split(order, splits) if len(g) > 1] if n else []


def copy_links(pairs: np.ndarray, scores: np.ndarray, same: Callable[[np.ndarray], np.ndarray],
               feats: dict[int, np.ndarray] | None) -> np.ndarray:
    """Which candidate `pairs` (rows, with embedding `scores`) are copies: the embedding and the
    features (where the model stores them) say maybe, `same(pairs)` (the pixel signatures) decides."""
    maybe = scores >= CANDIDATE_MIN
    if feats is not None:
        maybe &= np.array([_features_cosine(feats, int(a), int(b)) >= FEATURES_MIN for a, b in pairs], bool)
    out = np.zeros(len(pairs), bool)
    if maybe.any():
        out[maybe] = same(pairs[maybe])
    return out


def _features_cosine(feats: dict[int, np.ndarray], a: int, b: int) -> float:
    fa, fb = feats.get(a), feats.get(b)
    return float(fa @ fb) if fa is not None and fb is not None else -1.0


# -- the library -----------------------------------------------------------------------------

def find_duplicates(store: Store, model: str, with_similar: bool = False,
                    index: VectorIndex | None = None) -> list[DuplicateGroup]:
    """Every group of copies in the library (exact, near) and, with `with_similar`, groups of
    similar shots, each with the copy to keep; biggest groups first. `index`: the library's
    vector index of `model`, whose saved graph gives a large library's neighbours."""
    ids, emb = store.vectors(model)
    hashes = dict(store.query("SELECT id, hash FROM photos WHERE hash IS NOT NULL AND status = 'indexed'"))
    # Exact copies by hash, including photos that have no vector of this model yet.
    by_hash: dict[str, list[int]] = {}
    for pid, h in hashes.items():
        by_hash.setdefault(h, []).append(pid)
    all_ids = np.array(sorted(set(ids.tolist()) | set(hashes)), np.int64)
    row_of = {int(p): i for i, p in enumerate(all_ids)}
    links = [np.array([[row_of[g[0]], row_of[p]] for p in g[1:]], np.int64) for g in by_hash.values() if len(g) > 1]
    similar_links = np.zeros((0, 2), np.int64)
    if len(ids) > 1:
        emb_rows = np.array([row_of[int(p)] for p in ids], np.int64)
        floor = min(CANDIDATE_MIN, SIMILAR_EMBEDDING_MIN) if with_similar else CANDIDATE_MIN
        library = (ids, index) if index is not None else None
        pairs, scores = neighbour_pairs(normalize(emb), floor, library=library)
        feats = _unit_features(store, model, ids, pairs)
        near = copy_links(pairs, scores, lambda p: _same_pixels(store, ids, p), feats)
        links.append(emb_rows[pairs[near]])
        if with_similar:
            similar_links = emb_rows[pairs[(scores >= SIMILAR_EMBEDDING_MIN) & ~near]]
    pairs = np.concatenate(links) if links else np.zeros((0, 2), np.int64)
    groups = []
    copies = link_groups(len(all_ids), pairs)
    for g in copies:
        members = [int(all_ids[i]) for i in g]
        kind = EXACT if len({hashes.get(p) for p in members}) == 1 else NEAR
        groups.append(_group(store, kind, members))
    if with_similar and len(similar_links):
        copy_of = {int(i): n for n, g in enumerate(copies) for i in g}
        for g in link_groups(len(all_ids), np.concatenate([pairs, similar_links])):
            if len({copy_of.get(int(i), -int(i) - 1) for i in g}) > 1:  # more than one photo
                groups.append(_group(store, SIMILAR, [int(all_ids[i]) for i in g]))
    groups.sort(key=lambda g: (-len(g.ids), g.kind, g.keep))
    return groups


def _unit_features(store: Store, model: str, ids: np.ndarray, pairs: np.ndarray) -> dict[int, np.ndarray] | None:
    """Row -> unit CNN features for the rows in `pairs` (rows of `ids`); None where the model
    stores none."""
    rows = np.unique(pairs)
    found = store.vectors_for([int(ids[r]) for r in rows], model, "features")
    if not found and store.vector(int(ids[0]), model, "features") is None:
        return None
    return {int(r): normalize(found[int(ids[r])]) for r in rows if int(ids[r]) in found}


def _same_pixels(store: Store, ids: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """For each pair of rows of `ids`: do their pixel signatures say "the same photo"?"""
    photo_ids = sorted({int(ids[r]) for r in np.unique(pairs)})
    rows = store.photos_by_ids(photo_ids)
    stats = pixel_stats_for(store, {p: (r.path, r.hash) for p, r in rows.items()})
    out = []
    for a, b in pairs:
        sa, sb = stats.get(int(ids[a])), stats.get(int(ids[b]))
        out.append(sa is not None and sb is not None
                   and signature_similarity(sa.signature, sb.signature) >= SIGNATURE_MIN)
    return np.array(out, bool)


def _group(store: Store, kind: str, ids: list[int]) -> DuplicateGroup:
    ordered = keep_order(store, ids)
    return DuplicateGroup(kind, tuple(ordered), ordered[0])


def keep_order(store: Store, ids: list[int]) -> list[int]:
    """The photos, best copy first. The best copy is the one with the most pixels; among equals
    the sharpest (variance of the Laplacian of a 256-pixel grey thumbnail, measured only when
    pixel counts tie and the bytes differ; within 10% counts as equally sharp); then the earliest
    (date taken, else the file's time); then the one with the most metadata (date taken, camera,
    GPS position, user tags); then the shortest path, then the first in order."""
    details = {i: store.photo_details(i) for i in ids}
    details = {i: d for i, d in details.items() if d is not None}
    user_tags = dict(store.query(
        f"SELECT photo_id, count(*) FROM tags WHERE source = 'user' AND photo_id IN ({','.join('?' * len(ids))}) "
        "GROUP BY photo_id", ids)) if ids else {}
    pixels = {i: (d["width"] or 0) * (d["height"] or 0) for i, d in details.items()}
    most = max(pixels.values(), default=0)
    tied = [i for i, p in pixels.items() if p == most]
    rows = store.photos_by_ids(tied)
    sharp = {}
    if len({r.hash for r in rows.values()}) > 1:  # copies with the same bytes are equally sharp
        stats = pixel_stats_for(store, {i: (r.path, r.hash) for i, r in rows.items()})
        measured = {i: s.sharpness for i, s in stats.items()}  # an unreadable copy: 0, never kept first
        top = max(measured.values(), default=0.0)
        sharp = {i: float(v >= top * (1 - SHARPNESS_TIE)) for i, v in measured.items()}

    def rank(i: int):
        d = details[i]
        meta = sum(d[k] is not None for k in ("taken", "camera", "gps")) + user_tags.get(i, 0)
        return (-pixels[i], -sharp.get(i, 0.0), d["taken"] or d["mtime"], -meta, len(d["path"]), d["path"])

    return sorted(details, key=rank)
