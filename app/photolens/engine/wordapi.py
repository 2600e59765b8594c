"""The Catalog's words: reading text in photos, captions, and search by words fused with search
by meaning. A mixin of `Catalog` (catalog.py) so that class stays one screenful per concept;
it uses the catalog's store, searcher and lock, nothing else.
"""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Callable

import numpy as np

from .errors import ModelError, QueryError
from .jobs import Control, Progress
from .ocr import TextLine, TextReader
from .query import parse_query
from .ranking import tag_term
from .reading import file_hash
from .search import Result, results_for
from .textpass import TextPass
from .wordsearch import fuse, parse_words, search_words
from .words import MAX_CAPTION, WordStore

__all__ = ["CatalogWords", "MEANING"]

log = logging.getLogger(__name__)

MEANING = "meaning"
# The meaning side of a fused search looks this deep, so that a photo found by its words also
# gets credit for its meaning when it is not in the first page ("receipt hardware store").
FUSE_DEPTH = 200


class CatalogWords:
    """Mixed into Catalog: expects `store`, `searcher`, `match_threshold` and `_lock`."""

    text_warning: str | None = None  # why text in photos is not read, for Catalog.warnings

    _words: WordStore | None = None
    _reader: TextReader | None = None

    @property
    def words(self) -> WordStore:
        if self._words is None:
            self._words = WordStore(self.store)
        return self._words

    @property
    def text_reader(self) -> TextReader:
        with self._lock:
            if self._reader is None:
                self._reader = TextReader()
            return self._reader

    def read_text(self, progress: Callable[[Progress], None] | None = None, control: Control | None = None,
                  limit: int | None = None) -> dict:
        """The deferred pass: read text in photos that have not been read by this reader yet
        (after they are searchable by meaning), at most `limit` per call. Names and folders of
        new, renamed and moved photos become searchable first. Returns {"done", "failed",
        "remaining"}. A text reader that cannot start (a broken install) is said in the warnings
        (Catalog.warnings: the app's status bar, the CLI's stderr) and leaves nothing to read, so
        that the other passes, and the watcher, go on."""
        try:
            return TextPass(self.words, self.text_reader).run(progress, control, limit)
        except ModelError as e:
            log.warning("text in photos is not read: %s", e)
            self.text_warning = f"Text in photos is not read: {e}"
            return {"done": 0, "failed": 0, "remaining": 0}

    def _read_text_after(self, progress, control, scopes, tag_details: bool) -> int:
        """index_all's words step: a full run reads the text of photos after they are searchable
        (the app and the watcher do it in chunks instead: read_text). Returns how many were read."""
        return self.read_text(progress, control)["done"] if scopes is None and tag_details else 0

    def text_of(self, photo_id: int) -> list[TextLine] | None:
        """The text read in a library photo; None when it has not been read yet."""
        return self.words.text_of(photo_id)

    def read_text_in(self, path: str) -> list[TextLine]:
        """The text in any image file (read now; a library photo already read gives what is stored)."""
        row = self.store.photo_by_path(os.path.abspath(path))
        if row is not None:
            stored = self.words.text_of(row.id)
            if stored is not None:
                return stored
        if not os.path.isfile(path):
            raise QueryError(f"no such image: {path}")
        return self.text_reader.read_path(path)

    def set_caption(self, photo_id: int, text: str) -> str:
        """The user's own caption (or note) for a photo, searchable as words; empty removes it.
        Kept by the photo's content, like user tags: it survives renames, moves, re-indexing
        and the photo being removed and added again."""
        caption = " ".join(str(text).split())
        if len(caption) > MAX_CAPTION:
            raise QueryError(f"a caption is at most {MAX_CAPTION} characters, not {len(caption)}")
        row = self.store.photos_by_ids([photo_id]).get(photo_id)
        if row is None:
            raise QueryError(f"no photo with id {photo_id}")
        digest = row.hash or file_hash(row.path)
        with self.store.transaction():  # the caption and its word row, together
            self.words.set_caption(photo_id, digest, caption)
            self._rewrite_words([photo_id])
        return caption

    def caption_of(self, photo_id: int) -> str:
        return self.words.caption_of(photo_id)

    def _rewrite_words(self, photo_ids: list[int]) -> None:
        """A photo's caption changed: its word row follows (indexed photos only; the rest get
        theirs when indexed). User tags follow by triggers (schema._m6_words)."""
        self.words.write_docs(photo_ids)

    def _fused(self, query, k: int) -> list[Result]:
        """Meaning and words, one ranking; each result says why it matched."""
        source = " ".join(query) if isinstance(query, list) else query if isinstance(query, str) else query.source
        parsed = parse_query(query) if not hasattr(query, "terms") else query
        cut = self.match_threshold
        meaning = self.searcher.search(parsed, max(k, FUSE_DEPTH))
        scores = {r.id: r.score for r in meaning}
        hits = search_words(self.words, parse_words(source))
        fused = fuse([(r.id, r.score) for r in meaning], hits, k)
        missing = [pid for pid, _, _ in fused if pid not in scores]
        scores.update(self._meaning_scores(parsed, missing))
        reasons = {pid: why for pid, _, why in fused}
        out = []
        for result in results_for(self.store, [(p, scores.get(p, 0.0)) for p, _, _ in fused]):
            good_meaning = result.score >= cut
            matched = ([MEANING] if good_meaning else []) + reasons[result.id]
            out.append(replace(result, good=good_meaning or bool(reasons[result.id]), matched=matched))
        return out

    def _meaning_scores(self, parsed, ids: list[int]) -> dict[int, float]:
        """Meaning scores for photos the meaning search did not return (found by words only),
        as search scores them: cosine, with the hub correction where search applies it."""
        if not ids:
            return {}
        vec = self.searcher.query_vector(parsed)
        vecs = self.store.vectors_for(ids, self.searcher.model, "embedding")
        if not vecs:
            return {}
        pids = list(vecs)
        mat = np.stack([vecs[p] for p in pids]).astype(np.float32)
        scores = mat @ vec
        if (hubs := self.searcher.hub_correction(parsed, tag_term(parsed, self.store))) is not None:
            scores = scores + hubs[0].correction(mat, hubs[1])
        return dict(zip(pids, scores.astype(float).tolist()))
