"""Tag threshold calibration: the threshold at which auto-tags reach a precision target on
labelled photos, weighed as in a natural library. Used by the tag evaluation (evaluate.py) and
by the script that trains the built-in model's tagger (models/train_tagger.py); nothing that
runs while indexing needs it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .outputs import PhotoOutputs
from .tagger import MAX_TAGS, Tagger, vocabulary

__all__ = ["CALIBRATION_CONFIDENCE", "COCO_PRECISION", "Calibration", "calibrate", "coco_terms", "natural_weights",
           "threshold_for_precision"]

# How sure calibration must be that tags reach their precision target (threshold_for_precision).
CALIBRATION_CONFIDENCE = 0.8
# The precision the COCO terms' threshold is calibrated for on coco-mini: a wrong tag costs a
# user more trust than a missing one, so 0.7 rather than the tagger's training target of 0.6.
COCO_PRECISION = 0.7


def coco_terms(words: list[str]) -> tuple[np.ndarray, dict[str, str]]:
    """Which of these vocabulary terms stand for COCO classes, and the map from COCO's class
    names to terms (for calibrating and measuring against COCO labels)."""
    mapping = vocabulary()["coco_map"]
    allowed = np.array([w in set(mapping.values()) for w in words])
    return allowed, mapping


def natural_weights(labels: list[set[str]], rounds: int = 200) -> np.ndarray:
    """Photo weights that undo a stratified sample's class balance.

    A calibration set like coco-mini holds a photo or two picked for each class, so a rare class
    (toaster) is as common there as person, and a threshold that reaches a precision there tags
    rare things too eagerly on a real library. A class's labels beyond the photos picked for it
    (as many as the rarest class has: no class can have fewer) are incidental, and incidental
    labels are distributed as in the photos at large. Raking (iterative proportional fitting)
    finds weights under which each class is as frequent as its incidental labels say; photos
    picked for rare classes then weigh little. The number of picks per class is what the rarest
    classes have (the 5th percentile of the class counts, so one class short of a pick does not
    decide it): 2 for coco-mini, drawn once from COCO's train and once from its val split. A set
    whose rarer classes are seen once shows no such structure: it is taken as drawn at random,
    with even weights."""
    classes = sorted({c for row in labels for c in row})
    n = len(labels)
    if not classes or n == 0:
        return np.ones(n)
    y = np.array([[c in row for c in classes] for row in labels], bool)
    counts = y.sum(axis=0)
    picks = np.floor(np.percentile(counts, 5))
    if picks < 2:
        return np.ones(n)
    target = np.maximum(counts - picks, 0.5) / n
    weights = np.ones(n)
    order = np.argsort(counts)
    for _ in range(rounds):
        for j in order:
            share = weights[y[:, j]].sum() / weights.sum()
            weights[y[:, j]] *= np.sqrt(target[j] / share)  # damped: the classes overlap
        weights *= n / weights.sum()
    return weights


@dataclass
class Calibration:
    threshold: float
    precision: float  # at the threshold, photos weighed by natural_weights
    recall: float
    confidence: float  # share of bootstrap resamples whose precision reaches the target


def threshold_for_precision(scores: np.ndarray, truth: list[set[str]], words: list[str], allowed: np.ndarray,
                            min_precision: float = 0.6, confidence: float = CALIBRATION_CONFIDENCE,
                            resamples: int = 400, seed: int = 0) -> Calibration:
    """The threshold with the most recall whose precision reaches `min_precision` with the given
    confidence (the best F1 if none does), on labelled photos: `scores` [N, T], `truth` the
    terms each photo shows, `allowed` the terms the labels can speak for.

    Precision and recall are weighed as in a natural library (natural_weights), and the
    confidence is the share of bootstrap resamples of the photos that reach the precision. A
    calibration set of a hundred-odd photos, re-weighted, is a noisy estimate: where the point
    estimate just reaches the target, a library's precision falls below it about half the time.
    Asking for 80% confidence costs some recall and makes that rare; a wrong tag costs a user
    more trust than a missing one. Candidates are quantiles of the scores, so z-scores and
    probabilities calibrate alike."""
    n = len(truth)
    masked = np.where(allowed, scores, -np.inf)
    top = np.argsort(-masked, axis=1)[:, :MAX_TAGS]
    top_scores = np.take_along_axis(masked, top, axis=1)
    correct = np.array([[words[j] in tr for j in row] for row, tr in zip(top, truth)], bool).reshape(n, -1)
    n_true = np.array([len(tr) for tr in truth], float)
    candidates = np.unique(np.quantile(scores[:, allowed], np.linspace(0.80, 0.999, 120)))
    got = top_scores[:, :, None] >= candidates[None, None, :]  # [N, K, C]
    tp = (got & correct[:, :, None]).sum(axis=1).astype(float)  # [N, C]
    fp = (got & ~correct[:, :, None]).sum(axis=1).astype(float)
    weights = natural_weights(truth)

    def precision(tp_sum, fp_sum):
        return np.where(tp_sum + fp_sum > 0, tp_sum / np.maximum(tp_sum + fp_sum, 1e-12), 1.0)

    draws = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=resamples) * weights  # [B, N]
    sure = (precision(draws @ tp, draws @ fp) >= min_precision).mean(axis=0)  # [C]
    p = precision(weights @ tp, weights @ fp)
    r = (weights @ tp) / max(float(weights @ n_true), 1e-12)
    ok = np.flatnonzero(sure >= confidence)
    if len(ok):
        best = ok[np.argmax(r[ok])]
    else:
        best = int(np.argmax(2 * p * r / np.maximum(p + r, 1e-12)))
    return Calibration(float(candidates[best]), float(p[best]), float(r[best]), float(sure[best]))


def calibrate(tagger: Tagger, outputs: PhotoOutputs, entries: list[dict],
              min_precision: float = COCO_PRECISION) -> float:
    """The tag threshold for these labelled photos (threshold_for_precision)."""
    allowed, mapping = coco_terms(tagger.words)
    scores = tagger.scores(outputs, tagger.stats(outputs))
    truth = [{mapping.get(c, c) for c in e.get("classes") or []} for e in entries]
    return threshold_for_precision(scores, truth, tagger.words, allowed, min_precision).threshold
