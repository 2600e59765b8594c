"""Which photos belong in a smart album: its rule, read and matched exactly as search does.

A smart album's rule is a query (the search syntax, filters written in it included: "beach
place:Paris", "beach Paris 2019", "person:Anna after:2019-01-01") and the filters given beside
it (the command line's --from, --to, --place, --camera, --folder and --person), which take
precedence over the query's own, as in `photolens search`. Matching follows Catalog.search's
filtered search: people named split off (the people filter), the rest understood
(whenwhere.understand), the filters' candidates, then the words scored by meaning (with the
tag evidence search adds for a short query naming a tag) and kept at or above the model's
relevance cut-off. A rule of filters only ("place:Paris") holds every photo that passes them.
Unlike search, no `k`: every good match is a member.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import date
from typing import Callable

import numpy as np

from .errors import QueryError
from .filters import Filters, Understood
from .metastore import matching_ids
from .query import parse_query
from .ranking import TAG_CANDIDATES, tag_term, with_tag_evidence
from .search import Searcher
from .store import Store
from .whenwhere import WhenWhere

__all__ = ["SmartRule", "SmartMatcher", "Judged", "rule_of"]


@dataclass(frozen=True)
class SmartRule:
    """A smart album's definition: its query text as written (None: filters only), the filters
    given beside it, and the people given beside it (every one of them is in a member)."""

    query: str | None = None
    filters: Filters = Filters()
    people: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.query and self.filters.empty and not self.people

    def stored_filters(self) -> str | None:
        """The flags as the albums table keeps them (JSON), None when there are none."""
        if self.filters.empty and not self.people:
            return None
        return json.dumps(self.filters_json(), sort_keys=True)

    def filters_json(self) -> dict:
        return {**self.filters.to_json(), "people": list(self.people)}

    @classmethod
    def stored(cls, query: str | None, filters: str | None) -> "SmartRule":
        """A rule from the albums table's query and filters columns."""
        if not filters:
            return cls(query)
        d = json.loads(filters)
        day = (lambda v: date.fromisoformat(v) if v else None)
        return cls(query, Filters(day(d.get("from")), day(d.get("to")), d.get("place"), d.get("camera"),
                                  d.get("folder")), tuple(d.get("people") or ()))


@dataclass(frozen=True)
class Judged:
    """A rule applied to some photos: the ids it could judge (a query needs the photo's vector
    from the active model; filters alone judge every indexed photo) and the good matches among
    them, id -> score (None for a rule of filters only)."""

    judged: np.ndarray
    matches: dict[int, float | None]


class SmartMatcher:
    """Applies smart album rules to the library. The callables are the Catalog's, called when
    needed (the model loads lazily): its searcher, its people split (names in a query, plus
    those given), the photos holding every named person, and the relevance cut-off."""

    def __init__(self, store: Store, searcher: Callable[[], Searcher], when_where: WhenWhere,
                 split_people: Callable[[str, tuple[str, ...]], tuple[list[str], str]],
                 people_photos: Callable[[list[str]], list[int]], threshold: Callable[[], float]):
        self.store = store
        self._searcher = searcher
        self.when_where = when_where
        self._split_people = split_people
        self._people_photos = people_photos
        self._threshold = threshold

    def understand(self, rule: SmartRule) -> tuple[list[str], Understood]:
        """The people a rule names and what the rest means now (the library's places decide
        whether a plain word such as "Paris" is a place), as `photolens search` reads it."""
        if rule.empty:
            raise QueryError("a smart album needs a query or a filter")
        names, rest = self._split_people(rule.query or "", rule.people)
        flags = None if rule.filters.empty else rule.filters
        if rest.strip():
            return names, self.when_where.understand(rest, flags)
        return names, Understood(None, rule.filters.checked())

    def names_people(self, rule: SmartRule) -> bool:
        return bool(self.understand(rule)[0])

    def judge(self, rule: SmartRule, within: np.ndarray | None = None) -> Judged:
        """The rule applied to the photos `within` (ids; None: the whole library)."""
        names, understood = self.understand(rule)
        allowed = self.when_where.candidates(understood.filters)
        if names:
            allowed = _both(allowed, np.asarray(self._people_photos(names), np.int64))
        if understood.text is None:
            judged = matching_ids(self.store, Filters())  # every indexed photo
            if within is not None:
                judged = np.intersect1d(judged, within)
            members = judged if allowed is None else np.intersect1d(judged, allowed)
            return Judged(judged, {int(i): None for i in members})
        return self._by_meaning(understood.text, allowed, within)

    def _by_meaning(self, text, allowed: np.ndarray | None, within: np.ndarray | None) -> Judged:
        searcher = self._searcher()
        query = parse_query(text)
        vec = searcher.query_vector(query)
        if within is None:
            ids, mat = self.store.vectors(searcher.model)
        else:
            found = self.store.vectors_for(within.tolist(), searcher.model, "embedding")
            ids = np.array(sorted(found), np.int64)
            mat = np.stack([found[i] for i in ids.tolist()]) if len(ids) else np.zeros((0, len(vec)), np.float32)
        judged = ids
        if allowed is not None:
            keep = np.isin(ids, allowed)
            ids, mat = ids[keep], mat[keep]
        term = tag_term(query, self.store)
        hits = []
        if len(ids):
            scores = mat @ vec
            if (hubs := searcher.hub_correction(query, term)) is not None:
                scores = scores + hubs[0].correction(mat, hubs[1])  # as search scores it
            hits = list(zip(ids.tolist(), scores.tolist()))
        if term is not None:  # a short query naming a tag: what the tagger saw counts, as in search
            hits = with_tag_evidence(self.store, searcher.model, vec, term, hits, len(hits) + TAG_CANDIDATES)
            inside = set(ids.tolist())  # the tagged photos it brings in pass the filters too
            hits = [(i, s) for i, s in hits if i in inside]
        # A photo of the library used in the query is the subject, not a member (as in search).
        subjects = [self.store.photo_by_path(os.path.abspath(t.text)) for t in query.terms if t.is_image]
        skip = {r.id for r in subjects if r is not None}
        cut = self._threshold()
        return Judged(judged, {int(i): float(s) for i, s in hits if s >= cut and i not in skip})


def _both(a: np.ndarray | None, b: np.ndarray) -> np.ndarray:
    return b if a is None else np.intersect1d(a, b)


def rule_of(query: str | None, filters: Filters | None, people=()) -> SmartRule:
    """A rule from what a user gave (blank query: none; empty filters: none)."""
    query = (query or "").strip() or None
    people = tuple(dict.fromkeys(" ".join(p.split()) for p in people if p and p.strip()))
    return replace(SmartRule(query), filters=filters or Filters(), people=people)
