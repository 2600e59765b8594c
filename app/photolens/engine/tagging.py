"""Auto-tags, related words and taught concepts: the words nearest to a photo, to a query, and
small classifiers learned from the user's own examples.

Every model gets z-scores: a term's cosine similarity to a photo, standardised by how similar
that term is to photos in general (its mean and spread over a reference set of photos). Raw
cosines are not comparable across terms ("person" is close to almost every photo); z-scores
are, so one calibrated threshold serves the whole vocabulary. A model that ships a trained
tagger (the built-in one: see tagscore.py) turns the z-scores, its CNN features and its
ImageNet classes into calibrated probabilities, which is what its tags are scored with.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import tagscore
from .config import bundled_models_dir
from .embedder import Embedder
from .indexer import DETAIL_KINDS
from .store import Store

log = logging.getLogger("photolens.tags")

# model outputs per photo: "embedding" [N, D], and "features"/"logits" where the model has them,
# "view_features"/"view_logits" [N, V, ...] where it has tag views
Outputs = dict

PROMPT = "a photo of {}"
MAX_TAGS = 8  # more than this per photo is noise to a person browsing tags
# Default z-score threshold where a model has not been calibrated: chosen on coco-mini for the
# built-in model (see `photolens eval`), which is what users without a calibration run get.
DEFAULT_THRESHOLD = 2.0
# How sure calibration must be that tags reach their precision target (threshold_for_precision).
CALIBRATION_CONFIDENCE = 0.8
RETAGGED_UNDER = "tags_retagged_under"  # meta key: the tagger identity of the last finished retag
RETAG_CHUNK = 256  # photos per retagging transaction: their evidence is [chunk, terms, N_EVIDENCE] floats
MIN_REFERENCE = 50  # photos needed before the library's own statistics replace the reference set


@lru_cache(maxsize=1)
def vocabulary() -> dict:
    return json.loads((bundled_models_dir() / "data" / "vocabulary.json").read_text())


def terms() -> list[str]:
    return [t["term"] for t in vocabulary()["terms"]]


def vocabulary_hash(words: list[str]) -> str:
    """Identifies a vocabulary and its prompt: vectors made for another one are not reused."""
    return hashlib.sha256("\n".join([PROMPT, *words]).encode()).hexdigest()


@dataclass
class TermStats:
    mean: np.ndarray
    std: np.ndarray


class Tagger:
    def __init__(self, store: Store | None, embedder: Embedder, words: list[str] | None = None,
                 threshold: float | None = None):
        self.store = store
        self.embedder = embedder
        self.words = words or terms()
        self.tag_model, self._groups, self._classifier = self._load_tag_model(embedder.model)
        default = self.tag_model.threshold if self.tag_model is not None else DEFAULT_THRESHOLD
        self.threshold = threshold if threshold is not None else float(
            embedder.model.manifest.get("tag_threshold", default))
        self._vectors: np.ndarray | None = None
        self._stats: TermStats | None = None
        self.words_hash = vocabulary_hash(self.words)
        model = embedder.model
        # Everything the tags depend on but the threshold (which a caller may change).
        self._identity_parts = [model.name,
                                model.file_sha((model.manifest.get("tagger") or {}).get("file"))
                                if self.tag_model is not None else None,
                                model.fingerprint, list(model.tag_views), self.words_hash]

    def _load_tag_model(self, model):
        """The model's trained tagger, ImageNet groups and classifier, where it ships them."""
        spec = model.manifest.get("tagger")
        cls_spec = model.manifest.get("classifier")
        if not spec or not cls_spec:
            return None, None, None
        try:
            tag_model = tagscore.TagModel.load(model.folder / spec["file"])
            classes = json.loads((bundled_models_dir() / "data" / "imagenet_classes.json").read_text())["classes"]
            groups = tagscore.imagenet_groups(self.words, [c["names"] for c in classes],
                                              bundled_models_dir() / "data" / "imagenet_groups.json")
            weights = np.load(model.folder / cls_spec["weights"], allow_pickle=False).astype(np.float32)
            bias = np.load(model.folder / cls_spec["bias"], allow_pickle=False).astype(np.float32)
            if tag_model.stack.shape != (tagscore.N_EVIDENCE,):
                raise ValueError(f"it weighs {tag_model.stack.size} kinds of evidence, this version "
                                 f"{tagscore.N_EVIDENCE}")
        except (OSError, KeyError, ValueError) as e:  # damaged or from an older build: tags still work
            log.warning("the tagger of %s cannot be read (%s); tags use z-scores until it is rebuilt",
                        model.name, e)
            return None, None, None
        return tag_model, groups, (weights, bias)

    @classmethod
    def for_model(cls, store: Store, embedder: Embedder) -> "Tagger | None":
        try:
            vocabulary()
        except (OSError, ValueError):
            return None
        return cls(store, embedder)

    @property
    def model(self) -> str:
        return self.embedder.model.name

    @property
    def identity(self) -> str:
        """What the auto tags were computed with: the model, its trained tagger and tag views, the
        vocabulary and the threshold. Photos tagged under another identity are retagged (after
        a model switch or an update that ships a new tagger), from their stored vectors."""
        parts = [*self._identity_parts, round(self.threshold, 6)]
        digest = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:12]
        return f"{self.model}@{digest}"

    @property
    def needs_features(self) -> bool:
        return self.tag_model is not None

    @property
    def vectors(self) -> np.ndarray:
        """The vocabulary's text vectors: a few thousand prompts take seconds to encode, so they
        are cached on disk per model and vocabulary."""
        if self._vectors is None:
            self._vectors = self._cached_vectors()
        return self._vectors

    def _cached_vectors(self) -> np.ndarray:
        from .config import cache_dir
        from .fsutil import atomic_write_bytes

        model = self.embedder.model
        shipped = model.manifest.get("vocabulary")  # the built-in model ships them, made at build time
        if shipped and shipped.get("words_sha256") == self.words_hash:
            try:
                return np.load(model.folder / shipped["file"], allow_pickle=False).astype(np.float32)
            except (OSError, ValueError):
                pass
        identity = json.dumps([model.name, model.manifest.get("built"), model.manifest.get("files"),
                               self.words_hash], sort_keys=True, default=str)
        path = cache_dir() / "vocabulary" / f"{model.name}-{hashlib.sha256(identity.encode()).hexdigest()[:16]}.npy"
        try:
            vecs = np.load(path, allow_pickle=False)
            if vecs.shape[0] == len(self.words):
                return vecs.astype(np.float32)
        except (OSError, ValueError):
            pass  # missing or unreadable: encode again
        vecs = self.embedder.embed_texts([PROMPT.format(w) for w in self.words])
        try:
            buf = io.BytesIO()
            np.save(buf, vecs.astype(np.float16))
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, buf.getvalue())
        except OSError:
            pass  # a read-only or full cache only costs the encoding next time
        return vecs

    def stats(self, reference: np.ndarray | None = None) -> TermStats:
        """Each term's mean and spread of similarity over a reference set of photos: the
        library itself once it is large enough."""
        if reference is not None:
            return self._compute_stats(reference)
        if self._stats is None:
            _, mat = self.store.vectors(self.model)
            if len(mat) < MIN_REFERENCE:
                return self._compute_stats(mat) if len(mat) >= 5 else TermStats(np.zeros(len(self.words)),
                                                                                 np.full(len(self.words), 0.05))
            self._stats = self._compute_stats(mat)
        return self._stats

    def _compute_stats(self, mat: np.ndarray) -> TermStats:
        sims = mat @ self.vectors.T
        return TermStats(sims.mean(0), np.maximum(sims.std(0), 1e-3))

    def zscores(self, embeddings: np.ndarray, stats: TermStats | None = None) -> np.ndarray:
        st = stats or self.stats()
        return (embeddings @ self.vectors.T - st.mean) / st.std

    def scores(self, outputs: Outputs | np.ndarray, stats: TermStats | None = None) -> np.ndarray:
        """[N, T] tag scores: calibrated probabilities with a trained tagger, else z-scores."""
        if not isinstance(outputs, dict):
            outputs = {"embedding": outputs}
        z = self.zscores(outputs["embedding"], stats)
        if self.tag_model is None or outputs.get("features") is None:
            return z
        weights, bias = self._classifier  # stored features (retagging) have no logits: it is linear
        logits = outputs.get("logits")
        if logits is None:
            logits = outputs["features"] @ weights.T + bias
        views = outputs.get("view_features")
        view_logits = outputs.get("view_logits")
        if views is not None and view_logits is None:
            view_logits = views @ weights.T + bias
        detail, detail_probs = self._detail_or_stand_in(outputs, logits)
        x = tagscore.evidence(self.tag_model, self.words, outputs["features"], logits, self._groups, z,
                              views, view_logits, detail, detail_probs)
        return tagscore.stacked(x, self.tag_model.stack)

    def _detail_or_stand_in(self, outputs: Outputs, logits: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The tag detail pass's outputs. A photo indexed without the pass (thorough tags off, or
        an older version: no outputs, or NaN rows from stored_outputs) has its whole photo
        standing in ("no more than the photo shows as a whole"), alike while indexing and when
        retagging, until the pass reaches it."""
        if self.embedder.model.tag_detail is None:
            return None, None
        detail, probs = outputs.get("detail_features"), outputs.get("detail_probs")
        if detail is None:
            return outputs["features"], tagscore.softmax(logits)
        missing = np.isnan(detail[:, :1])
        if not missing.any():  # indexing with the pass, and most retagging: nothing to stand in
            return detail, probs
        return np.where(missing, outputs["features"], detail), np.where(missing, tagscore.softmax(logits), probs)

    def tags_for(self, outputs: Outputs | np.ndarray, stats: TermStats | None = None,
                 threshold: float | None = None, allowed: np.ndarray | None = None) -> list[list[tuple[str, float]]]:
        return self.tags_from_scores(self.scores(outputs, stats), threshold, allowed)

    def tags_from_scores(self, scores: np.ndarray, threshold: float | None = None,
                         allowed: np.ndarray | None = None) -> list[list[tuple[str, float]]]:
        """At most MAX_TAGS terms per photo, best first, those at or above the threshold."""
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
        thr = self.threshold if threshold is None else threshold
        out = []
        for row in scores:
            top = np.argsort(-row)[:MAX_TAGS]
            out.append([(self.words[i], float(row[i])) for i in top if row[i] >= thr])
        return out

    def on_batch(self, ids: list[int], outputs: Outputs) -> None:
        """Called by the indexer inside its transaction: tag the photos it just embedded."""
        self.apply(ids, outputs)

    def apply(self, ids: list[int], outputs: Outputs | np.ndarray) -> None:
        tags = self.tags_for(outputs)
        rejected = self.store.rejected_tags_of(ids)  # one query per batch, not one per photo
        items = [(pid, [(w, s) for w, s in t if w not in rejected.get(pid, ())]) for pid, t in zip(ids, tags)]
        self.store.replace_auto_tags(self.model, items)
        self.store.mark_tagged(ids, self.identity)

    def stored_outputs(self, ids: list[int], store: Store | None = None) -> tuple[list[int], Outputs]:
        """The stored vectors of these photos (in this library, or another library's `store`
        indexed with the same model), as model outputs; photos without vectors left out."""
        store = store or self.store
        vecs = store.vectors_for(ids, self.model, "embedding")
        feats = store.vectors_for(ids, self.model, "features") if self.needs_features else {}
        ids = [i for i in ids if i in vecs and (not self.needs_features or i in feats)]
        outputs = {"embedding": np.stack([vecs[i] for i in ids]) if ids else np.zeros((0, 1), np.float32)}
        if self.needs_features and ids:
            outputs["features"] = np.stack([feats[i] for i in ids])
            n_views = len(self.embedder.model.tag_views)
            if n_views:
                # A photo indexed before the model had views has none: its whole-photo features
                # stand in, so its view evidence says "no more than the photo shows".
                views = store.vectors_for(ids, self.model, "view_features")
                dim = outputs["features"].shape[1]

                def views_of(i: int) -> np.ndarray:
                    v = views.get(i)
                    return v.reshape(n_views, dim) if v is not None and v.size == n_views * dim \
                        else np.repeat(feats[i][None], n_views, 0)

                outputs["view_features"] = np.stack([views_of(i) for i in ids])
            if self.embedder.model.tag_detail is not None:
                weights, bias = self._classifier
                stored = {**outputs, **self._stored_detail(ids, outputs["features"].shape[1], store)}
                outputs["detail_features"], outputs["detail_probs"] = self._detail_or_stand_in(
                    stored, outputs["features"] @ weights.T + bias)
        return ids, outputs

    def _stored_detail(self, ids: list[int], dim: int, store: Store) -> Outputs:
        """The tag detail pass's stored outputs, a NaN row for a photo that has none
        (_detail_or_stand_in puts its whole photo in its place)."""
        features, probs = (store.vectors_for(ids, self.model, kind) for kind in DETAIL_KINDS)
        classes = self._classifier[0].shape[0]
        have = [i in features and i in probs and features[i].size == dim and probs[i].size == classes for i in ids]
        return {"detail_features": np.stack([features[i] if h else np.full(dim, np.nan, np.float32) for i, h in zip(ids, have)]),
                "detail_probs": np.stack([probs[i] if h else np.full(classes, np.nan, np.float32) for i, h in zip(ids, have)])}

    def retag_all(self, progress=None, control=None, chunk: int = RETAG_CHUNK) -> int:
        """Recompute auto tags where they come from another model, tagger or vocabulary (or none
        yet), from the stored vectors: no photo is decoded again. One transaction per chunk, so
        an interruption keeps what is done; `progress` and `control` as for indexing."""
        from .indexer import Progress

        identity = self.identity
        # Every full index run asks; once a retag has finished under this identity, and indexing
        # tags new photos under it too, the answer is "none" without a pass over the library.
        if self.store.get_meta(RETAGGED_UNDER) == identity:
            return 0
        todo = self.store.photos_to_tag(identity, self.model)
        state = Progress(0, len(todo), 0, time.monotonic(), stage="updating tags")
        for start in range(0, len(todo), chunk):
            if control is not None:
                control.wait_if_paused()
                if control.cancelled.is_set():
                    return state.done
            part = todo[start:start + chunk]
            with self.store.transaction():
                ids, outputs = self.stored_outputs(part)
                if ids:
                    self.apply(ids, outputs)
            state.done += len(part)
            if progress is not None:
                progress(state)
        self.store.set_meta(RETAGGED_UNDER, identity)
        return state.done

    def related_words(self, text: str, k: int = 5) -> list[str]:
        """Vocabulary terms nearest to a query (text to text), leaving out the query's own words."""
        q = self.embedder.embed_text(text)
        sims = self.vectors @ q
        own = set(text.lower().split())
        out = []
        for i in np.argsort(-sims):
            w = self.words[i]
            if w in own or w in text.lower():
                continue
            out.append(w)
            if len(out) == k:
                break
        return out


class ConceptTeacher:
    """Learns a new tag from a handful of the user's photos: a logistic-regression classifier on
    the photos' vectors, with the user's rejections and the rest of the library as negatives."""

    def __init__(self, store: Store, model: str):
        self.store, self.model = store, model

    def add_example(self, concept: str, photo_id: int, positive: bool) -> None:
        self.store.set_concept_example(concept, photo_id, positive)

    def propose(self, concept: str, k: int = 50):
        from .search import Searcher

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
        return Searcher._results_for(self.store, [(int(ids[i]), float(scores[i])) for i in order])


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


# -- measurement ---------------------------------------------------------------------------

def coco_terms(tagger: Tagger) -> tuple[np.ndarray, dict[str, str]]:
    """Which vocabulary terms stand for COCO classes (for measuring against COCO labels)."""
    mapping = vocabulary()["coco_map"]
    allowed = np.array([w in set(mapping.values()) for w in tagger.words])
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


def _prf(tagger, scores, entries, threshold, allowed, mapping) -> tuple[float, float]:
    tp = fp = fn = 0
    for tags, e in zip(tagger.tags_from_scores(scores, threshold, allowed), entries):
        truth = {mapping.get(c, c) for c in e.get("classes") or []}
        got = {w for w, _ in tags}
        tp += len(got & truth)
        fp += len(got - truth)
        fn += len(truth - got)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 0.0)


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


def calibrate(tagger: Tagger, outputs: Outputs, entries: list[dict], min_precision: float = 0.6) -> float:
    """The tag threshold for these labelled photos (threshold_for_precision)."""
    allowed, mapping = coco_terms(tagger)
    scores = tagger.scores(outputs, tagger.stats(outputs["embedding"]))
    truth = [{mapping.get(c, c) for c in e.get("classes") or []} for e in entries]
    return threshold_for_precision(scores, truth, tagger.words, allowed, min_precision).threshold


def _labelled_outputs(tagger: Tagger, cat, entries: list[dict]) -> tuple[list[dict], Outputs]:
    """The stored outputs of a set indexed into `cat`, in the order of its labelled entries."""
    rows = {p.path: p.id for p in cat.store.photos_in_folder(cat.store.folders()[0]["id"]).values()}
    ids, outputs = tagger.stored_outputs([rows[e["path"]] for e in entries if e["path"] in rows], cat.store)
    have = set(ids)
    keep = [e for e in entries if rows.get(e["path"]) in have]
    return keep, outputs


def caption_check(cat, entries: list[dict]) -> dict | None:
    """How many of the auto-tags a photo's own captions name (CAPTION_WORDS, plurals, aliases),
    for COCO terms and for the rest of the vocabulary, and the most frequent tags that captions
    seldom name. A lower bound on precision: captions do not name everything a photo shows
    ("whippet": the captions say "dog"). It is the only measure here for the thousands of terms
    no labelled set covers."""
    from collections import Counter

    from .captions import caption_patterns

    tagger = cat.tagger
    keep, outputs = _labelled_outputs(tagger, cat, [e for e in entries if e.get("captions")])
    if not keep:
        return None
    patterns = caption_patterns(vocabulary())
    coco = set(vocabulary()["coco_map"].values())
    named, count, per_term, per_term_named = Counter(), Counter(), Counter(), Counter()
    for tags, e in zip(tagger.tags_for(outputs, tagger.stats(outputs["embedding"])), keep):
        text = " \n ".join(c.lower() for c in e["captions"])
        for term, _ in tags:
            hit = term in patterns and bool(patterns[term].search(text))
            kind = "coco_terms" if term in coco else "other_terms"
            count[kind] += 1
            named[kind] += hit
            per_term[term] += 1
            per_term_named[term] += hit
    seldom = [{"tag": t, "photos": n, "named": round(per_term_named[t] / n, 2)}
              for t, n in per_term.most_common() if n >= max(3, len(keep) // 50) and per_term_named[t] / n < 0.2]
    return {"tags_per_photo": round(sum(count.values()) / len(keep), 2),
            **{kind: {"tags": count[kind], "named_in_captions": round(named[kind] / count[kind], 3)}
               for kind in ("coco_terms", "other_terms") if count[kind]},
            "seldom_named": seldom[:10]}


def measure_tags(cat, entries, dataset: Path, calibration: Path | None, device: str) -> dict | None:
    """Precision and recall of auto-tags against COCO classes, with the threshold calibrated on
    another set (coco-mini by default), never on the set measured."""
    from .evaluate import index_dataset, load_labels

    import tempfile

    tagger = Tagger(cat.store, cat.embedder)
    calibration = calibration or (Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "coco-mini")
    threshold, calibrated_on = tagger.threshold, None
    if calibration.is_dir() and calibration.resolve() != dataset.resolve():
        cal_entries = load_labels(calibration)
        with tempfile.TemporaryDirectory() as tmp:
            cal = index_dataset(calibration, Path(tmp), cat.model.name, device)
            try:
                keep, outputs = _labelled_outputs(tagger, cal, cal_entries)
                threshold = calibrate(tagger, outputs, keep)
                calibrated_on = str(calibration)
            finally:
                cal.close()
    keep, outputs = _labelled_outputs(tagger, cat, entries)
    allowed, mapping = coco_terms(tagger)
    p, r = _prf(tagger, tagger.scores(outputs, tagger.stats(outputs["embedding"])), keep, threshold, allowed, mapping)
    return {"precision": p, "recall": r, "threshold": round(threshold, 3), "calibrated_on": calibrated_on}
