"""The built-in model's tag scorer: how likely a photo shows each vocabulary term.

Three kinds of evidence for every (photo, term) pair, combined by a small logistic "stacker":

1. a multi-label linear tagger on the CNN features, learned from the nouns in flickr8k-train's
   captions ("man", "girls", "crowd" all count for *person*);
2. ImageNet-1k class probabilities summed over the classes that stand for the term (the dog
   breeds for *dog*; a term that is an ImageNet class is its own group), from
   models/data/imagenet_groups.json;
3. the joint-space similarity of the photo to "a photo of {term}", z-scored per term.

The raw cosine of (3) alone over-tags terms that sit close to many photos; (1) and (2) are
trained detectors and carry most of the precision. The stacker's weights and the threshold are
calibrated on coco-mini by models/train_tagger.py, which also trains (1); both this module and
that script compute the evidence here, so training and run time cannot drift apart.
Detector evidence is measured against each term's base rate and only its positive part counts:
"person" is in 77% of the caption-training photos and "dog" has 118 ImageNet classes, so their
raw probabilities are high everywhere; what a photo adds above that is the signal. (On coco-mini
this took recall at precision 0.6 from 0.26 to 0.33.)

A fourth kind of evidence comes from a closer look: the model's "tag views" (manifest
`tag_views`, the built-in model has the centre half of the photo) run through the same CNN, and
their detector evidence, taken at its maximum over the views, gets its own two columns. Small
objects that the whole 224-pixel photo shrinks away (cups, bottles, knives, phones) are twice
the size there. (On coco-mini, 2-fold cross-validated, recall at precision 0.6 went from 0.31
to 0.37 for one extra pass of the CNN per photo.)

A fifth kind looks for small things anywhere: the model's "tag detail" pass (manifest
`tag_detail`; the built-in model runs the CNN at 448 px and averages its 14x14 feature map over
every 4x4 window) gives each feature's and each ImageNet class's largest value over the windows.
The caption tagger reads the first, the ImageNet groups the second (each class's best window,
summed over the group), as two more columns. The last column is the caption term's base rate in
flickr8k-train (its logit): the detector columns count only what a photo shows above the base
rate, and this gives the stacker the base rate back, so common things ("person") need less
evidence than rare ones. (On coco-mini, 2-fold cross-validated: recall at precision 0.6 from 0.37
to 0.45, for about four more 224-px passes of compute per photo.)

A sixth is for "person" alone, which ImageNet has no class for: the detail pass of the built-in
model also runs a face detector (CenterFace, models/face_detector.py) and reports the strongest
face's score. It gets two columns, nonzero for "person" only: the score, and 1 where the detector
ran (so the stacker learns what finding no face says). A photo the detector has not seen has
its "person" logit recalibrated instead (Platt's scaling, fitted: stacked_by_faces). (The person tag's
average precision on coco-mini 0.822 -> 0.838, 2-fold; on coco128 0.871 -> 0.906; README.)

Only numpy (and scipy's optimiser, for fitting): no torch at run time.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np



class Evidence(IntEnum):
    """The stacker's columns, in the order of its stored weights (TagModel.stack): a trained
    tagger file holds one weight per column, so never reorder them; a new kind of evidence is a
    new column at the end (and a new tagger build)."""

    CAPTION = 0  # the caption tagger's logit above the term's base rate (positive part)
    HAS_CAPTION = 1  # 1 where the caption tagger covers the term
    IMAGENET = 2  # the ImageNet group's logit above its share of the classes (positive part)
    HAS_IMAGENET = 3  # 1 where the term has an ImageNet group
    ZSCORE = 4  # the joint-space z-score
    ZSCORE_WITHOUT_DETECTOR = 5  # the z-score again for terms with neither detector (all they have, and noisier)
    NO_DETECTOR = 6  # 1 for those terms
    BIAS = 7  # always 1
    VIEW_CAPTION = 8  # CAPTION of the tag views (best view)
    VIEW_IMAGENET = 9  # IMAGENET of the tag views (best view)
    DETAIL_CAPTION = 10  # CAPTION of the tag detail pass (each feature's best window)
    DETAIL_IMAGENET = 11  # IMAGENET of the tag detail pass (each class's best window)
    CAPTION_PRIOR = 12  # the caption term's base rate (logit; 0 for terms without a caption tagger)
    FACE = 13  # the detail pass's strongest face (0..1), for FACE_TERMS only
    FACE_SEEN = 14  # 1 for FACE_TERMS where the face detector ran on the photo


N_EVIDENCE = len(Evidence)
FACE_TERMS = ("person",)  # the terms a face is evidence for


def softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=-1, keepdims=True)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return np.log(p / (1 - p))


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def imagenet_groups(words: list[str], class_names: list[list[str]], groups_file: Path) -> np.ndarray:
    """float32 [1000, T]: 1 where ImageNet class c stands for vocabulary term t."""
    spec = json.loads(groups_file.read_text())
    col = {w: j for j, w in enumerate(words)}
    first = {}
    for i, names in enumerate(class_names):
        for n in names:
            first.setdefault(n, i)
    m = np.zeros((len(class_names), len(words)), np.float32)
    for term, spans in spec.get("ranges", {}).items():
        if term in col:
            for a, b in spans:
                m[a:b + 1, col[term]] = 1
    for term, names in spec.get("names", {}).items():
        if term in col:
            for n in names:
                if n in first:
                    m[first[n], col[term]] = 1
    for j, w in enumerate(words):  # a term that is itself an ImageNet class
        if not m[:, j].any() and w in first:
            m[first[w], j] = 1
    return m


@dataclass
class TagModel:
    """The trained parts: the caption tagger (W, b over standardised features, for the terms
    in `terms`, with each term's base rate in its training photos), the stacker weights and
    the calibrated threshold. `faceless`: (scale, shift) of FACE_TERMS' logit for a photo without
    a face score, in place of what the face columns would have said (fit_faceless)."""

    terms: list[str]
    W: np.ndarray
    b: np.ndarray
    mu: np.ndarray
    sd: np.ndarray
    prior: np.ndarray
    stack: np.ndarray
    threshold: float
    faceless: tuple[float, float] = (1.0, 0.0)

    @classmethod
    def load(cls, path: Path) -> "TagModel":
        d = np.load(path, allow_pickle=False)
        faceless = tuple(float(v) for v in d["faceless"]) if "faceless" in d.files else (1.0, 0.0)
        return cls([str(t) for t in d["terms"]], d["W"].astype(np.float32), d["b"].astype(np.float32),
                   d["mu"].astype(np.float32), d["sd"].astype(np.float32), d["prior"].astype(np.float32),
                   d["stack"].astype(np.float64), float(d["threshold"]), faceless)

    def save(self, path: Path) -> None:
        np.savez(path, terms=np.array(self.terms), W=self.W.astype(np.float16), b=self.b, mu=self.mu, sd=self.sd,
                 prior=self.prior, stack=self.stack, threshold=np.float64(self.threshold),
                 faceless=np.array(self.faceless, np.float64))

    def caption_probs(self, features: np.ndarray) -> np.ndarray:
        return sigmoid(((features - self.mu) / self.sd) @ self.W + self.b)


def _caption_columns(model: TagModel, words: list[str]) -> tuple[list[int], list[int]]:
    """Vocabulary columns the caption tagger covers, and the tagger's rows for them."""
    col = {w: j for j, w in enumerate(words)}
    keep = [i for i, w in enumerate(model.terms) if w in col]
    return [col[model.terms[i]] for i in keep], keep


@dataclass(frozen=True)
class Layout:
    """What the evidence needs of one tagger, vocabulary and ImageNet group matrix that is the
    same for every batch of photos. A Tagger makes it once (layout()) and hands it to every
    evidence() call; working it out for each batch cost about 15 ms of 36 for 16 photos."""

    cols: list[int]  # the vocabulary columns the caption tagger covers ...
    keep: list[int]  # ... and its rows for them
    has_caption: np.ndarray  # [T] float32: 1 where the caption tagger covers the term
    has_imagenet: np.ndarray  # [T] bool: the term has an ImageNet group
    group_prior_logit: np.ndarray  # [T] the logit of each group's share of the classes
    caption_prior: np.ndarray  # [T] caption_prior()
    face: np.ndarray  # [T] float32: 1 for FACE_TERMS


def layout(model: TagModel | None, words: list[str], groups: np.ndarray) -> Layout:
    """The Layout of a tagger, its vocabulary and its group matrix (which must not change
    afterwards: the Layout does not follow them)."""
    cols, keep = _caption_columns(model, words) if model is not None and len(model.terms) else ([], [])
    has_caption = np.zeros(len(words), np.float32)
    has_caption[cols] = 1
    group_prior = np.maximum(groups.sum(axis=0) / len(groups), 1e-3)
    face = np.array([w in FACE_TERMS for w in words], np.float32)
    return Layout(cols, keep, has_caption, groups.any(axis=0), logit(group_prior), caption_prior(model, words), face)


def caption_excess(model: TagModel | None, features: np.ndarray, lay: Layout) -> np.ndarray:
    """[N, T]: the caption tagger's logit above the term's base rate (positive part), zero for
    terms it does not cover."""
    caption = np.zeros((len(features), len(lay.has_caption)), np.float32)
    if model is not None and len(model.terms):
        pc = model.caption_probs(features)[:, lay.keep]
        caption[:, lay.cols] = np.maximum(logit(pc) - logit(model.prior[lay.keep]), 0)
    return caption


def imagenet_excess(probs: np.ndarray, groups: np.ndarray, lay: Layout) -> np.ndarray:
    """[N, T]: the ImageNet group's probability (summed over its classes) as a logit above the
    group's share of the classes (positive part), zero for terms without a group."""
    pi = np.minimum(probs.astype(np.float32) @ groups, 1.0)
    return (np.maximum(logit(pi) - lay.group_prior_logit, 0) * lay.has_imagenet).astype(np.float32)


def detector_excess(model: TagModel | None, features: np.ndarray, logits: np.ndarray,
                    groups: np.ndarray, lay: Layout) -> tuple[np.ndarray, np.ndarray]:
    """[N, T] twice: caption_excess and imagenet_excess of one image's features and logits."""
    return caption_excess(model, features, lay), imagenet_excess(softmax(logits.astype(np.float32)), groups, lay)


def caption_prior(model: TagModel | None, words: list[str]) -> np.ndarray:
    """[T]: the logit of each term's base rate among the caption tagger's training photos; 0
    for terms it does not cover."""
    prior = np.zeros(len(words), np.float32)
    if model is not None and len(model.terms):
        cols, keep = _caption_columns(model, words)
        prior[cols] = logit(model.prior[keep])
    return prior


def evidence(model: TagModel | None, words: list[str], features: np.ndarray, logits: np.ndarray,
             groups: np.ndarray, z: np.ndarray, view_features: np.ndarray | None = None,
             view_logits: np.ndarray | None = None, detail_features: np.ndarray | None = None,
             detail_probs: np.ndarray | None = None, lay: Layout | None = None,
             faces: np.ndarray | None = None) -> np.ndarray:
    """[N, T, N_EVIDENCE] for N photos and the T vocabulary terms. `view_features` [N, V, D] and
    `view_logits` [N, V, C] are the tag views' outputs, `detail_features` [N, D] and
    `detail_probs` [N, C] the tag detail pass's, `faces` [N] or [N, 1] its face scores (NaN where
    the detector did not run); without them their columns stay 0. `lay`: the Layout of model,
    words and groups where the caller keeps one (a Tagger does)."""
    n, t = z.shape
    lay = layout(model, words, groups) if lay is None else lay
    columns: dict[Evidence, np.ndarray | float] = {}
    columns[Evidence.CAPTION], columns[Evidence.IMAGENET] = detector_excess(model, features, logits, groups, lay)
    columns[Evidence.HAS_CAPTION] = lay.has_caption
    columns[Evidence.HAS_IMAGENET] = lay.has_imagenet
    columns[Evidence.ZSCORE] = z
    only_z = (lay.has_caption == 0) & ~lay.has_imagenet
    columns[Evidence.ZSCORE_WITHOUT_DETECTOR] = z * only_z
    columns[Evidence.NO_DETECTOR] = only_z
    columns[Evidence.BIAS] = 1
    if view_features is not None and view_features.shape[1]:
        v = view_features.shape[1]
        caption, imagenet = detector_excess(model, view_features.reshape(n * v, -1),
                                            view_logits.reshape(n * v, -1), groups, lay)
        columns[Evidence.VIEW_CAPTION] = caption.reshape(n, v, t).max(axis=1)
        columns[Evidence.VIEW_IMAGENET] = imagenet.reshape(n, v, t).max(axis=1)
    if detail_features is not None:
        columns[Evidence.DETAIL_CAPTION] = caption_excess(model, detail_features, lay)
        columns[Evidence.DETAIL_IMAGENET] = imagenet_excess(detail_probs, groups, lay)
    columns[Evidence.CAPTION_PRIOR] = lay.caption_prior
    if faces is not None:
        score = np.asarray(faces, np.float32).reshape(n)
        seen = ~np.isnan(score)
        columns[Evidence.FACE] = np.where(seen, score, 0)[:, None] * lay.face
        columns[Evidence.FACE_SEEN] = seen[:, None] * lay.face
    return evidence_matrix(columns, n, t)


def evidence_matrix(columns: dict[Evidence, np.ndarray | float], n: int, t: int) -> np.ndarray:
    """[n, t, N_EVIDENCE] from columns by name, each [n, t], [t] (the same for every photo) or a
    scalar; a column not given stays 0."""
    x = np.zeros((n, t, N_EVIDENCE), np.float32)
    for name, value in columns.items():
        x[:, :, name] = value
    return x


def without_faces(x: np.ndarray) -> np.ndarray:
    """The same evidence as if the face detector had not run (before the closer look reaches a
    photo, or with thorough tags off)."""
    out = x.copy()
    out[..., [Evidence.FACE, Evidence.FACE_SEEN]] = 0
    return out


def stacked_by_faces(x: np.ndarray, model: TagModel, faces_seen: np.ndarray | None, lay: Layout) -> np.ndarray:
    """[N, T] probabilities. A photo without a face score (`faces_seen` [N] False; None: no photo
    has one) has no face columns, and FACE_TERMS' logit is rescaled by `model.faceless` in their
    place: the same scores for every other term, and for "person" what its other evidence says,
    recalibrated, not what finding no face would say."""
    z = x @ model.stack.astype(np.float32)
    if model.faceless != (1.0, 0.0) and (faces_seen is None or not faces_seen.all()):
        scale, shift = model.faceless
        missing = (np.ones(len(z), bool) if faces_seen is None else ~faces_seen)[:, None] & (lay.face[None, :] > 0)
        z = np.where(missing, scale * z + shift, z).astype(np.float32)
    return sigmoid(z)


def fit_faceless(x: np.ndarray, y: np.ndarray, weights: np.ndarray, column: int) -> tuple[float, float]:
    """(scale, shift) for a face term's (`column`'s) logit where the face columns are missing:
    logistic regression of its labels on its logit with them taken out (Platt's scaling), so its
    probabilities stay calibrated and as sharp as the remaining evidence allows."""
    from scipy.optimize import minimize  # fitting only

    base = (without_faces(x)[:, column] @ weights).astype(np.float64)
    labels = y[:, column].astype(np.float64)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * base + theta[1]
        g = sigmoid(z) - labels
        return float(np.mean(np.logaddexp(0, z) - labels * z)), np.array([np.mean(g * base), np.mean(g)])

    scale, shift = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B").x
    return float(scale), float(shift)


def stacked(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return sigmoid(x @ weights.astype(np.float32))


def fit_stacker(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    """Logistic regression over all (photo, term) pairs: a handful of weights, so a small
    labelled set (coco-mini) is enough to calibrate them. Each weight's L2 penalty is `l2` times
    the share of pairs its column is nonzero in: a column that speaks for one term (FACE) is
    penalised per pair as much as one that speaks for all, not 80 times more. Fitted to
    convergence (L-BFGS)."""
    from scipy.optimize import minimize  # fitting only: not imported while indexing

    xf = x.reshape(-1, x.shape[-1]).astype(np.float64)
    yf = y.reshape(-1).astype(np.float64)
    penalty = l2 * (xf != 0).mean(axis=0)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = xf @ w
        value = np.mean(np.logaddexp(0, z) - yf * z) + 0.5 * np.sum(penalty * w * w)
        return value, xf.T @ (sigmoid(z) - yf) / len(yf) + penalty * w

    return minimize(loss, np.zeros(xf.shape[1]), jac=True, method="L-BFGS-B").x
