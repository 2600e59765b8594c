"""The user's decisions about tags across the library: rename or merge, delete, never suggest.

Rules live in the `tag_rules` table (migration _m8_tag_rules) so that they outlast re-indexing
and retagging: the tagger asks `TagRules.suggestable` before it stores auto tags. Everything the
user decides wins over the tagger: a user tag is never replaced by an auto tag, a rejected tag
stays rejected, and a "never" tag is never suggested again (the user may still add it by hand).
"""
from __future__ import annotations

from collections.abc import Iterable

from .errors import QueryError
from .records import TagChange, TagRule
from .store import Store

__all__ = ["RULE_NEVER", "RULE_RENAME", "SOURCE_AUTO", "SOURCE_REJECTED", "SOURCE_USER", "TagManagement", "TagRules"]

# A tag's source in the tags table (store.py writes the same words).
SOURCE_AUTO, SOURCE_USER = "auto", "user"
SOURCE_REJECTED = "rejected"  # the user removed it from that photo: the tagger must not bring it back
RULE_NEVER = "never"  # never suggest this tag
RULE_RENAME = "rename"  # suggest it under `target` (the user renamed or merged it)


class TagRules:
    """The queries behind tag management, over one library's Store."""

    def __init__(self, store: Store):
        self.store = store

    # -- rules ------------------------------------------------------------------------------

    def rules(self) -> dict[str, tuple[str, str | None]]:
        """tag -> (rule, target)."""
        return {r[0]: (r[1], r[2]) for r in self.store.query("SELECT tag, rule, target FROM tag_rules ORDER BY tag")}

    def set_rule(self, tag: str, rule: str, target: str | None = None) -> None:
        self.store.execute("INSERT OR REPLACE INTO tag_rules(tag, rule, target) VALUES (?, ?, ?)", [tag, rule, target])

    def drop_rule(self, tag: str) -> bool:
        return self.store.execute("DELETE FROM tag_rules WHERE tag = ?", [tag]).rowcount > 0

    def suggestable(self, tags: Iterable[tuple[str, float]], rules: dict | None = None) -> list[tuple[str, float]]:
        """Auto tags after the user's rules: "never" tags left out, renamed ones under their new
        name (the best score where two land on one name)."""
        rules = self.rules() if rules is None else rules
        out: dict[str, float] = {}
        for tag, score in tags:
            seen = set()
            while tag in rules and rules[tag][0] == RULE_RENAME and tag not in seen:  # a chain of renames
                seen.add(tag)
                tag = rules[tag][1]
            if tag in rules and rules[tag][0] == RULE_NEVER:
                continue
            out[tag] = max(score, out.get(tag, score))
        return sorted(out.items(), key=lambda t: -t[1])

    # -- tags across the library --------------------------------------------------------------

    def photos_with(self, tag: str, sources: tuple[str, ...] = (SOURCE_AUTO, SOURCE_USER, SOURCE_REJECTED)) -> list[int]:
        marks = ",".join("?" * len(sources))
        return [r[0] for r in self.store.query(f"SELECT photo_id FROM tags WHERE tag = ? AND source IN ({marks})",
                                               [tag, *sources])]

    def rename(self, old: str, new: str) -> int:
        """Every photo's `old` becomes `new`; where a photo has both, they merge: a user tag
        wins over an auto tag, a rejection over an auto tag, the best auto score is kept.
        Returns the photos changed."""
        rows = self.store.query("SELECT photo_id, source, score FROM tags WHERE tag = ?", [old])
        rank = {SOURCE_USER: 2, SOURCE_REJECTED: 1, SOURCE_AUTO: 0}
        for pid, source, score in rows:
            have = self.store.query("SELECT source, score FROM tags WHERE photo_id = ? AND tag = ?", [pid, new])
            if have:
                h_source, h_score = have[0]
                if rank[source] > rank[h_source] or (source == h_source == SOURCE_AUTO and (score or 0) > (h_score or 0)):
                    self.store.execute("UPDATE tags SET source = ?, score = ? WHERE photo_id = ? AND tag = ?",
                                       [source, score, pid, new])
                self.store.execute("DELETE FROM tags WHERE photo_id = ? AND tag = ?", [pid, old])
            else:
                self.store.execute("UPDATE tags SET tag = ? WHERE photo_id = ? AND tag = ?", [new, pid, old])
        self._rename_kept(old, new)
        return len(rows)

    def _rename_kept(self, old: str, new: str) -> None:
        """The tags kept for removed photos (archive.py) follow a rename, so a photo that comes
        back carries the new name. A kept fact is a JSON [tag, source, score, model]."""
        self.store.execute("UPDATE OR IGNORE kept_facts SET data = json_set(data, '$[0]', ?) "
                           "WHERE kind = 'tag' AND json_extract(data, '$[0]') = ?", [new, old])
        self.store.execute("DELETE FROM kept_facts WHERE kind = 'tag' AND json_extract(data, '$[0]') = ?", [old])

    def delete(self, tag: str) -> int:
        """Take `tag` off every photo: each becomes a rejection, as when the user removes it from
        one photo (the tagger does not put it back on those photos). Returns the photos changed."""
        # Kept tags of removed photos become rejections too, so they do not come back with them.
        self.store.execute("UPDATE OR IGNORE kept_facts SET data = json_array(?, ?, NULL, NULL) WHERE kind = 'tag' "
                           "AND json_extract(data, '$[0]') = ?", [tag, SOURCE_REJECTED, tag])
        self.store.execute("DELETE FROM kept_facts WHERE kind = 'tag' AND json_extract(data, '$[0]') = ? "
                           "AND json_extract(data, '$[1]') != ?", [tag, SOURCE_REJECTED])
        return self.store.execute("UPDATE tags SET source = ?, score = NULL, model = NULL WHERE tag = ? AND source IN "
                                  "(?, ?)", [SOURCE_REJECTED, tag, SOURCE_USER, SOURCE_AUTO]).rowcount

    def drop_auto(self, tag: str) -> int:
        """Remove the tagger's `tag` from every photo (user tags and rejections stay)."""
        return self.store.execute("DELETE FROM tags WHERE tag = ? AND source = ?", [tag, SOURCE_AUTO]).rowcount

    # -- what Catalog offers: one transaction each, a TagChange for the front ends ----------------

    def rename_everywhere(self, old: str, new: str) -> TagChange:
        if old == new:
            return TagChange("rename", old, 0, new)
        with self.store.transaction():
            merge = bool(self.photos_with(new)) or new in self.rules()
            n = self.rename(old, new)
            if self.rules().get(new) == (RULE_RENAME, old):
                self.drop_rule(new)  # renaming back: no loop
            self.set_rule(old, RULE_RENAME, new)
        return TagChange("merge" if merge else "rename", old, n, new)

    def delete_everywhere(self, tag: str) -> TagChange:
        with self.store.transaction():
            return TagChange("delete", tag, self.delete(tag))

    def never(self, tag: str) -> TagChange:
        with self.store.transaction():
            self.set_rule(tag, RULE_NEVER)
            return TagChange("never", tag, self.drop_auto(tag))

    def allow(self, tag: str) -> TagChange:
        with self.store.transaction():
            self.drop_rule(tag)
        return TagChange("allow", tag, 0)

    def rule_records(self) -> list[TagRule]:
        return [TagRule(t, r, target) for t, (r, target) in self.rules().items()]


def clean_name(tag: str) -> str:
    """A tag as the user meant it: spaces trimmed and collapsed (as catalog.clean_tag)."""
    name = " ".join(str(tag).split())
    if not name:
        raise QueryError("a tag needs at least one letter")
    return name


class TagManagement:
    """Catalog's tag management across the library (Catalog inherits it: the one API), over
    the catalog's `store`."""

    store: Store

    def rename_tag(self, old: str, new: str) -> TagChange:
        """Rename a tag on every photo, merged where `new` exists (a user tag wins over an auto
        tag); the tagger suggests it as `new` from now on."""
        return TagRules(self.store).rename_everywhere(clean_name(old), clean_name(new))

    def delete_tag(self, tag: str) -> TagChange:
        """Take a tag off every photo; the tagger does not put it back on them."""
        return TagRules(self.store).delete_everywhere(tag)

    def never_suggest(self, tag: str) -> TagChange:
        """Never suggest this tag again, through re-indexing and retagging (user tags stay)."""
        return TagRules(self.store).never(clean_name(tag))

    def allow_suggest(self, tag: str) -> TagChange:
        """Undo never_suggest (the tag comes back at the next retag)."""
        return TagRules(self.store).allow(clean_name(tag))

    def tag_rules(self) -> list[TagRule]:
        return TagRules(self.store).rule_records()
