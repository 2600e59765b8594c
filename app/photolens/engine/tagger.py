"""Auto-tags and related words: the vocabulary terms nearest to a photo, and to a query.

Every model gets z-scores: a term's cosine similarity to a photo, standardised by how similar
that term is to photos in general (its mean and spread over a reference set of photos). Raw
cosines are not comparable across terms ("person" is close to almost every photo); z-scores
are, so one calibrated threshold serves the whole vocabulary. A model that ships a trained
tagger (the built-in one: see tagscore.py) turns the z-scores, its CNN features and its
ImageNet classes into calibrated probabilities, which is what its tags are scored with.
Concepts the user teaches live in concepts.py, threshold calibration in calibration.py, and the
measurement of tags against labelled photos in evaluate.py.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Union

import numpy as np

from . import tagscore
from .config import bundled_models_dir, cache_dir
from .embedder import Embedder
from .errors import PhotolensError
from .fsutil import atomic_write_bytes
from .hintstore import HINT_TERMS, TagHints, top_hints
from .jobs import Progress
from .outputs import PhotoOutputs, detail_or_stand_in
from .shown_tags import ShownTags
from .store import Store
from .tag_rules import RULE_NEVER, TagRules
from .taghead import load_tag_head

__all__ = ["DEFAULT_THRESHOLD", "MAX_TAGS", "PROMPT", "Tagger", "TermStats", "faces_seen", "terms", "vocabulary",
           "vocabulary_hash"]

log = logging.getLogger("photolens.tags")

# What the tagger scores: a model's outputs, or embeddings alone (z-scores only).
Outputs = Union[PhotoOutputs, Mapping[str, np.ndarray], np.ndarray]

PROMPT = "a photo of {}"
MAX_TAGS = 8  # more than this per photo is noise to a person browsing tags
# Default z-score threshold where a model has not been calibrated: chosen on coco-mini for the
# built-in model (see `photolens eval`), which is what users without a calibration run get.
DEFAULT_THRESHOLD = 2.0
RETAGGED_UNDER = "tags_retagged_under"  # meta key: the tagger identity of the last finished retag
RETAG_CHUNK = 256  # photos per retagging transaction: their evidence is [chunk, terms, N_EVIDENCE] floats
MIN_REFERENCE = 50  # photos needed before the library's own statistics replace the reference set
# Marks photos whose z-scores came from statistics not yet settled (STATS_SETTLED, below): from
# fewer than MIN_REFERENCE photos (the mark alone), or from N photos ("@N" after it). retag_all
# scores them again with the statistics of the library as it is, unless they were scored with
# those very statistics (a library's first photos would otherwise keep tags and hints that
# depend on the order they arrived in).
PROVISIONAL = "~provisional"
# Photos the terms' statistics are computed from: a seeded sample of the library. A term's mean
# and spread of similarity are estimated to well under 1% from 20,000 photos, and the work and
# memory stay bounded however large the library grows (500,000 photos x 4,482 terms would be a
# 9 GB matrix).
STATS_SAMPLE = 20_000
# The statistics follow a growing library: computed again once it has REFRESH_GROWTH times the
# photos they came from (up to STATS_SAMPLE). Computed once, from the first 64 photos, they
# used to score every photo of a session's import by that handful. Photos scored while they came
# from fewer than STATS_SETTLED photos are provisional: retag_all scores them again with the
# library's statistics at the end of each full run that added photos (from the stored outputs;
# about 1,000 photos at most, a second or two).
REFRESH_GROWTH = 1.5
STATS_ROWS = 2048  # photos per step of the statistics' computation (bounded memory)
STATS_SETTLED = 1_000


@lru_cache(maxsize=1)
def vocabulary() -> dict:
    return json.loads((bundled_models_dir() / "data" / "vocabulary.json").read_text())


def terms() -> list[str]:
    return [t["term"] for t in vocabulary()["terms"]]


def vocabulary_hash(words: list[str]) -> str:
    """Identifies a vocabulary and its prompt: vectors made for another one are not reused."""
    return hashlib.sha256("\n".join([PROMPT, *words]).encode()).hexdigest()


# The ImageNet classes and the groups of them that stand for terms (tagscore.imagenet_groups).
IMAGENET_CLASSES, IMAGENET_GROUPS = "imagenet_classes.json", "imagenet_groups.json"


def imagenet_groups_hash() -> str:
    """Identifies the ImageNet groups a trained tagger reads: a hand edit of the groups file
    changes the tags as much as a new tagger does, so it retags libraries too."""
    data = bundled_models_dir() / "data"
    return hashlib.sha256((data / IMAGENET_CLASSES).read_bytes() + (data / IMAGENET_GROUPS).read_bytes()).hexdigest()[:12]


@dataclass
class TermStats:
    mean: np.ndarray
    std: np.ndarray


def faces_seen(outputs: Outputs) -> np.ndarray | None:
    """[N] bool: which photos' outputs hold the detail pass's face score (the face terms are
    scored and thresholded otherwise without it: tagscore.stacked_by_faces, TermThresholds.shift);
    None where no photo has one."""
    faces = PhotoOutputs.of(outputs).detail_faces
    if faces is None:
        return None
    return ~np.isnan(np.asarray(faces, np.float32).reshape(len(faces), -1)[:, 0])


class Tagger:
    def __init__(self, store: Store | None, embedder: Embedder, words: list[str] | None = None,
                 threshold: float | None = None):
        self.store = store
        self.embedder = embedder
        self.words = words or terms()
        self.tag_model, self._groups, self._classifier = self._load_tag_model(embedder.model)
        # What every batch's evidence needs of the tagger, the words and the groups, made once.
        self._layout = (tagscore.layout(self.tag_model, self.words, self._groups)
                        if self.tag_model is not None else None)
        self._tag_head = self._load_tag_head(embedder.model)
        default = self.tag_model.threshold if self.tag_model is not None else DEFAULT_THRESHOLD
        self.threshold = threshold if threshold is not None else float(
            embedder.model.manifest.get("tag_threshold", default))
        self._vectors: np.ndarray | None = None
        self._stats: TermStats | None = None
        self._stats_from = 0  # photos the library's statistics were computed from
        self.words_hash = vocabulary_hash(self.words)
        model = embedder.model
        tagger_sha = model.file_sha((model.manifest.get("tagger") or {}).get("file")) \
            if self.tag_model is not None else None
        # What a user is shown of the scores: synonyms, roll-ups, the "never offend" policy and
        # per-term thresholds (shown_tags.py). The COCO terms are calibrated as a group.
        self.shown = ShownTags.for_tagger(self.words, self.threshold, tagger_sha,
                                          frozenset(vocabulary()["coco_map"].values()))
        # Everything the tags and search hints depend on but the threshold (which a caller may
        # change); the hints' size is there so that libraries tagged before hints get them.
        self._provisional_checked = False
        # The embedding the z-scores come from is part of the tagger (its term calibration is
        # the stacker's, tag_calibration.json, so it goes by the tagger's checksum alone).
        # (Listed only where there is one: other models' identities, and their tags, stay as they were.)
        tag_head = [model.file_sha(model.manifest["tag_head"].get("file"))] if self._tag_head else []
        groups = [f"groups-{imagenet_groups_hash()}"] if self.tag_model is not None else []
        self._identity_parts = [model.name, tagger_sha, *tag_head, *groups, model.fingerprint, list(model.tag_views),
                                self.words_hash, self.shown.identity, f"hints-{HINT_TERMS}"]

    def _load_tag_model(self, model):
        """The model's trained tagger, ImageNet groups and classifier, where it ships them."""
        spec = model.manifest.get("tagger")
        cls_spec = model.manifest.get("classifier")
        if not spec or not cls_spec:
            return None, None, None
        try:
            tag_model = tagscore.TagModel.load(model.folder / spec["file"])
            data = bundled_models_dir() / "data"
            classes = json.loads((data / IMAGENET_CLASSES).read_text())["classes"]
            groups = tagscore.imagenet_groups(self.words, [c["names"] for c in classes], data / IMAGENET_GROUPS)
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

    def _load_tag_head(self, model):
        """The tagger's own head (taghead.py) where the model ships one. One that cannot be read
        leaves the trained tagger out too (z-scores of the search embedding, as for a damaged
        tagger): its stacker was fitted on the tag head's evidence."""
        if not model.manifest.get("tag_head"):
            return None
        try:
            classifier = self._classifier
            if classifier is None:  # no trained tagger yet (models/train_tagger.py reads z-scores)
                spec = model.manifest["classifier"]
                classifier = tuple(np.load(model.folder / spec[k], allow_pickle=False).astype(np.float32)
                                   for k in ("weights", "bias"))
            return load_tag_head(model, classifier)
        except (PhotolensError, OSError, KeyError, ValueError) as e:
            log.warning("%s; tags use z-scores until the model is rebuilt", e)
            self.tag_model = None
            return None

    def prepare(self) -> None:
        """Load now what tagging the first photos would otherwise wait for: the term vectors
        and what the tag head imports (the shown tags work out theirs when made)."""
        self.vectors  # noqa: B018 (computed and cached on first use)
        if self._tag_head is not None:
            self._tag_head.prepare()

    def tag_embedding(self, outputs: Outputs) -> np.ndarray:
        """[N, D] what the z-scores compare with the terms: the tag head's embedding of the
        photos' features where the model ships a tag head, else the search embedding."""
        outputs = PhotoOutputs.of(outputs)
        if self._tag_head is None:
            return outputs.embedding
        if outputs.features is None:  # the search embedding would be scored on the wrong statistics
            raise ValueError("a tag head needs the photos' CNN features")
        return self._tag_head.embed(outputs.features, outputs.logits)

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
        """The stored CNN features are read back: the trained tagger scores them, and a tag head
        computes the z-scores' embedding from them."""
        return self.tag_model is not None or self._tag_head is not None

    @property
    def vectors(self) -> np.ndarray:
        """The vocabulary's text vectors: a few thousand prompts take seconds to encode, so they
        are cached on disk per model and vocabulary."""
        if self._vectors is None:
            self._vectors = self._cached_vectors()
        return self._vectors

    def _cached_vectors(self) -> np.ndarray:
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

    def stats(self, reference: Outputs | None = None, current: bool = False) -> TermStats:
        """Each term's mean and spread of similarity over a reference set of photos (their
        outputs, or their tag_embedding): the library itself once it is large enough.
        `current`: from the library as it is now (up to STATS_SAMPLE), not as it was
        REFRESH_GROWTH times smaller."""
        if reference is not None:
            return self._compute_stats(self.tag_embedding(reference))
        if self._stats is not None and self._stats_from < STATS_SAMPLE:
            (count,), = self.store.query("SELECT COUNT(*) FROM vectors WHERE model = ? AND kind = 'embedding'",
                                        [self.model])
            if count >= self._stats_from * REFRESH_GROWTH or (current and count != self._stats_from):
                self._stats = None  # the library has grown: computed again below
        if self._stats is None:
            mat = self._reference_sample()
            if len(mat) < MIN_REFERENCE:
                return self._compute_stats(mat) if len(mat) >= 5 else TermStats(np.zeros(len(self.words)),
                                                                                 np.full(len(self.words), 0.05))
            self._stats, self._stats_from = self._compute_stats(mat), len(mat)
        return self._stats

    @property
    def settled(self) -> bool:
        """Whether photos scored now are scored for good: the statistics come from STATS_SETTLED
        photos or more (see REFRESH_GROWTH)."""
        return self._stats is not None and self._stats_from >= STATS_SETTLED

    def _reference_sample(self) -> np.ndarray:
        """The tag embeddings of the library's photos, or of a seeded sample of STATS_SAMPLE of
        them: their stored embeddings, or their tag head's from their stored features."""
        ids = self.store.vector_ids(self.model)
        if len(ids) > STATS_SAMPLE:
            ids = np.sort(np.random.default_rng(0).choice(ids, STATS_SAMPLE, replace=False))
        kind = "embedding" if self._tag_head is None else "features"
        parts = []
        for start in range(0, len(ids), STATS_ROWS):
            chunk = ids[start:start + STATS_ROWS].tolist()
            vecs = self.store.vectors_for(chunk, self.model, kind)
            if vecs:
                mat = np.stack([vecs[i] for i in chunk if i in vecs])
                parts.append(mat.astype(np.float32) if self._tag_head is None else self._tag_head.embed(mat))
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)

    def _compute_stats(self, mat: np.ndarray) -> TermStats:
        """Mean and spread of each term's similarity over `mat`'s photos, STATS_ROWS photos at a
        time: the whole [photos, terms] matrix at 20,000 photos took 676 MB more at its peak
        (a /tmp measurement with random unit vectors; 141 MB in chunks, spreads within 5e-6)."""
        total = np.zeros(len(self.words))
        squares = np.zeros(len(self.words))
        for start in range(0, len(mat), STATS_ROWS):
            sims = mat[start:start + STATS_ROWS] @ self.vectors.T
            total += sims.sum(0, dtype=np.float64)
            squares += np.square(sims).sum(0, dtype=np.float64)
        mean = total / max(len(mat), 1)
        spread = np.sqrt(np.maximum(squares / max(len(mat), 1) - mean ** 2, 0.0))
        return TermStats(mean.astype(np.float32), np.maximum(spread, 1e-3).astype(np.float32))

    def zscores(self, embeddings: np.ndarray, stats: TermStats | None = None) -> np.ndarray:
        st = stats or self.stats()
        return (embeddings @ self.vectors.T - st.mean) / st.std

    def scores(self, outputs: Outputs, stats: TermStats | None = None) -> np.ndarray:
        """[N, T] the scores of the tags a user is shown (raw_scores through shown_tags.py)."""
        return self.shown(self.raw_scores(outputs, stats), faces_seen(outputs))

    def raw_scores(self, outputs: Outputs, stats: TermStats | None = None) -> np.ndarray:
        """[N, T] tag scores: calibrated probabilities with a trained tagger, else z-scores."""
        outputs = PhotoOutputs.of(outputs)
        z = self.zscores(self.tag_embedding(outputs), stats)
        if self.tag_model is None or outputs.features is None:
            return z
        weights, bias = self._classifier  # stored features (retagging) have no logits: it is linear
        logits = outputs.logits
        if logits is None:
            logits = outputs.features @ weights.T + bias
        views, view_logits = outputs.view_features, outputs.view_logits
        if views is not None and view_logits is None:
            view_logits = views @ weights.T + bias
        detail, detail_probs = None, None
        if self.embedder.model.tag_detail is not None:  # its stand-in rules: outputs.py
            detail, detail_probs = detail_or_stand_in(outputs, logits)
        x = tagscore.evidence(self.tag_model, self.words, outputs.features, logits, self._groups, z,
                              views, view_logits, detail, detail_probs, self._layout, outputs.detail_faces)
        return tagscore.stacked_by_faces(x, self.tag_model, faces_seen(outputs), self._layout)

    def tags_for(self, outputs: Outputs, stats: TermStats | None = None,
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

    def on_batch(self, ids: list[int], outputs: PhotoOutputs) -> None:
        """Called by the indexer inside its transaction: tag the photos it just embedded."""
        self.apply(ids, outputs)

    def apply(self, ids: list[int], outputs: Outputs) -> None:
        """Store the auto tags of these photos, after the user's decisions: tags never to be
        suggested are left out (their places go to the next best), renamed ones renamed, and a
        tag the user removed from a photo stays off it."""
        rules = TagRules(self.store)
        decided = rules.rules()
        never = {t for t, (rule, _) in decided.items() if rule == RULE_NEVER}
        allowed = np.array([w not in never for w in self.words]) if never else None
        shown, hints = self.shown.scores_and_hints(self.raw_scores(outputs), faces_seen(outputs))
        tags = self.tags_from_scores(shown, allowed=allowed)
        rejected = self.store.rejected_tags_of(ids)  # one query per batch, not one per photo

        def decided_for(pid: int, found: list[tuple[str, float]]) -> list[tuple[str, float]]:
            return [(w, s) for w, s in rules.suggestable(found, decided) if w not in rejected.get(pid, ())]
        self.store.replace_auto_tags(self.model, [(pid, decided_for(pid, t)) for pid, t in zip(ids, tags)])
        if hints is not None:  # search hints (hintstore.py), under the same decisions
            TagHints(self.store).replace((pid, decided_for(pid, h))
                                         for pid, h in zip(ids, top_hints(hints, self.words, allowed)))
        if self.settled:
            self.store.mark_tagged(ids, self.identity)
            if not self._provisional_checked:  # the library has just grown enough: once a session
                self._provisional_checked = True
                if self.store.tagged_under(self.identity + PROVISIONAL, prefix=True):
                    self.store.set_meta(RETAGGED_UNDER, "")  # the next retag scores them again
        else:  # scored against too few photos' statistics: scored again at the end of the run
            self.store.mark_tagged(ids, self._provisional_mark())
            self.store.set_meta(RETAGGED_UNDER, "")

    def _provisional_mark(self) -> str:
        """What photos scored now are marked with while the statistics are not settled."""
        return self.identity + PROVISIONAL + (f"@{self._stats_from}" if self._stats is not None else "")

    def stored_outputs(self, ids: list[int], store: Store | None = None) -> tuple[list[int], PhotoOutputs]:
        """The stored outputs of these photos (in this library, or another library's `store`
        indexed with the same model), with what the tagger needs and the stand-ins of
        PhotoOutputs.load; photos without vectors left out."""
        model = self.embedder.model
        return PhotoOutputs.load(store or self.store, self.model, ids, with_features=self.needs_features,
                                 n_views=len(model.tag_views),
                                 detail_classifier=self._classifier if model.tag_detail is not None else None)

    def retag_all(self, progress=None, control=None, chunk: int = RETAG_CHUNK) -> int:
        """Recompute auto tags where they come from another model, tagger or vocabulary (or none
        yet), from the stored vectors: no photo is decoded again. One transaction per chunk, so
        an interruption keeps what is done; `progress` and `control` as for indexing."""
        identity = self.identity
        # Every full index run asks; once a retag has finished under this identity, and indexing
        # tags new photos under it too, the answer is "none" without a pass over the library.
        if self.store.get_meta(RETAGGED_UNDER) == identity:
            return 0
        self.stats(current=True)  # from the library as it is now
        # Provisional photos scored with these very statistics are done (the app's chunks of
        # tag details and the watcher score photos after the run's retag). Under MIN_REFERENCE
        # photos the statistics are not kept, and the photos scored with them wait.
        todo = self.store.photos_to_tag(identity, self.model, also=(self._provisional_mark(),))
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
