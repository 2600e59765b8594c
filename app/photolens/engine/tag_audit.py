"""The audit: no embarrassing word on a photo that shows people.

Broader than the policy (tag_policy.py) and independent of it: its list
(models/data/tag_audit_terms.json) holds every animal and every word of the policy's groups and
more, and a photo's *labels* (COCO's "person" class, or captions that mention people) say which
photos show people, not the tagger. A hit is an audit word among a people photo's tags that the
photo's own labels do not name (a "dog" tag on "a man walks his dog" is right, not a hit), nor
anything of the word's policy group (a "dog" tag on a cat in a lap is wrong, but about the cat).
`photolens eval` reports the count and tests/test_tag_policy.py fails on any hit.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from .captions import CAPTION_WORDS, CaptionIndex
from .config import bundled_models_dir
from .tag_policy import SensitiveTerms, load_sensitive_terms
from .tag_terms import load_term_map

__all__ = ["AuditHit", "AuditReport", "audit", "load_audit_terms", "shows_people"]

AUDIT_FILE = "tag_audit_terms.json"
PEOPLE_WORDS = frozenset(CAPTION_WORDS["person"].split())


@lru_cache(maxsize=1)
def load_audit_terms(folder: Path | None = None) -> frozenset[str]:
    path = (folder or bundled_models_dir() / "data") / AUDIT_FILE
    return frozenset(json.loads(path.read_text())["terms"])


def shows_people(entry: dict) -> bool:
    """By the photo's labels: COCO's person class, or a caption that mentions people."""
    if "person" in (entry.get("classes") or []):
        return True
    words = {w.strip(".,!?;:'\"").lower() for c in entry.get("captions") or [] for w in c.split()}
    return bool(words & PEOPLE_WORDS)


@dataclass(frozen=True)
class AuditHit:
    path: str
    tag: str
    score: float


@dataclass
class AuditReport:
    photos_with_people: int = 0
    tags_checked: int = 0
    hits: list[AuditHit] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"photos_with_people": self.photos_with_people, "tags_checked": self.tags_checked,
                "offensive_tags": len(self.hits), "hits": [asdict(h) for h in self.hits[:20]]}


def audit(entries: list[dict], tags: list[list[tuple[str, float]]], vocab: dict,
          terms: frozenset[str] | None = None, policy: SensitiveTerms | None = None) -> AuditReport:
    """Audit labelled photos (`entries`: classes, captions, path) and their tags."""
    terms = load_audit_terms() if terms is None else terms
    policy = load_sensitive_terms() if policy is None else policy
    index = CaptionIndex(vocab)
    words = [t["term"] for t in vocab["terms"]]
    family = load_term_map().family(words)
    coco_map = vocab.get("coco_map", {})
    report = AuditReport()
    for e, photo_tags in zip(entries, tags):
        if not shows_people(e):
            continue
        report.photos_with_people += 1
        report.tags_checked += len(photo_tags)
        named = index.named(" \n ".join(e.get("captions") or []))
        named |= {coco_map.get(c, c) for c in e.get("classes") or []}
        groups = {g[0] for g in map(policy.rule_of, named) if g is not None}
        for tag, score in photo_tags:
            group = policy.rule_of(tag)
            if group is not None and group[0] in groups:
                continue  # named: something of its kind is in the photo, the tag is about that
            if tag in terms and not (family.get(tag, {tag}) & named):
                report.hits.append(AuditHit(e.get("path", e.get("file", "?")), tag, round(float(score), 3)))
    return report
