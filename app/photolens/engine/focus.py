"""Focused similarity, the recipe's re-weighting trick.

For the built-in model, a concept ("cat") is matched to the ImageNet classes whose names are
nearest to it, and the CNN features are re-weighted by those classes' classifier weights: the
dimensions the classifier relies on for "cat" count, the rest fade. CLIP-family models have no
classifier; their focus moves the photo's vector toward the concept's words instead.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .models import ModelInfo

# How many ImageNet classes stand for one concept ("cat" -> tabby, tiger cat, Persian cat...).
FOCUS_CLASSES = 5
# Softmax temperature over name similarities: sharp enough that unrelated classes add nothing.
FOCUS_TEMPERATURE = 0.05


@lru_cache(maxsize=4)
def _classifier(folder: str, weights_file: str, class_text_file: str) -> tuple[np.ndarray, np.ndarray]:
    w = np.load(f"{folder}/{weights_file}", allow_pickle=False).astype(np.float32)
    t = np.load(f"{folder}/{class_text_file}", allow_pickle=False).astype(np.float32)
    return w, t


def focus_weights(model: ModelInfo, concept: np.ndarray) -> np.ndarray | None:
    """Per-dimension weights for the CNN features, or None where the model has no classifier."""
    spec = model.manifest.get("classifier")
    if not spec or model.folder is None:
        return None
    w, class_text = _classifier(str(model.folder), spec["weights"], spec["class_text"])
    sims = class_text @ concept
    top = np.argsort(-sims)[:FOCUS_CLASSES]
    p = np.exp((sims[top] - sims[top].max()) / FOCUS_TEMPERATURE)
    p /= p.sum()
    weights = np.maximum(p @ w[top], 0.0)
    if not weights.any():
        return None
    return weights / weights.max()
