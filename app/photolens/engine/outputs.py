"""What a model emits for a batch of photos, how it is stored, and how it is loaded back.

The indexer runs the model and keeps its outputs (PhotoOutputs.save); retagging, evaluation and
the detail pass read them back (PhotoOutputs.load) so that no photo is decoded again. Tags are
computed from either alike, so the reshape rules and the whole-photo stand-ins live here, once:

- the tag views' features are stored flat, one row per photo, and come back [N, V, D];
- a photo indexed before the model had tag views has its whole-photo features standing in for
  every view ("no more than the photo shows as a whole");
- a photo without the tag detail pass (thorough tags off, or an older version) has its whole
  photo standing in for the pass: its features, and the softmax of its logits;
- the pass's face score has no stand-in: a photo without it has NaN there, and the tag scorer
  then does without that evidence (tagscore.evidence).

Logits are not stored: they are a linear function of the features (the model's classifier),
recomputed where they are needed.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Iterator

import numpy as np

from .store import Store
from .tagscore import softmax

__all__ = ["DETAIL_DONE_KIND", "DETAIL_KINDS", "STORED_KINDS", "PhotoOutputs", "detail_or_stand_in"]

# The tag detail pass's stored outputs; the face score only where the pass has a face detector.
DETAIL_KINDS = ("detail_features", "detail_probs", "detail_faces")
# The output every photo the pass reached has (what the closer look waits for).
DETAIL_DONE_KIND = "detail_probs"
# Every output kept in the vectors table, under its field name as the "kind".
STORED_KINDS = ("embedding", "features", "view_features", *DETAIL_KINDS)


@dataclass
class PhotoOutputs(Mapping):
    """A model's outputs for N photos, in the photos' order. Only `embedding` is always there;
    the rest is None where the model (or this run) has no such output. It reads as a mapping of
    the outputs it has ("embedding", "features", ...), which is how the tag scorer's
    training script and the tests take them apart."""

    embedding: np.ndarray  # [N, D] joint-space vectors: what search uses
    features: np.ndarray | None = None  # [N, F] CNN features (models with a tagger)
    logits: np.ndarray | None = None  # [N, C] ImageNet logits, while indexing only (see above)
    view_features: np.ndarray | None = None  # [N, V, F] the tag views' features
    view_logits: np.ndarray | None = None  # [N, V, C]
    detail_features: np.ndarray | None = None  # [N, F] the tag detail pass: best window per feature
    detail_probs: np.ndarray | None = None  # [N, C] and per ImageNet class
    detail_faces: np.ndarray | None = None  # [N, 1] the strongest face's score, where the pass finds faces

    @classmethod
    def of(cls, outputs: "PhotoOutputs | Mapping[str, np.ndarray] | np.ndarray") -> "PhotoOutputs":
        """Outputs from a mapping of them, or embeddings alone."""
        if isinstance(outputs, PhotoOutputs):
            return outputs
        if isinstance(outputs, np.ndarray):
            return cls(outputs)
        return cls(**outputs)

    @classmethod
    def empty(cls) -> "PhotoOutputs":
        return cls(np.zeros((0, 1), np.float32))

    @property
    def count(self) -> int:
        """How many photos."""
        return len(self.embedding)

    def take(self, rows: list[int]) -> "PhotoOutputs":
        """The outputs of some of the photos, by position."""
        return replace(self, **{k: v[rows] for k, v in self.items()})

    # -- the mapping view -------------------------------------------------------------------

    def __getitem__(self, kind: str) -> np.ndarray:
        value = getattr(self, kind, None) if kind in _FIELDS else None
        if value is None:
            raise KeyError(kind)
        return value

    def __iter__(self) -> Iterator[str]:
        return (k for k in _FIELDS if getattr(self, k) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    # -- storage ----------------------------------------------------------------------------

    def save(self, store: Store, model: str, ids: list[int], kinds: tuple[str, ...] = STORED_KINDS) -> None:
        """Keep these photos' outputs (inside the caller's transaction): everything tags need
        later, so that retagging need not decode again. `kinds` limits it to some outputs (a
        later pass adds its own beside what is stored)."""
        for kind in STORED_KINDS:
            if kind not in kinds:
                continue
            value = getattr(self, kind)
            if value is not None:
                store.put_vectors(model, kind, zip(ids, value.reshape(len(ids), -1)))

    @classmethod
    def load(cls, store: Store, model: str, ids: list[int], with_features: bool = False, n_views: int = 0,
             detail_classifier: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[list[int], "PhotoOutputs"]:
        """The stored outputs of these photos, with the stand-ins above; photos without an
        embedding (or, `with_features`, without features) left out. `n_views` is the model's
        number of tag views; `detail_classifier` (weights [C, F], bias [C]) is given for a model
        with a tag detail pass (its stand-in needs the logits)."""
        vecs = store.vectors_for(ids, model, "embedding")
        feats = store.vectors_for(ids, model, "features") if with_features else {}
        ids = [i for i in ids if i in vecs and (not with_features or i in feats)]
        if not ids:
            return ids, cls.empty()
        outputs = cls(np.stack([vecs[i] for i in ids]))
        if not with_features:
            return ids, outputs
        outputs.features = np.stack([feats[i] for i in ids])
        dim = outputs.features.shape[1]
        if n_views:
            views = store.vectors_for(ids, model, "view_features")

            def views_of(i: int) -> np.ndarray:
                v = views.get(i)
                return v.reshape(n_views, dim) if v is not None and v.size == n_views * dim \
                    else np.repeat(feats[i][None], n_views, 0)

            outputs.view_features = np.stack([views_of(i) for i in ids])
        if detail_classifier is not None:
            weights, bias = detail_classifier
            stored = replace(outputs, **_stored_detail(store, model, ids, dim, weights.shape[0]))
            outputs.detail_features, outputs.detail_probs = detail_or_stand_in(
                stored, outputs.features @ weights.T + bias)
            faces = store.vectors_for(ids, model, "detail_faces")
            outputs.detail_faces = np.array([faces[i][:1] if i in faces and faces[i].size else [np.nan]
                                             for i in ids], np.float32)
        return ids, outputs


_FIELDS = tuple(f.name for f in fields(PhotoOutputs))


def _stored_detail(store: Store, model: str, ids: list[int], dim: int, classes: int) -> dict[str, np.ndarray]:
    """The tag detail pass's stored outputs, a NaN row for a photo that has none
    (detail_or_stand_in puts its whole photo in its place)."""
    features, probs = (store.vectors_for(ids, model, kind) for kind in ("detail_features", "detail_probs"))
    have = [i in features and i in probs and features[i].size == dim and probs[i].size == classes for i in ids]
    return {"detail_features": np.stack([features[i] if h else np.full(dim, np.nan, np.float32)
                                         for i, h in zip(ids, have)]),
            "detail_probs": np.stack([probs[i] if h else np.full(classes, np.nan, np.float32)
                                      for i, h in zip(ids, have)])}


def detail_or_stand_in(outputs: PhotoOutputs, logits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tag detail pass's outputs (for a model that has the pass). A photo without them (no
    outputs at all, or NaN rows from load) has its whole photo standing in, alike while
    indexing and when retagging, until the pass reaches it."""
    detail, probs = outputs.detail_features, outputs.detail_probs
    if detail is None:
        return outputs.features, softmax(logits)
    missing = np.isnan(detail[:, :1])
    if not missing.any():  # indexing with the pass, and most retagging: nothing to stand in
        return detail, probs
    return np.where(missing, outputs.features, detail), np.where(missing, softmax(logits), probs)
