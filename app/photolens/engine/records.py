"""The small, typed values `Catalog` hands to the app and the CLI.

The front ends never see database rows or dicts from the store: each shape they use has one
dataclass here, with `to_json()` giving the form the CLI prints with --json.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from .fsutil import printable

__all__ = ["Failure", "Folder", "PhotoInfo", "PhotoTag", "Status", "TagChange", "TagCount", "TagRule"]


@dataclass(frozen=True)
class PhotoTag:
    """One tag on one photo. `source`: "auto" (the tagger; `score` is its probability) or
    "user" (added by the user; no score)."""
    tag: str
    score: float | None
    source: str

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TagCount:
    tag: str
    count: int

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TagChange:
    """What a library-wide tag operation did: `action` "rename", "merge", "delete", "never" or
    "allow"; `tag` the tag acted on, `target` the new name (rename, merge); `photos` changed."""
    action: str
    tag: str
    photos: int
    target: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class TagRule:
    """A standing decision: `rule` "never" (never suggest `tag`) or "rename" (suggest it as `target`)."""
    tag: str
    rule: str
    target: str | None = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    photos: int
    online: bool
    last_scan: float | None = None
    offline_reason: str | None = None  # why it is offline: missing, unreadable, empty (unmounted?)
    unreachable: list[tuple[str, str]] = field(default_factory=list)  # (subfolder, why) not read

    def to_json(self) -> dict:
        return dict(asdict(self), path=printable(self.path),
                    unreachable=[[printable(p), why] for p, why in self.unreachable])


@dataclass(frozen=True)
class Failure:
    """A photo that could not be indexed, with the reason the user is shown."""
    path: str
    kind: str
    reason: str

    def to_json(self) -> dict:
        return dict(asdict(self), path=printable(self.path))


@dataclass(frozen=True)
class PhotoInfo:
    """What the viewer shows about one photo."""
    id: int
    path: str
    size: int
    mtime: float
    width: int | None = None
    height: int | None = None
    taken: float | None = None
    camera: str | None = None

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def to_json(self) -> dict:
        return dict(asdict(self), path=printable(self.path))


@dataclass
class Status:
    """Counts, the model and device in use, and the library's folders."""
    photos: int
    indexed: int
    pending: int
    failed: int
    offline: int
    model: str
    device: str
    provider: str
    library: str
    index: str
    thorough_tags: bool
    bytes_per_photo: int | None = None  # the library folder on disk (database, index) per photo
    folders: list[Folder] = field(default_factory=list)
    models_with_vectors: dict[str, int] = field(default_factory=dict)
    failures: list[Failure] | None = None
    warnings: list[str] = field(default_factory=list)
    kept_photos: int = 0  # removed photos whose vectors and user facts are kept by content
    kept_with_user_data: int = 0  # of those, the ones carrying tags or decisions the user made

    def to_json(self) -> dict:
        d = {k: v for k, v in asdict(self).items() if k not in ("folders", "failures")}
        d["folders"] = [f.to_json() for f in self.folders]
        if self.failures is not None:
            d["failures"] = [f.to_json() for f in self.failures]
        return d
