"""Folders Photolens never indexes, even inside a library folder: its own (library, models,
cache with its thumbnails) and other applications' caches, thumbnails and trash. Without this,
adding a home folder would index Photolens's own thumbnails, and every thumbnail it writes
would wake the watcher ("Library updated: N removed", without end)."""
from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from .config import APP_NAME, cache_dir, default_library_dir, user_models_dir

__all__ = ["excluded_roots", "is_excluded"]


def _real(path: str | os.PathLike) -> str:
    return os.path.realpath(os.path.expanduser(os.fspath(path)))


def excluded_roots(library: Path | None = None) -> frozenset[str]:
    """Absolute, resolved folders whose contents are never photos of the user's: Photolens's
    data, cache, models and `library`, the desktop's cache home (~/.cache or $XDG_CACHE_HOME),
    the freedesktop thumbnail folders and the trash."""
    home = Path.home()
    roots = [platformdirs.user_data_dir(APP_NAME), cache_dir(), user_models_dir(), default_library_dir(),
             platformdirs.user_cache_dir(), home / ".thumbnails", home / ".cache",
             Path(platformdirs.user_data_dir()) / "Trash"]
    if library is not None:
        roots.append(library)
    return frozenset(_real(r) for r in roots)


def is_excluded(path: str, roots: frozenset[str]) -> bool:
    """True when `path` is one of `roots` or inside one."""
    real = _real(path)
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
