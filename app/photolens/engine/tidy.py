"""Tidying a library: its duplicates, its albums, and moving copies to the trash.

The Catalog holds one `Tidy` (catalog.tidy) and forwards to it: `catalog.duplicates()`,
`catalog.albums`, `catalog.trash(...)`.
"""
from __future__ import annotations

import os
from typing import Callable

from .albums import Albums
from .duplicates import DuplicateSet, describe, find_duplicates
from .errors import QueryError
from .search import Searcher
from .smart import SmartMatcher
from .store import Store
from .trash import Trashed, move_to_trash

__all__ = ["Tidy"]


class Tidy:
    """`searcher` gives the current model's searcher (called when needed: the model loads
    lazily); `matcher` applies smart albums' rules as search does (smart.py)."""

    def __init__(self, store: Store, searcher: Callable[[], Searcher], matcher: SmartMatcher):
        self.store = store
        self._searcher = searcher
        self.albums = Albums(store, matcher)

    def duplicates(self, with_similar: bool = False) -> list[DuplicateSet]:
        """Groups of copies (kinds "exact" and "near") and, with `with_similar`, of similar
        shots ("similar"), biggest first, each with the copy to keep (duplicates.keep_order)."""
        searcher = self._searcher()
        groups = find_duplicates(self.store, searcher.model, with_similar, searcher.index)
        return [describe(self.store, g) for g in groups]

    def group_of(self, path: str, with_similar: bool = False) -> DuplicateSet:
        """The group holding this photo, with it as the copy to keep."""
        path = os.path.abspath(path)
        searcher = self._searcher()
        for g in find_duplicates(self.store, searcher.model, with_similar, searcher.index):
            found = describe(self.store, g)
            for p in found.photos:
                if p.path == path:
                    return describe(self.store, g, keep=p.id)
        raise QueryError(f"{path} has no duplicates in the library")

    def trash(self, paths: list[str], keep: str | None = None, send: Callable[[str], None] | None = None) -> Trashed:
        """Move exactly these photos to the system trash (trash.move_to_trash) and forget them.
        With `keep` (the copy that stays), the albums the trashed photos were in take it in.
        `send` replaces send2trash (tests: a process's trash folder is fixed when it is imported)."""
        before = {p: self.store.photo_by_path(os.path.abspath(p)) for p in paths}
        hashes = {os.path.abspath(p): r.hash for p, r in before.items() if r is not None and r.hash}
        keep_row = self.store.photo_by_path(os.path.abspath(keep)) if keep else None
        if keep and keep_row is None:
            raise QueryError(f"{keep} is not in the library")
        if keep_row is not None and any(os.path.abspath(p) == keep_row.path for p in paths):
            raise QueryError("the photo to keep is among those to move to the trash")
        result = move_to_trash(self.store, paths, send) if send else move_to_trash(self.store, paths)
        if result.ids:
            self._forget(list(result.ids))
            if keep_row is not None:
                self.albums.carry_over([hashes[p] for p in result.moved if p in hashes], keep_row.id)
        return result

    def _forget(self, ids: list[int]) -> None:
        """Photos the library no longer holds (moved to the trash) leave the vector index."""
        searcher = self._searcher()
        for model in set(self.store.models_with_vectors()) | {searcher.model}:
            generation = self.store.bump_generation(model)
            if model == searcher.model:
                searcher.index.apply({}, ids, generation)
