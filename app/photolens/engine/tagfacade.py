"""Tags and taught concepts, as Catalog offers them (Catalog inherits this facade).

The user's own tags are facts Photolens must never lose or overwrite; the tagger's are
recomputed freely. Teaching a concept gives its examples the concept as a user tag, in the app
and the CLI alike.
"""
from __future__ import annotations

from typing import Callable

from .concepts import ConceptTeacher
from .errors import QueryError
from .jobs import Control, Progress
from .query import parse_query
from .records import PhotoTag, TagCount
from .search import Result, results_for

__all__ = ["TagsFacade", "clean_tag"]


class TagsFacade:
    """Catalog's tag and concept operations; needs `store`, `tagger`, `searcher` and `embedder`."""

    # -- tags -------------------------------------------------------------------------------

    def tags_of(self, photo_id: int) -> list[PhotoTag]:
        """The tags a user sees on a photo: theirs first, then the tagger's, best first."""
        return [PhotoTag(t["tag"], t["score"], t["source"]) for t in self.store.tags_of(photo_id)]

    def add_tag(self, photo_ids: int | list[int], tag: str) -> str:
        """Give photos a user tag (kept through re-indexing and retagging). Returns the tag as
        stored: surrounding and repeated spaces dropped, its case kept ("Minou" is a name)."""
        name = clean_tag(tag)
        with self.store.transaction():
            for pid in _ids(photo_ids):
                self.store.set_user_tag(pid, name)
        return name

    def remove_tag(self, photo_ids: int | list[int], tag: str) -> None:
        """Take a tag off photos; the tagger will not put it back on them."""
        with self.store.transaction():
            for pid in _ids(photo_ids):
                self.store.remove_tag(pid, tag)

    def tag_counts(self) -> list[TagCount]:
        return [TagCount(t["tag"], t["count"]) for t in self.store.tag_counts()]

    def photos_with_tag(self, tag: str) -> list[Result]:
        return results_for(self.store, self.store.photos_with_tag(tag))

    def related_words(self, text: str, k: int = 5) -> list[str]:
        """Words near the query's own words (its filters, such as `place:Paris`, left out)."""
        tagger = self.tagger
        words = self.understand(text).words
        phrase = parse_query(words).positive_text if words else ""
        return tagger.related_words(phrase, k) if tagger is not None and phrase else []

    def retag(self, progress: Callable[[Progress], None] | None = None, control: Control | None = None) -> int:
        return self.tagger.retag_all(progress, control) if self.tagger is not None else 0

    # -- concepts the user teaches ----------------------------------------------------------

    @property
    def concepts(self):
        return ConceptTeacher(self.store, self.embedder.model.name)

    def teach(self, concept: str, positive: list[int], negative: list[int] = ()) -> str:
        """Examples of a concept the user names: the photos that show it get it as a user tag
        (in the app and the CLI alike), those that do not are remembered as counter-examples."""
        name = clean_tag(concept)
        teacher = self.concepts
        with self.store.transaction():
            for pid in positive:
                teacher.add_example(name, pid, True)
                self.store.set_user_tag(pid, name)
            for pid in negative:
                teacher.add_example(name, pid, False)
        return name

    def judge(self, concept: str, photo_id: int, accepted: bool) -> None:
        """The user's answer to one proposal: yes tags the photo; both refine the next proposals."""
        if accepted:
            self.teach(concept, [photo_id])
        else:
            self.teach(concept, [], [photo_id])

    def propose(self, concept: str, k: int = 50) -> list[Result]:
        """Photos the taught classifier thinks show the concept, best first."""
        return self.concepts.propose(clean_tag(concept), k=k)


def clean_tag(tag: str) -> str:
    """A tag as the user meant it: spaces trimmed and collapsed; empty is an error."""
    name = " ".join(str(tag).split())
    if not name:
        raise QueryError("a tag needs at least one letter")
    return name


def _ids(photo_ids: int | list[int]) -> list[int]:
    return [photo_ids] if isinstance(photo_ids, int) else list(photo_ids)
