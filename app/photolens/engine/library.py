"""Folders, scanning, and what is new, changed, moved or gone.

Changes are found by size and mtime first; a content hash is computed only where it decides
something: a changed mtime (was the content really edited?) and a new file whose size matches
a photo that disappeared (is it that photo, moved?). A moved photo keeps its row id, and with
it its vectors and tags, so it is never embedded again.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field

from .errors import FileAccessError, ImageError
from .imaging import IMAGE_EXTENSIONS, content_hash, read_file
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


@dataclass
class Changes:
    added: int = 0
    updated: int = 0
    moved: int = 0
    removed: int = 0
    failed: int = 0
    removed_ids: list[int] = field(default_factory=list)
    offline_folders: list[str] = field(default_factory=list)


def is_skipped_dir(name: str) -> bool:
    return name.startswith(".") or name in SKIP_DIRS


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS and not name.startswith("._")


def scan(root: str) -> ScanResult:
    """Every image file under root. Folder symlinks are not followed (no loops, no photo seen
    twice); file symlinks are, and a broken or looping one is reported as a problem."""
    result = ScanResult()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # unreadable subfolder: its photos stay as they were
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    if not is_skipped_dir(entry.name):
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
    import stat

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
        return content_hash(read_file(path))
    except ImageError:
        return None


def within(path: str, prefix: str) -> bool:
    prefix = prefix.rstrip(os.sep)
    return path == prefix or path.startswith(prefix + os.sep)


def reconcile(store: Store, scopes: list[tuple[int, str]], folder_roots: dict[int, str]) -> Changes:
    """Bring the database in step with the disk under each (folder id, directory) scope.

    Everything in one transaction: a crash leaves the database as it was before the scan.
    Moves are matched across all scopes, so a photo moved from one folder to another (or a
    folder renamed) keeps its vectors.
    """
    changes = Changes()
    seen: dict[str, tuple[int, FileEntry]] = {}
    problems: dict[str, tuple[int, ImageError]] = {}
    known: dict[str, PhotoRow] = {}
    for folder_id, directory in scopes:
        root = folder_roots[folder_id]
        if not os.path.isdir(root):
            # An unplugged drive or unmounted share: keep its photos, mark it offline.
            store.set_folder_state(folder_id, online=False)
            changes.offline_folders.append(root)
            continue
        result = scan(directory) if os.path.isdir(directory) else ScanResult()
        seen.update((p, (folder_id, e)) for p, e in result.files.items())
        problems.update((p, (folder_id, err)) for p, err in result.problems.items())
        for path, row in store.photos_in_folder(folder_id).items():
            if within(path, directory):
                known[path] = row

    with store.transaction():
        for folder_id, _ in scopes:
            if folder_roots[folder_id] not in changes.offline_folders:
                store.set_folder_state(folder_id, online=True, scanned=True)
        new: list[tuple[int, FileEntry]] = []
        for path, (folder_id, entry) in seen.items():
            row = known.get(path)
            if row is None:
                new.append((folder_id, entry))
            elif row.size != entry.size or row.mtime_ns != entry.mtime_ns:
                if row.hash and row.size == entry.size and hash_file(path) == row.hash:
                    store.touch(row.id, entry.size, entry.mtime_ns)
                else:
                    store.mark_changed(row.id, entry.size, entry.mtime_ns)
                    changes.updated += 1
        gone = [row for path, row in known.items() if path not in seen and path not in problems]
        moved_ids, moved_paths = _match_moves(store, new, gone)
        changes.moved = len(moved_ids)
        for folder_id, entry in new:
            if entry.path not in moved_paths:
                store.add_photo(folder_id, entry.path, entry.size, entry.mtime_ns)
                changes.added += 1
        removed = [row.id for row in gone if row.id not in moved_ids]
        store.remove_photos(removed)
        changes.removed = len(removed)
        changes.removed_ids = removed
        for path, (folder_id, err) in problems.items():
            row = known.get(path)
            if row is not None and row.status == STATUS_FAILED and row.error == str(err):
                continue
            pid = row.id if row is not None else store.add_photo(folder_id, path, -1, 0)
            store.record_failure(pid, err.kind, str(err))
            changes.failed += 1
    return changes


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
