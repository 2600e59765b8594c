"""Folders, scanning, and what is new, changed, moved or gone.

Changes are found by size and mtime first; a content hash is computed only where it decides
something: a changed mtime (was the content really edited?) and a new file whose size matches
a photo that disappeared (is it that photo, moved?). A moved photo keeps its row id, and with
it its vectors and tags, so it is never embedded again.
"""
from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import dataclass, field

from .archive import keep, revive
from .errors import FileAccessError, ImageError
from .exclusions import is_excluded
from .imaging import IMAGE_EXTENSIONS
from .reading import file_hash
from .store import STATUS_FAILED, PhotoRow, Store

# Folders that hold system files, trash, or other programs' thumbnails, never photos a person
# took. Hidden folders (leading dot) are skipped too.
SKIP_DIRS = frozenset({
    ".Trashes", ".Trash", ".Trash-1000", "$RECYCLE.BIN", "System Volume Information", "@eaDir", "#recycle",
    "#snapshot", ".thumbnails", ".thumbs", ".Spotlight-V100", ".fseventsd", ".DocumentRevisions-V100",
    ".TemporaryItems", "lost+found", ".@__thumb", ".picasaoriginals",
})


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    mtime_ns: int


@dataclass
class ScanResult:
    files: dict[str, FileEntry] = field(default_factory=dict)
    problems: dict[str, ImageError] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # folder -> why it could not be listed


@dataclass
class Changes:
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    failed: int = 0
    revived: int = 0  # photos whose content came back: vectors and the user's facts restored
    removed_ids: list[int] = field(default_factory=list)
    revived_ids: list[int] = field(default_factory=list)
    offline_folders: list[str] = field(default_factory=list)
    offline_reasons: dict[str, str] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # subfolders kept as they were


def is_skipped_dir(name: str) -> bool:
    return name.startswith(".") or name in SKIP_DIRS


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS and not name.startswith("._")


def scan(root: str, scandir=os.scandir, excluded: frozenset[str] = frozenset()) -> ScanResult:
    """Every image file under root. Folder symlinks are not followed (no loops, no photo seen
    twice); file symlinks are, and a broken or looping one is reported as a problem. A folder
    that cannot be listed is reported in `unreadable`: its photos are not gone, only unreachable.
    Folders in or under `excluded` (exclusions.excluded_roots: caches, Photolens's own) are skipped."""
    result = ScanResult()
    if excluded and is_excluded(root, excluded):
        return result
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with scandir(folder) as it:
                entries = list(it)
        except OSError as e:
            result.unreadable[folder] = _stat_error(folder, e).reason
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not is_skipped_dir(entry.name) and not (excluded and is_excluded(entry.path, excluded)):
                        stack.append(entry.path)
                    continue
            except OSError:
                continue
            if not is_image_name(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=True)
            except OSError as e:
                result.problems[entry.path] = _stat_error(entry.path, e)
                continue
            if not _is_regular(st.st_mode):
                continue
            result.files[entry.path] = FileEntry(entry.path, st.st_size, st.st_mtime_ns)
    return result


def _is_regular(mode: int) -> bool:
    return stat.S_ISREG(mode)


def _stat_error(path: str, e: OSError) -> FileAccessError:
    if e.errno == errno.ELOOP:
        return FileAccessError(path, "symbolic link loop")
    if e.errno == errno.ENOENT and os.path.islink(path):
        return FileAccessError(path, "broken symbolic link")
    if e.errno == errno.EACCES:
        return FileAccessError(path, "permission denied")
    return FileAccessError(path, e.strerror or str(e))


def hash_file(path: str) -> str | None:
    try:
        return file_hash(path)  # streamed: bounded memory whatever the file's size
    except ImageError:
        return None


def within(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip(os.sep)
    return path == prefix or path.startswith(prefix + os.sep)


def root_state(root: str, has_photos: bool) -> str | None:
    """Why a library folder cannot be scanned now (None: it can). Missing, unreadable, or empty
    where photos were (the mount point of an unplugged drive or unmounted share) all mean
    "not there", never "deleted"."""
    if not os.path.isdir(root):
        return "missing (an unplugged drive or a moved folder?)"
    try:
        with os.scandir(root) as it:
            empty = next(it, None) is None
    except OSError as e:
        return f"unreadable ({_stat_error(root, e).reason})"
    if empty and has_photos:
        return EMPTY_REASON
    return None


EMPTY_REASON = "empty, though it held photos (an unmounted drive?)"


def reconcile(store: Store, scopes: list[tuple[int, str]], folder_roots: dict[int, str],
              excluded: frozenset[str] = frozenset()) -> Changes:
    """Bring the database in step with the disk under each (folder id, directory) scope.

    Everything in one transaction: a crash leaves the database as it was before the scan.
    Moves are matched across all scopes, so a photo moved from one folder to another (or a
    folder renamed) keeps its vectors. A folder that is not there (see root_state) goes offline
    with its reason and keeps everything; photos under a subfolder that cannot be read stay as
    they were. Photos are removed only when their folder was read and they are gone from it,
    and even then what they carry is kept by content (archive.py) and comes back with them.
    """
    changes = Changes()
    seen: dict[str, tuple[int, FileEntry]] = {}
    problems: dict[str, tuple[int, ImageError]] = {}
    known: dict[str, PhotoRow] = {}
    unreadable: dict[int, dict[str, str]] = {}
    suspect: set[int] = set()
    for folder_id, directory in scopes:
        root = folder_roots[folder_id]
        in_folder = store.photos_in_folder(folder_id)
        reason = root_state(root, bool(in_folder))
        if reason == EMPTY_REASON:
            suspect.add(folder_id)  # offline, unless its photos all turn up elsewhere (moved)
        elif reason is not None:
            set_folder_health(store, folder_id, online=False, reason=reason)
            changes.offline_folders.append(root)
            changes.offline_reasons[root] = reason
            continue
        result = scan(directory, excluded=excluded) if os.path.isdir(directory) else ScanResult()
        seen.update((p, (folder_id, e)) for p, e in result.files.items())
        problems.update((p, (folder_id, err)) for p, err in result.problems.items())
        unreadable.setdefault(folder_id, {}).update(result.unreadable)
        changes.unreadable.update(result.unreadable)
        for path, row in in_folder.items():
            if within(path, directory) and not any(within(path, d) for d in result.unreadable):
                known[path] = row

    with store.transaction():
        new: list[tuple[int, FileEntry]] = [(f, e) for p, (f, e) in seen.items() if p not in known]
        gone = [row for path, row in known.items() if path not in seen and path not in problems]
        moved_ids, moved_paths = _match_moves(store, new, gone)
        stranded = {row.folder_id for row in gone if row.id not in moved_ids} & suspect
        for folder_id in stranded:
            root = folder_roots[folder_id]
            changes.offline_folders.append(root)
            changes.offline_reasons[root] = EMPTY_REASON
            set_folder_health(store, folder_id, online=False, reason=EMPTY_REASON)
        for folder_id, _ in scopes:
            if folder_roots[folder_id] not in changes.offline_folders:
                store.set_folder_state(folder_id, online=True, scanned=True)
                set_folder_health(store, folder_id, online=True, unreadable=unreadable.get(folder_id, {}))
        for path, (folder_id, entry) in seen.items():
            row = known.get(path)
            if row is None:
                continue
            if row.size != entry.size or row.mtime_ns != entry.mtime_ns:
                if row.hash and row.size == entry.size and hash_file(path) == row.hash:
                    store.touch(row.id, entry.size, entry.mtime_ns)
                else:
                    store.mark_changed(row.id, entry.size, entry.mtime_ns)
                    changes.updated += 1
        changes.moved = len(moved_ids)
        removed = [row.id for row in gone if row.id not in moved_ids and row.folder_id not in stranded]
        keep(store, removed)
        store.remove_photos(removed)
        changes.removed = len(removed)
        changes.removed_ids = removed
        revived_ids, revived_paths = revive(store, [(f, e) for f, e in new if e.path not in moved_paths])
        changes.revived, changes.revived_ids = len(revived_ids), revived_ids
        for folder_id, entry in new:
            if entry.path not in moved_paths and entry.path not in revived_paths:
                store.add_photo(folder_id, entry.path, entry.size, entry.mtime_ns)
                changes.added += 1
        for path, (folder_id, err) in problems.items():
            row = known.get(path)
            if row is not None and row.status == STATUS_FAILED and row.error == str(err):
                continue
            pid = row.id if row is not None else store.add_photo(folder_id, path, -1, 0)
            store.record_failure(pid, err.kind, str(err))
            changes.failed += 1
    return changes


def set_folder_health(store: Store, folder_id: int, online: bool, reason: str | None = None,
                      unreadable: dict[str, str] | None = None) -> None:
    """Record whether a folder is reachable, why not, and which of its subfolders were not."""
    with store.transaction():
        store.execute("UPDATE folders SET online = ?, offline_reason = ? WHERE id = ?",
                      [int(online), None if online else reason, folder_id])
        if unreadable is not None:
            store.execute("UPDATE folders SET unreachable = ? WHERE id = ?",
                          [json.dumps(sorted(unreadable.items())) if unreadable else None, folder_id])


def _match_moves(store: Store, new: list[tuple[int, FileEntry]],
                 gone: list[PhotoRow]) -> tuple[set[int], set[str]]:
    """Pair new files with vanished photos of the same size and content; returns the moved
    photo ids and their new paths."""
    by_size: dict[int, list[PhotoRow]] = {}
    for row in gone:
        by_size.setdefault(row.size, []).append(row)
    moved_ids: set[int] = set()
    moved_paths: set[str] = set()
    for folder_id, entry in new:
        candidates = by_size.get(entry.size)
        if not candidates:
            continue
        digest = hash_file(entry.path)
        if digest is None:
            continue
        for row in candidates:
            if row.hash == digest:
                store.move_photo(row.id, folder_id, entry.path, entry.size, entry.mtime_ns)
                candidates.remove(row)
                moved_ids.add(row.id)
                moved_paths.add(entry.path)
                break
    return moved_ids, moved_paths
