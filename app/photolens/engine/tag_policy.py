"""Never offend: words that insult or embarrass when put on a person are not put on photos of people.

The policy. A photo *shows people* when the tagger's own person evidence says so: the best score
of the people words (PEOPLE_TERMS: "person" and the vocabulary's words for people) reaches
PEOPLE_THRESHOLD, set low on purpose (it was measured to catch nearly every photo whose captions
mention people; see models/calibrate_tags.py). On such a photo, every term of
models/data/sensitive_terms.json is held back:

- groups marked "never" (primates, underwear, punishment and death, body words) are about the
  person whenever a person is in the photo, so no evidence is enough;
- groups marked "overwhelming" (other animals, bathroom fixtures, medical items, weapons, waste)
  name things that can stand beside a person (a dog on a leash, a sink in a bathroom photo) and
  are given only at OVERWHELMING probability, where the thing itself fills the evidence.

A wrong tag on a person costs far more trust than a missing one, so the policy errs toward
leaving tags out. Models without a trained tagger score in z-scores, not probabilities: there
no evidence counts as overwhelming and every sensitive term is held back on photos of people.
The list is data: add a term to a group in sensitive_terms.json (or to models/make_tag_terms.py,
which rebuilds it) and it is held back from the next retag on.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import bundled_models_dir

__all__ = ["NEVER", "OVERWHELMING", "OVERWHELMING_RULE", "PEOPLE_TERMS", "PEOPLE_THRESHOLD", "PEOPLE_Z",
           "SensitiveTerms", "load_sensitive_terms"]

NEVER, OVERWHELMING_RULE = "never", "overwhelming"
# Probability at which a thing beside a person is "overwhelming" evidence: the tagger's scores
# reach it only when the thing dominates the photo (most COCO animals and fixtures in their own
# photos score 0.95 and more; on photos of people without them, they stay far below).
OVERWHELMING = 0.9
# The words the tagger has for people, and for what only people do or wear (surfers far out on a
# wave show as "surfing" and "surfboard" before they show as "person"); the best of their scores
# is the photo's person evidence.
PEOPLE_TERMS = ("person", "child", "baby", "crowd", "family", "friends", "portrait", "selfie", "team",
                "adult", "people", "surfing", "skiing", "snowboarding", "skateboarding", "climbing",
                "rock climbing", "cycling", "hiking", "dancing", "reading", "playing tennis", "playing soccer",
                "horse riding", "surfboard", "skateboard", "snowboard", "skis", "costume", "helmet", "hat",
                "shirt", "jacket")
# Person evidence from which a photo counts as showing people. Low on purpose: a photo of people
# missed here could get an offensive tag, a photo without people counted here only loses a few
# sensitive tags. Measured by models/calibrate_tags.py on coco-mini and flickr8k-train (see README),
# in both states a photo can be in: with the detail pass's face score it finds 1,168 of the 1,170
# photos with people in its flickr8k-train sample and all 90 of coco-mini's; without it (before the
# closer look reaches a photo, or with thorough tags off) 1,166 and all 90. 0.20 would find 83 of
# coco-mini's. (Before the face score, 0.10 was needed to find 1,163 and 90.)
PEOPLE_THRESHOLD = 0.15
PEOPLE_Z = 0.5  # the same for z-scores (models without a trained tagger): half a spread above average
SENSITIVE_FILE = "sensitive_terms.json"


@dataclass(frozen=True)
class SensitiveTerms:
    """group -> (rule, terms); `rule` is NEVER or OVERWHELMING_RULE."""
    groups: dict[str, tuple[str, frozenset[str]]]
    _columns: dict = field(default_factory=dict, init=False, compare=False, repr=False)
    _rules: dict = field(init=False, compare=False, repr=False)  # term -> (group, rule)

    def __post_init__(self) -> None:
        # Made whole with the policy, never on first use: no thread can see it half made.
        rules = {}
        for name, (rule, terms) in reversed(self.groups.items()):  # the first group wins
            rules.update(dict.fromkeys(terms, (name, rule)))
        object.__setattr__(self, "_rules", rules)

    def rule_of(self, term: str) -> tuple[str, str] | None:
        """(group, rule) of a sensitive term (its first group's), None for every other term."""
        return self._rules.get(term)

    @property
    def terms(self) -> frozenset[str]:
        return frozenset().union(*(t for _, t in self.groups.values())) if self.groups else frozenset()

    def people_evidence(self, scores: np.ndarray, words: list[str]) -> np.ndarray:
        """[N]: the best score of the people words (the tagger's own person evidence)."""
        cols = self._columns_of(words)[2]
        if not len(cols):
            return np.full(len(scores), -np.inf)
        return scores[:, cols].max(axis=1)

    def shows_people(self, scores: np.ndarray, words: list[str], probabilities: bool = True) -> np.ndarray:
        """[N] bool: photos the policy treats as showing people."""
        return self.people_evidence(scores, words) >= (PEOPLE_THRESHOLD if probabilities else PEOPLE_Z)

    def columns(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The columns of `words` in "never" groups and in "overwhelming" groups."""
        return self._columns_of(words)[:2]

    def _columns_of(self, words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(never, overwhelming, people) columns of `words`, cached: the tagger asks with the
        same vocabulary for every batch, and walking 4,482 terms each time cost a millisecond a
        photo."""
        key = (id(words), len(words))
        found = self._columns.get(key)
        if found is None:
            rules = [self.rule_of(w) for w in words]
            found = self._columns[key] = (
                np.array([j for j, r in enumerate(rules) if r is not None and r[1] == NEVER], np.int64),
                np.array([j for j, r in enumerate(rules) if r is not None and r[1] == OVERWHELMING_RULE], np.int64),
                np.array([j for j, w in enumerate(words) if w in PEOPLE_TERMS], np.int64),
                words)  # the list kept alive, so its id is never another list's
        return found[:3]

    def hold_back(self, scores: np.ndarray, words: list[str], people: np.ndarray,
                  probabilities: bool = True) -> np.ndarray:
        """[N, T] scores with the sensitive terms of photos with people (`people` [N] bool) set
        below every score, except an "overwhelming" group's term at OVERWHELMING probability."""
        out = scores.copy()
        if not people.any():
            return out
        floor = min(0.0, float(scores.min()) - 1.0)
        never, strong = self.columns(words)
        rows = np.flatnonzero(people)
        if not probabilities:  # z-scores: no evidence counts as overwhelming
            never = np.concatenate([never, strong])
            strong = strong[:0]
        out[np.ix_(rows, never)] = floor
        part = scores[np.ix_(rows, strong)]
        out[np.ix_(rows, strong)] = np.where(part >= OVERWHELMING, part, floor)
        return out

    def hint_back(self, merged: np.ndarray, raw: np.ndarray, words: list[str], people: np.ndarray) -> np.ndarray:
        """[N, T] the search hints of ranking.py (probabilities a short query's photos are ranked
        by, never shown) under the policy: on photos with people, a "never" group's term gets 0,
        and an "overwhelming" group's term keeps its probability only where it exceeds the photo's
        person evidence (the dog in a photo of a dog with its owner in a corner), else 0. Milder
        than hold_back, which decides what is *written on* a photo; a hint only orders the photos
        of a query the user typed, and never above the photos whose evidence is stronger."""
        out = merged.copy()
        if not people.any():
            return out
        never, strong = self.columns(words)
        rows = np.flatnonzero(people)
        evidence = self.people_evidence(raw, words)[rows][:, None]
        out[np.ix_(rows, never)] = 0.0
        part = merged[np.ix_(rows, strong)]
        out[np.ix_(rows, strong)] = np.where(part > evidence, part, 0.0)
        return out


@lru_cache(maxsize=1)
def load_sensitive_terms(folder: Path | None = None) -> SensitiveTerms:
    """The policy's list. A missing or damaged file is an error the tagger reports, never an
    empty list: tagging without the policy would put those words on people."""
    path = (folder or bundled_models_dir() / "data") / SENSITIVE_FILE
    data = json.loads(path.read_text())
    groups = {}
    for name, g in data["groups"].items():
        rule = g.get("with_people", NEVER)
        if rule not in (NEVER, OVERWHELMING_RULE):
            raise ValueError(f"{path}: group {name} has rule {rule!r}, not {NEVER!r} or {OVERWHELMING_RULE!r}")
        groups[name] = (rule, frozenset(g["terms"]))
    return SensitiveTerms(groups)
