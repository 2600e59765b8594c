"""Search hints: each photo's most likely vocabulary terms, shown as tags or not (ranking.py).

The auto tags are the few terms a photo is *labelled* with, held to a precision a user can trust.
Ranking a one-word query needs more than that: a photo whose "cat" probability is 0.3 is no cat
tag, yet it belongs above the photos at 0.01. The tagger writes each photo's HINT_TERMS most
likely terms here with the same transaction as its auto tags; the policy's hint rule
(tag_policy.SensitiveTerms.hint_back) has already removed what may not be said of a person.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .store import Store

__all__ = ["HINT_TERMS", "TagHints", "top_hints"]

# Terms kept per photo. Measured on coco-mini (one-word class queries, ranking.HINT_BOOST 1.0): mAP
# 0.549 with 24, 0.553 with 32, 0.554 with 48, 0.552 with every term (a /tmp script; `photolens
# eval` gives 0.544 with 24 and 0.549 with 32). 24 rather than 32 keeps a 200,000-photo library
# under 10 kB a photo (bench/scale.py: 10,091 bytes with 32); a row with its index costs ~30 bytes.
HINT_TERMS = 24
# Scores are stored in thousandths (a small integer is 2 bytes in a SQLite record, a float 8).
SCALE = 1000


def top_hints(hints: np.ndarray, words: list[str], allowed: np.ndarray | None = None,
              k: int = HINT_TERMS) -> list[list[tuple[str, float]]]:
    """Per photo, its `k` best terms with a positive probability (`allowed` [T] bool: the terms
    the user has not asked never to see)."""
    if allowed is not None:
        hints = np.where(allowed, hints, 0.0)
    k = min(k, hints.shape[1])
    top = np.argpartition(-hints, k - 1, axis=1)[:, :k] if k < hints.shape[1] else \
        np.broadcast_to(np.arange(hints.shape[1]), hints.shape)
    values = np.take_along_axis(hints, top, axis=1)
    keep = values * SCALE >= 1
    return [[(words[j], float(v)) for j, v, ok in zip(t.tolist(), p.tolist(), m.tolist()) if ok]
            for t, p, m in zip(top, values, keep)]


class TagHints:
    def __init__(self, store: Store) -> None:
        self.store = store

    def replace(self, items: Iterable[tuple[int, list[tuple[str, float]]]]) -> None:
        """Set the hints of some photos (inside the caller's transaction)."""
        items = list(items)
        conn = self.store.db.conn
        conn.executemany("DELETE FROM tag_hints WHERE photo_id = ?", [(pid,) for pid, _ in items])
        terms = sorted({t for _, hints in items for t, _ in hints})
        if not terms:
            return
        conn.executemany("INSERT OR IGNORE INTO hint_terms(term) VALUES (?)", [(t,) for t in terms])
        ids = dict(self.store.query(f"SELECT term, id FROM hint_terms WHERE term IN ({','.join('?' * len(terms))})",
                                    terms))
        conn.executemany("INSERT OR REPLACE INTO tag_hints(photo_id, term, score) VALUES (?, ?, ?)",
                         [(pid, ids[t], round(p * SCALE)) for pid, hints in items for t, p in hints])

    def scores(self, term: str, limit: int) -> dict[int, float]:
        """The photos with a hint for `term` and its probability, best first."""
        tid = self._term_id(term)
        if tid is None:
            return {}
        # Read from the (term, score) index, best first; a tag the user removed from a photo
        # since it was hinted gives it no hint.
        rows = self.store.query("SELECT photo_id, score FROM tag_hints h WHERE term = ? AND NOT EXISTS (SELECT 1 "
                                "FROM tags r WHERE r.photo_id = h.photo_id AND r.tag = ? AND r.source = 'rejected') "
                                "ORDER BY score DESC LIMIT ?", [tid, term, limit])
        return {pid: score / SCALE for pid, score in rows}

    def has(self, term: str) -> bool:
        tid = self._term_id(term)
        return tid is not None and bool(self.store.query("SELECT 1 FROM tag_hints WHERE term = ? LIMIT 1", [tid]))

    def _term_id(self, term: str) -> int | None:
        row = self.store.query("SELECT id FROM hint_terms WHERE term = ?", [term])
        return row[0][0] if row else None

    def hinted(self, photo_ids: list[int]) -> set[int]:
        """Which of these photos have hints at all (a photo revived from the kept data of a removed
        one, or tagged by an older version, has tags but no hints until its next retag)."""
        out: set[int] = set()
        for chunk, marks in self.store._id_chunks(photo_ids):
            out.update(r[0] for r in self.store.query(
                f"SELECT DISTINCT photo_id FROM tag_hints WHERE photo_id IN ({marks})", chunk))
        return out

    def of_photo(self, photo_id: int) -> dict[str, float]:
        return {t: s / SCALE for t, s in self.store.query(
            "SELECT t.term, h.score FROM tag_hints h JOIN hint_terms t ON t.id = h.term WHERE h.photo_id = ?",
            [photo_id])}
