"""Queries: text, image, combined; similar photos, near-duplicates and focused similarity."""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .embedder import Embedder, normalize
from .errors import ImageError, QueryError
from .hubness import LIBRARY_SAMPLE, QueryBank, load_bank
from .imaging import decode_for_model, load_query_image
from .index import VectorIndex
from .metastore import PhotoWhenWhere, shown_photos
from .query import Query, parse_query
from .ranking import TAG_CANDIDATES, tag_term, with_tag_evidence
from .store import Store

# How many candidates the blended similarity modes re-rank; the exact scores come after.
RERANK_CANDIDATES = 400
# Candidates focused similarity re-ranks by features: the photos nearest to the subject moved
# toward the concept, and to the subject itself. A few thousand rows read in milliseconds, and
# the best focused matches lie among them (they share the concept and the scene).
FOCUS_CANDIDATES = 2000
# Photos past the k-th a text search also scores against the query bank (hubness.py): a hub's
# correction is a few hundredths, so the photo it lets up lies a little below the k-th. On the
# flickr8k-dev, re-ranking the first 20 photos gave R@10 0.770, the first 30 to 500 0.772-0.773.
HUB_DEPTH = 30
HUB_CACHE_MAX = 500_000  # hub values kept (about 60 bytes each)


Region = tuple[float, float, float, float]  # x, y, width, height as shares of the photo
MIN_REGION = 0.02  # a region narrower or lower than this (2% of the photo) holds too few pixels


def region_box(region: Region) -> tuple[float, float, float, float]:
    """A region (x, y, w, h) as a crop box (left, top, right, bottom), checked and clipped."""
    try:
        x, y, w, h = (float(v) for v in region)
    except (TypeError, ValueError):
        raise QueryError("a region is four numbers: x,y,width,height as shares of the photo (0 to 1)") from None
    if not all(0.0 <= v <= 1.0 for v in (x, y, w, h)):
        raise QueryError(f"a region's numbers are shares of the photo, from 0 to 1: {x},{y},{w},{h}")
    right, bottom = min(1.0, x + w), min(1.0, y + h)
    if right - x < MIN_REGION or bottom - y < MIN_REGION:
        raise QueryError("the region is too small: give it at least 2% of the photo's width and height")
    return x, y, right, bottom


@dataclass
class Result:
    id: int
    path: str
    score: float
    offline: bool = False
    # At or above the model's calibrated match threshold (Catalog.search sets it): the app
    # shows good matches and offers the weaker ones; --json says which is which.
    good: bool = True
    when_where: PhotoWhenWhere | None = None  # date taken, place and camera (metastore.py)
    # Why it matched (words: wordapi.py): "meaning", "text", "file name", "folder", "tag", "caption".
    matched: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        from .fsutil import printable

        d = {"path": printable(os.path.abspath(self.path)), "score": round(float(self.score), 4), "id": self.id,
             "good": bool(self.good)}
        if self.offline:
            d["offline"] = True
        w = self.when_where
        d["taken"] = w.taken if w else None
        d["date_source"] = w.date_source if w else None
        d["place"] = w.place.to_json() if w and w.place else None
        d["camera"] = w.camera if w else None
        d["matched"] = list(self.matched)
        return d


def results_for(store: Store, hits: list[tuple[int, float]]) -> list[Result]:
    """(photo id, score) pairs as results, in the same order (unknown ids dropped). Lists that
    need no model (recent photos, a tag's, a person's) use this, not a Searcher, whose model
    may not be loaded yet."""
    rows = shown_photos(store, [i for i, _ in hits])
    offline = {r[0] for r in store.query("SELECT id FROM folders WHERE online = 0")}
    out = []
    for pid, score in hits:
        row = rows.get(pid)
        if row is not None:
            folder, path, facts = row
            out.append(Result(pid, path, score, folder in offline, when_where=facts))
    return out


class Searcher:
    def __init__(self, store: Store, embedder: Embedder, index: VectorIndex):
        self.store = store
        self.embedder = embedder
        self.index = index
        self._text_cache = lru_cache(maxsize=256)(self._embed_text)
        self._bank: tuple[str, QueryBank | None] | None = None
        self.correct_hubs = True  # False: similarity alone (bench/scale.py's baseline)
        self._hub_zero: tuple[str, int, float] | None = None  # model, photos, mean hub value
        # Photos' hub values, kept while the model's vectors stay as they are: a hub is in many
        # queries' results by definition, and fetching and scoring 100 vectors costs ~5 ms.
        self._hubs: dict[int, float] = {}
        self._hubs_of: tuple[str, int] | None = None  # model, vector generation
        self._hubs_lock = threading.Lock()  # searches run on worker threads

    @property
    def query_bank(self) -> QueryBank | None:
        """The model's query bank, read once (None: text search by similarity alone)."""
        if self._bank is None or self._bank[0] != self.model:
            self._bank = (self.model, load_bank(self.embedder.model))
        return self._bank[1]

    def hub_correction(self, query: Query, term: str | None) -> tuple[QueryBank, float] | None:
        """(the bank, the library's mean hub value) where this query's scores are corrected for
        hubs (hubness.py), else None. Sentences are. A short query naming a tag (`term`) is not:
        the tagger's evidence ranks it, with a weight chosen against similarity alone, and the
        bank's sentences say little about how typical a photo is for one or two words. Nor is
        a query with an image in it."""
        bank = self.query_bank
        if bank is None or not self.correct_hubs or term is not None or any(t.is_image for t in query.terms):
            return None
        return bank, self._hub_mean(bank)

    def prepare(self) -> None:
        """Load the vector index, and take the library's mean hub value now (Catalog.warm_up), so
        the first sentence searched for does not wait for its 2,000-photo sample (45 ms of reading
        vectors at 200,000 photos)."""
        self.index.ensure_loaded()
        bank = self.query_bank
        if bank is not None and self.correct_hubs:
            self._hub_mean(bank)

    def _hub_values(self, bank: QueryBank, ids: list[int]) -> dict[int, float]:
        """photo id -> hub value (hubness.py) for these photos, from the cache or their vectors."""
        now = (self.model, self.store.generation(self.model))
        with self._hubs_lock:
            if self._hubs_of != now or len(self._hubs) > HUB_CACHE_MAX:
                self._hubs, self._hubs_of = {}, now
            cache = self._hubs  # this generation's, even if another thread starts the next
        found = {i: cache[i] for i in ids if i in cache}
        missing = [i for i in ids if i not in found]
        if missing:
            vecs = self.index.vectors_of(missing)
            if vecs:
                keys = list(vecs)
                found.update(zip(keys, bank.hub(np.stack([vecs[k] for k in keys])).tolist()))
                with self._hubs_lock:
                    if self._hubs_of == now:
                        self._hubs.update((k, found[k]) for k in keys)
        return found

    def forget_hub_values(self) -> None:
        """Drop the kept hub values (bench/scale.py measures a search that has none)."""
        with self._hubs_lock:
            self._hubs = {}

    def _hub_mean(self, bank: QueryBank) -> float:
        """The library's mean hub value (hubness.py), taken again when the library has changed
        size by a tenth, or at all while it is smaller than the sample."""
        self.index.ensure_loaded()
        n = len(self.index)
        zero = self._hub_zero
        if zero is None or zero[0] != self.model or (
                zero[1] != n and (n <= LIBRARY_SAMPLE or abs(n - zero[1]) > zero[1] / 10)):
            zero = self._hub_zero = (self.model, n, bank.mean_hub(self.index.sample(LIBRARY_SAMPLE)))
        return zero[2]

    @property
    def model(self) -> str:
        return self.embedder.model.name

    def _embed_text(self, text: str) -> np.ndarray:
        return self.embedder.embed_text(text)

    def text_vector(self, text: str) -> np.ndarray:
        return self._text_cache(text)

    def image_vector(self, path: str) -> np.ndarray:
        """A photo's vector: the stored one when it is in the library, else computed."""
        row = self.store.photo_by_path(os.path.abspath(path))
        if row is not None:
            vec = self.store.vector(row.id, self.model)
            if vec is not None:
                return vec
        if not os.path.exists(path):
            raise QueryError(f"no such image: {path}")
        try:
            pixels = load_query_image(path, self.embedder.model.preprocess)
        except ImageError as e:
            raise QueryError(f"cannot use {path} as a query: {e}") from e
        return self.embedder.embed_images(pixels[None])["embedding"][0]

    def query_vector(self, query: Query) -> np.ndarray:
        total = np.zeros(self.embedder.model.dim, np.float32)
        for term in query.terms:
            vec = self.image_vector(term.text) if term.is_image else self.text_vector(term.text)
            total += term.weight * vec
        if not np.any(total):
            raise QueryError("the terms cancel out; remove a negative term")
        return normalize(total)

    def _nearest(self, vec: np.ndarray, k: int, candidates: np.ndarray | None) -> list[tuple[int, float]]:
        """The index's k nearest; within `candidates` (photo ids that pass filters) when given."""
        if candidates is None:
            return self.index.search(vec, k)
        return self.index.search_within(vec, k, candidates)

    def search(self, query: str | list[str] | Query, k: int = 50,
               candidates: np.ndarray | None = None) -> list[Result]:
        q = query if isinstance(query, Query) else parse_query(query)
        vec = self.query_vector(q)
        # A photo of the library used in the query is the subject, not a result.
        rows = [self.store.photo_by_path(os.path.abspath(t.text)) for t in q.terms if t.is_image]
        exclude_ids = {r.id for r in rows if r is not None}
        term = tag_term(q, self.store)
        hubs = self.hub_correction(q, term)
        hits = self._nearest(vec, k + len(exclude_ids) + (HUB_DEPTH if hubs else 0), candidates)
        if hubs is not None:
            bank, mean = hubs
            hits = bank.corrected(hits, self._hub_values(bank, [i for i, _ in hits]), mean)
        if term is not None:  # a short query naming a tag: what the tagger saw counts too
            hits = with_tag_evidence(self.store, self.model, vec, term, hits, k + len(exclude_ids) + TAG_CANDIDATES)
            if candidates is not None:  # the tagged photos it brings in pass the filters too
                allowed = set(candidates.tolist())
                hits = [(i, s) for i, s in hits if i in allowed]
        return results_for(self.store, [(i, s) for i, s in hits if i not in exclude_ids][:k])

    def similar(self, image: str | int, k: int = 50, focus: str | None = None, detail: float = 0.0,
                region: Region | None = None, candidates: np.ndarray | None = None) -> list[Result]:
        """Photos like this one. `focus` narrows likeness to one concept; `detail` (0..1) moves
        from "the same kind of scene" (0) to "near-duplicates" (1); `region` (x, y, w, h as
        shares of the photo) makes that part of the photo the subject."""
        if not 0.0 <= detail <= 1.0:  # also refuses nan
            raise QueryError(f"detail must be between 0 and 1, not {detail}")
        if region is not None:
            return self._similar_to_region(image, region, k, candidates)
        if isinstance(image, int):
            photo_id = image
            vec = self.store.vector(photo_id, self.model)
            if vec is None:
                raise QueryError("this photo has not been indexed yet")
            path = None
        else:
            path = image
            row = self.store.photo_by_path(os.path.abspath(image))
            photo_id = row.id if row is not None else None
            vec = self.image_vector(image)
        if focus:
            hits = self._focused(vec, photo_id, path, focus, k + 1, candidates)
        elif detail > 0:
            hits = self._detailed(vec, photo_id, path, detail, k + 1, candidates)
        else:
            hits = self._nearest(vec, k + 1, candidates)
        return results_for(self.store, [(i, s) for i, s in hits if i != photo_id][:k])

    def _similar_to_region(self, image: str | int, region: Region, k: int,
                           candidates: np.ndarray | None = None) -> list[Result]:
        """Photos like a part of a photo: the part is cut from the decoded photo (EXIF orientation
        applied, as the user sees it) and embedded as a photo of its own."""
        box = region_box(region)
        if isinstance(image, int):
            row = self.store.photos_by_ids([image]).get(image)
            if row is None:
                raise QueryError("this photo is not in the library")
            photo_id, path = image, row.path
        else:
            path = image
            row = self.store.photo_by_path(os.path.abspath(image))
            photo_id = row.id if row is not None else None
        try:
            crop = decode_for_model(path, self.embedder.model.preprocess, views=(box,)).views[0]
        except ImageError as e:
            raise QueryError(f"cannot use {path} as a query: {e}") from e
        vec = self.embedder.embed_images(crop[None])["embedding"][0]
        hits = self._nearest(vec, k + 1, candidates)
        return results_for(self.store, [(i, s) for i, s in hits if i != photo_id][:k])

    # -- modes that re-rank -----------------------------------------------------------------

    def _features_of(self, photo_id: int | None, path: str | None) -> np.ndarray | None:
        if photo_id is not None:
            f = self.store.vector(photo_id, self.model, "features")
            if f is not None:
                return f
        if path is None or "features" not in self.embedder.image_outputs():
            return None
        try:
            pixels = load_query_image(path, self.embedder.model.preprocess)
        except ImageError as e:
            raise QueryError(f"cannot use {path} as a query: {e}") from e
        return self.embedder.embed_images(pixels[None])["features"][0]

    def _detailed(self, vec, photo_id, path, detail: float, k: int, within=None) -> list[tuple[int, float]]:
        """Blend scene likeness (joint space) with pixel-level likeness (CNN features)."""
        feats = self._features_of(photo_id, path)
        candidates = self._nearest(vec, max(k, RERANK_CANDIDATES), within)
        if feats is None:
            return candidates[:k]
        cand_feats = self.store.vectors_for([i for i, _ in candidates], self.model, "features")
        f = normalize(feats)
        scored = []
        for pid, s in candidates:
            cf = cand_feats.get(pid)
            fs = float(normalize(cf) @ f) if cf is not None else s
            scored.append((pid, (1 - detail) * s + detail * fs))
        scored.sort(key=lambda x: -x[1])
        return scored[:k]

    def _focused(self, vec, photo_id, path, focus: str, k: int, within=None) -> list[tuple[int, float]]:
        """Likeness re-weighted toward one concept's features. The candidates are the photos
        nearest to the photo moved toward the concept (FOCUS_CANDIDATES of them, from the vector
        index; inside `within` when given), so a query reads a bounded number of feature rows,
        never the whole library."""
        from .focus import focus_weights

        concept = self.text_vector(focus)
        weights = focus_weights(self.embedder.model, concept)
        feats = self._features_of(photo_id, path) if weights is not None else None
        if weights is None or feats is None:
            # CLIP-family: move the photo's vector toward the concept's words.
            return self._nearest(normalize(vec + concept), k, within)
        candidates = {i for i, _ in self._nearest(normalize(vec + concept), FOCUS_CANDIDATES, within)}
        candidates |= {i for i, _ in self._nearest(vec, FOCUS_CANDIDATES // 2, within)}
        found = self.store.vectors_for(sorted(candidates), self.model, "features")
        if not found:
            return []
        ids = np.fromiter(found, dtype=np.int64, count=len(found))
        mat = np.stack([found[int(i)] for i in ids])
        q = normalize(feats * weights)
        scores = normalize(mat * weights) @ q
        top = np.argsort(-scores)[:k]
        return [(int(ids[i]), float(scores[i])) for i in top]
