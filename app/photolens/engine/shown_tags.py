"""From the tagger's raw scores to the scores of the tags a user is shown, in one place.

    raw [N, T] -> synonyms merged, fine terms rolled up (tag_terms.TermMap)
               -> sensitive terms held back on photos with people (tag_policy.SensitiveTerms)
               -> per-term thresholds (tag_terms.TermThresholds), where calibrated for this tagger

The result is on the tagger's own scale: a term is shown where its score reaches the tagger's
one threshold (Tagger.tags_from_scores), at most MAX_TAGS per photo. Indexing, retagging and
`photolens eval` all go through here, so what is measured is what a user sees.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

from .tag_policy import SensitiveTerms, load_sensitive_terms
from .tag_terms import MergePlan, TermMap, TermThresholds, ThresholdColumns, load_term_map, load_term_thresholds

__all__ = ["ShownTags"]


class ShownTags:
    """`probabilities`: the raw scores are a trained tagger's probabilities (else z-scores);
    `thresholds`: the per-term calibration, or None where there is none for this tagger;
    `group_terms`: terms calibrated as one group (the COCO terms, on coco-mini: see
    calibration.py) that keep the tagger's one threshold where they have none of their own."""

    def __init__(self, words: list[str], threshold: float, probabilities: bool,
                 terms: TermMap | None = None, sensitive: SensitiveTerms | None = None,
                 thresholds: TermThresholds | None = None, group_terms: frozenset[str] = frozenset()):
        self.words = words
        self.threshold = threshold
        self.probabilities = probabilities
        self.terms = terms if terms is not None else load_term_map()
        self.sensitive = sensitive if sensitive is not None else load_sensitive_terms()
        self.thresholds = thresholds
        self.group_terms = group_terms
        # What every batch needs of the vocabulary, worked out once (3 ms for the 4,482 terms):
        # the merge plan, the calibration's columns, and the policy's columns (kept by the policy).
        self._merge_plan: MergePlan = self.terms.plan(words)
        self._threshold_columns: ThresholdColumns | None = (
            thresholds.columns(words, group_terms) if thresholds is not None else None)
        self.sensitive.columns(words)

    @classmethod
    def for_tagger(cls, words: list[str], threshold: float, tagger_sha256: str | None,
                   group_terms: frozenset[str] = frozenset()) -> "ShownTags":
        calibration = load_term_thresholds()
        applies = calibration is not None and calibration.applies_to(tagger_sha256)
        return cls(words, threshold, tagger_sha256 is not None, thresholds=calibration if applies else None,
                   group_terms=group_terms)

    @property
    def identity(self) -> str:
        """Changes whenever the words shown could: the maps, the policy, the calibration."""
        parts = [sorted(self.terms.synonyms.items()), sorted(self.terms.rollup.items()),
                 sorted((g, r, sorted(t)) for g, (r, t) in self.sensitive.groups.items()),
                 sorted(self.thresholds.thresholds.items()) if self.thresholds else None,
                 sorted(self.thresholds.faceless.items()) if self.thresholds else None,
                 sorted(self.group_terms), self.probabilities]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]

    def people(self, raw: np.ndarray) -> np.ndarray:
        """[N] bool: photos the policy treats as showing people (tag_policy)."""
        return self.sensitive.shows_people(raw, self.words, self.probabilities)

    def hints(self, raw: np.ndarray) -> np.ndarray | None:
        """[N, T] search hints (ranking.py): synonyms merged and fine terms rolled up, under the
        policy's hint rule (SensitiveTerms.hint_back), on the probability scale; None for a model
        without a trained tagger (z-scores are no evidence to add to a similarity)."""
        return self.scores_and_hints(raw)[1]

    def scores_and_hints(self, raw: np.ndarray,
                         faces_seen: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Shown scores and search hints at once (the merge, the costly part, done once)."""
        merged = self._merged(raw)
        people = self.people(raw)
        hints = self.sensitive.hint_back(merged, raw, self.words, people) if self.probabilities else None
        return self._shown(merged, people, faces_seen), hints

    def __call__(self, raw: np.ndarray, faces_seen: np.ndarray | None = None) -> np.ndarray:
        """Shown scores; `faces_seen` [N] (Tagger.faces_seen): which photos' raw scores include the
        face detector's, for the calibration's thresholds of the face terms (TermThresholds.shift)."""
        return self._shown(self._merged(raw), self.people(raw), faces_seen)

    def _merged(self, raw: np.ndarray) -> np.ndarray:
        # z-scores: no fine term is ever "certain"
        return self._merge_plan.apply(raw) if self.probabilities else self._merge_plan.apply(raw, certain=np.inf)

    def _shown(self, merged: np.ndarray, people: np.ndarray, faces_seen: np.ndarray | None = None) -> np.ndarray:
        held = self.sensitive.hold_back(merged, self.words, people, self.probabilities)
        if self.thresholds is None:
            return held
        return self.thresholds.shift(held, self.words, self.threshold, self.group_terms,
                                     self._threshold_columns, faces_seen)
