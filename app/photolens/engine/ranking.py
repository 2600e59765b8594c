"""Short queries ranked with what the tagger knows.

A one- or two-word query that names a tag ("pizza", "cat", "birthday cake") is what people type
most, and the joint space alone ranks it poorly: it sees the photo as a whole, while the tagger
(trained, calibrated, and with the closer look at small things) knows which photos show a pizza.
For such a query, each photo's score is its joint-space similarity plus HINT_BOOST times the
tagger's probability for the term (its search hint, hintstore.py: shown as a tag or not; 1 for a
tag the user gave, nothing for one the user removed). A library without hints (a model without
a trained tagger scores in z-scores) adds TAG_BOOST times the score of its shown tags instead.
Photos with the hint or tag join the candidates even when the joint space ranked them lower.
"""
from __future__ import annotations

import numpy as np

from .hintstore import TagHints
from .query import Query
from .store import Store

__all__ = ["HINT_BOOST", "TAG_BOOST", "tag_evidence", "tag_term", "with_tag_evidence"]

# Weight of the tag's score next to the joint-space similarity where only shown tags are known.
# Chosen on coco-mini (one-word class queries, mAP 0.424 with 0, 0.487 at 0.1, 0.504 at 0.2,
# 0.515 at 0.3, 0.521 at 0.5, 0.523 at 1.0): the gain flattens past 0.5, and a smaller weight
# keeps the joint space's order among tagged photos.
TAG_BOOST = 0.5
# Weight of the hint's probability. Chosen on coco-mini (mAP 0.536 at 0.5, 0.553 at 1.0, with 32
# hint terms): a probability is evidence on its own scale, where a shown tag's score was
# already cut at a threshold. Measured on coco128 by `photolens eval` (never chosen there).
HINT_BOOST = 1.0
# Tagged photos read as candidates, best tag scores first: bounded work for a tag on 100,000.
TAG_CANDIDATES = 2000
# Words a short query may carry around its tag ("a cat", "photos of dogs").
FILLER = {"a", "an", "the", "some", "photo", "photos", "picture", "pictures", "of", "my", "image", "images"}
MAX_TERM_WORDS = 3


def tag_term(query: Query, store: Store) -> str | None:
    """The tag a short, plain query names, if the library has it; else None."""
    if len(query.terms) != 1 or query.terms[0].is_image or query.terms[0].weight <= 0:
        return None
    words = [w for w in query.terms[0].text.lower().split() if w not in FILLER]
    if not 0 < len(words) <= MAX_TERM_WORDS:
        return None
    phrase = " ".join(words)
    candidates = [phrase]
    if phrase.endswith("s") and len(phrase) > 3:  # "dogs" -> "dog", "glasses" stays a candidate
        candidates.append(phrase[:-1])
    if phrase.endswith("es") and len(phrase) > 4:
        candidates.append(phrase[:-2])
    hints = TagHints(store)
    return next((c for c in candidates if store.has_tag(c) or hints.has(c)), None)


def with_tag_evidence(store: Store, model: str, query_vec: np.ndarray, term: str,
                      hits: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """Re-rank `hits` (and the photos with the term's hint or tag) by similarity plus evidence."""
    evidence = tag_evidence(store, term)
    if not evidence:
        return hits[:k]
    scores = dict(hits)
    missing = [pid for pid in evidence if pid not in scores]
    for pid, vec in store.vectors_for(missing, model, "embedding").items():
        scores[pid] = float(vec @ query_vec)
    ranked = sorted(((pid, s + evidence.get(pid, 0.0)) for pid, s in scores.items()), key=lambda x: -x[1])
    return ranked[:k]


def tag_evidence(store: Store, term: str) -> dict[int, float]:
    """photo id -> what is added to its similarity for `term`: HINT_BOOST x its hint (1 where the
    user gave the tag; the user's removals have no hint); TAG_BOOST x its shown tag's score where
    the library, or the photo, has no hints yet."""
    tagged = store.tag_scores(term, TAG_CANDIDATES)
    hints = TagHints(store)
    hinted = hints.scores(term, TAG_CANDIDATES)
    if not hinted:
        return {pid: TAG_BOOST * s for pid, s in tagged.items()}
    evidence = {pid: HINT_BOOST * p for pid, p in hinted.items()}
    unhinted = set(tagged) - hints.hinted(list(tagged))
    evidence.update({pid: TAG_BOOST * tagged[pid] for pid in unhinted})  # until their next retag
    for pid in store.user_tagged(term):
        evidence[pid] = HINT_BOOST
    return evidence
