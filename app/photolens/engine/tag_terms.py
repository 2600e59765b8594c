"""Which vocabulary terms a user can be shown, and under which word.

The vocabulary has thousands of terms, many of them fine-grained ImageNet classes ("whippet",
"proboscis monkey") or two spellings of one thing ("sandbar", "sand bar"). Three steps turn the
tagger's raw per-term scores into the scores of the tags a user sees:

1. **Synonyms merge**: terms that are one WordNet synset are one tag (models/data/tag_terms.json,
   made by models/make_tag_terms.py); the merged tag's score is the best of its spellings.
2. **Roll-up**: a fine term's evidence counts for its everyday word (whippet -> dog). The fine
   term itself is shown only when it is certain (FINE_CERTAIN) *and* its precision was shown.
3. **Per-term calibration**: each term that can be shown has its own threshold, chosen so that
   the photos' own captions (flickr8k-train) and COCO labels (coco-mini) name it often enough
   (models/calibrate_tags.py, models/data/tag_calibration.json). A term whose precision could not
   be shown is never suggested. The shift is applied in logit space, so that each term's own
   threshold lands on the model's one threshold and the rest of the tagger is unchanged.

Calibrations are made for one trained tagger (its file's sha256): with another model (CLIP,
or a retrained tagger not yet calibrated) steps 1 and 2 still apply, step 3 does not.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple
from pathlib import Path

import numpy as np

from .config import bundled_models_dir

__all__ = ["FINE_CERTAIN", "MergePlan", "TermMap", "TermThresholds", "ThresholdColumns", "load_term_map",
           "load_term_thresholds"]

# A fine term (a dog breed) is shown instead of its everyday word only at this probability:
# "whippet" at 0.6 is as likely a greyhound; "dog" is right either way.
FINE_CERTAIN = 0.9
TERMS_FILE = "tag_terms.json"
CALIBRATION_FILE = "tag_calibration.json"


@dataclass(frozen=True)
class TermMap:
    """synonyms: term -> the tag it merges into; rollup: fine term -> its everyday word."""
    synonyms: dict[str, str] = field(default_factory=dict)
    rollup: dict[str, str] = field(default_factory=dict)

    def canonical(self, term: str) -> str:
        return self.synonyms.get(term, term)

    def everyday(self, term: str) -> str | None:
        """The everyday word a fine term rolls up to (None for everyday words)."""
        up = self.rollup.get(self.canonical(term))
        return self.canonical(up) if up is not None else None

    def family(self, words: list[str]) -> dict[str, set[str]]:
        """term -> itself and every term that merges or rolls up into it (hyponyms, synonyms):
        which words count as naming it (calibration's weak labels, the audit)."""
        fam = {w: {w} for w in words}
        for w in words:
            for target in (self.canonical(w), self.everyday(w)):
                if target is not None and target != w and target in fam:
                    fam[target].add(w)
        return fam

    def plan(self, words: list[str]) -> "MergePlan":
        """How `words`' columns merge (synonyms) and roll up (fine terms), worked out once: a
        tagger merges every batch with the same vocabulary, and walking its 4,482 terms each
        time cost 0.4 ms a photo. MergePlan.apply does it."""
        col = {w: j for j, w in enumerate(words)}
        synonyms, rollups = [], []
        for j, w in enumerate(words):
            head = self.canonical(w)
            if head != w and head in col:
                synonyms.append((col[head], j))
        for j, w in enumerate(words):
            up = self.everyday(w)
            if up is not None and up in col and up != w and self.canonical(w) == w:
                rollups.append((col[up], j))
        return MergePlan(tuple(synonyms), tuple(rollups))


class MergePlan:
    """A TermMap's merge for one vocabulary: (target column, source column) pairs, synonyms first,
    then roll-ups, each applied in the vocabulary's order."""

    def __init__(self, synonyms: tuple[tuple[int, int], ...], rollups: tuple[tuple[int, int], ...]):
        self.synonyms, self.rollups = synonyms, rollups
        self._columns = [(np.array([t for t, _ in pairs], np.intp), np.array([j for _, j in pairs], np.intp), fine)
                         for pairs, fine in ((synonyms, False), (rollups, True)) if pairs]
        # Whether the pairs can be applied all at once and give what applying them in order
        # gives: no synonym's head is itself merged away, and no roll-up's target is merged away
        # or rolled up in turn (true of the shipped maps; tests/test_tag_policy.py checks both).
        heads, merged_away = {t for t, _ in synonyms}, {j for _, j in synonyms}
        ups, fine = {t for t, _ in rollups}, {j for _, j in rollups}
        self.independent = not (heads & merged_away or ups & merged_away or ups & fine)

    def apply(self, scores: np.ndarray, certain: float = FINE_CERTAIN) -> np.ndarray:
        """[N, T] scores with synonyms merged and fine terms rolled up; a merged-away column
        and a fine term short of `certain` are set to `floor` (never shown)."""
        out = scores.copy()
        floor = _floor(scores)
        if not self.independent:
            return self._apply_in_order(scores, out, floor, certain)
        for targets, sources, fine in self._columns:
            src = scores[:, sources]
            np.maximum.at(out, (slice(None), targets), src)  # several sources may share a target
            out[:, sources] = np.where(src >= certain, src, floor) if fine else floor
        return out

    def _apply_in_order(self, scores: np.ndarray, out: np.ndarray, floor: float, certain: float) -> np.ndarray:
        for target, j in self.synonyms:
            out[:, target] = np.maximum(out[:, target], scores[:, j])
            out[:, j] = floor
        for target, j in self.rollups:
            out[:, target] = np.maximum(out[:, target], scores[:, j])
            out[:, j] = np.where(scores[:, j] >= certain, scores[:, j], floor)
        return out


@dataclass(frozen=True)
class TermThresholds:
    """Per-term thresholds for one trained tagger (`tagger_sha256`); terms left out cannot be
    shown. `precision`: each term's measured precision at its threshold (for the README and eval).
    `faceless`: the thresholds of the terms a face is evidence for (tagscore.FACE_TERMS), for
    photos without a face score, whose probabilities for them are recalibrated without it
    (tagscore.stacked_by_faces)."""
    tagger_sha256: str
    thresholds: dict[str, float]
    precision: dict[str, float] = field(default_factory=dict)
    faceless: dict[str, float] = field(default_factory=dict)

    def applies_to(self, tagger_sha256: str | None) -> bool:
        return tagger_sha256 is not None and tagger_sha256 == self.tagger_sha256

    def shift(self, scores: np.ndarray, words: list[str], threshold: float,
              group_terms: frozenset[str] = frozenset(), columns: "ThresholdColumns | None" = None,
              faces_seen: np.ndarray | None = None) -> np.ndarray:
        """[N, T] probabilities moved so each term's own threshold lands on `threshold`:
        logit(s) - logit(own) + logit(threshold). Terms without a threshold go to 0, but those
        in `group_terms` (calibrated as a group) keep their score. `columns`: this calibration's
        `columns(words, group_terms)`, made once by a caller that shifts every batch.
        `faces_seen` [N] (None: no photo has a face score): where False, the `faceless`
        thresholds stand in for their terms' own."""
        own, shown, keep, own_faceless = columns or self.columns(words, group_terms)
        delta = np.where(shown, _logit(np.array(threshold)) - _logit(np.where(shown, own, 0.5)), 0.0)
        has_faceless = ~np.isnan(own_faceless)
        if has_faceless.any() and (faces_seen is None or not faces_seen.all()):
            target = _logit(np.array(threshold))
            faceless = np.where(has_faceless, target - _logit(np.where(has_faceless, own_faceless, 0.5)), delta)
            delta = faceless[None, :] if faces_seen is None else np.where(faces_seen[:, None], delta, faceless)
        moved = 1 / (1 + np.exp(-(_logit(scores.astype(np.float64)) + delta)))
        moved = np.where(scores <= 0, 0.0, moved)  # held back stays held back
        return np.where(shown, moved, np.where(keep, scores, 0.0)).astype(scores.dtype)

    def columns(self, words: list[str], group_terms: frozenset[str] = frozenset()) -> "ThresholdColumns":
        """Each of `words`' own threshold (NaN: none), whether it has one, whether it keeps its
        score without one (a group term), and its threshold without a face score (NaN: none)."""
        own = np.array([self.thresholds.get(w, np.nan) for w in words], np.float64)
        shown = ~np.isnan(own)
        faceless = np.array([self.faceless.get(w, np.nan) if s else np.nan for w, s in zip(words, shown)], np.float64)
        return ThresholdColumns(own, shown, np.array([w in group_terms for w in words], bool) & ~shown, faceless)


class ThresholdColumns(NamedTuple):
    own: np.ndarray
    shown: np.ndarray
    keep: np.ndarray
    own_faceless: np.ndarray


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _floor(scores: np.ndarray) -> float:
    """A value below every score: probabilities go to 0, z-scores below the smallest."""
    return min(0.0, float(scores.min()) - 1.0) if scores.size else 0.0


@lru_cache(maxsize=1)
def load_term_map(folder: Path | None = None) -> TermMap:
    path = (folder or bundled_models_dir() / "data") / TERMS_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return TermMap()  # without the file every term is its own tag, as before
    return TermMap(dict(data.get("synonyms", {})), dict(data.get("rollup", {})))


@lru_cache(maxsize=1)
def load_term_thresholds(folder: Path | None = None) -> TermThresholds | None:
    path = (folder or bundled_models_dir() / "data") / CALIBRATION_FILE
    try:
        data = json.loads(path.read_text())
        terms = data["terms"]
        return TermThresholds(str(data["tagger_sha256"]), {t: float(v["threshold"]) for t, v in terms.items()},
                              {t: float(v.get("precision", np.nan)) for t, v in terms.items()},
                              {t: float(v["threshold"]) for t, v in data.get("faceless_terms", {}).items()})
    except (OSError, ValueError, KeyError, TypeError):
        return None
