"""Concepts the user teaches: a new tag learned from a handful of their own photos.

The classifier is small (logistic regression on the photos' vectors) and retrained from the
stored examples each time, so only the examples are kept (store.concept_examples).
"""
from __future__ import annotations

import numpy as np

from .search import results_for
from .store import Store

__all__ = ["ConceptTeacher", "train_logistic"]


class ConceptTeacher:
    """Learns a new tag from a handful of the user's photos: a logistic-regression classifier on
    the photos' vectors, with the user's rejections and the rest of the library as negatives."""

    def __init__(self, store: Store, model: str):
        self.store, self.model = store, model

    def add_example(self, concept: str, photo_id: int, positive: bool) -> None:
        self.store.set_concept_example(concept, photo_id, positive)

    def propose(self, concept: str, k: int = 50):
        pos, neg = self.store.concept_examples(concept)
        if not pos:
            return []
        ids, mat = self.store.vectors(self.model)
        index = {int(i): n for n, i in enumerate(ids)}
        pos_rows = [index[p] for p in pos if p in index]
        neg_rows = [index[n] for n in neg if n in index]
        w, b = train_logistic(mat, pos_rows, neg_rows)
        scores = 1 / (1 + np.exp(-(mat @ w + b)))
        known = set(pos) | set(neg) | {pid for pid, _ in self.store.photos_with_tag(concept)}
        order = [i for i in np.argsort(-scores) if int(ids[i]) not in known][:k]
        return results_for(self.store, [(int(ids[i]), float(scores[i])) for i in order])


def train_logistic(mat: np.ndarray, pos: list[int], neg: list[int], steps: int = 300, l2: float = 1e-2,
                   lr: float = 0.5) -> tuple[np.ndarray, float]:
    """Positives against explicit negatives plus every other photo as weak background (weighted
    so a handful of examples still counts): plain gradient descent, no extra dependency."""
    y = np.zeros(len(mat), np.float32)
    y[pos] = 1
    weight = np.full(len(mat), 0.5 / max(1, len(mat) - len(pos)), np.float32)
    weight[pos] = 0.5 / len(pos)
    if neg:
        weight[neg] = 1.0 / len(neg)
        weight /= weight.sum()
    w = np.zeros(mat.shape[1], np.float32)
    b = 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(mat @ w + b)))
        g = weight * (p - y)
        w -= lr * (mat.T @ g * 10 + l2 * w)
        b -= lr * float(g.sum()) * 10
    return w, b
