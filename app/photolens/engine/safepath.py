"""Paths Photolens writes or deletes, checked to lie inside the folder that owns them.

A model's name becomes a folder name and a manifest lists the files to write: both come from
outside (a downloaded or imported manifest), so `..`, an empty name, a separator or an absolute
path could make Photolens write or delete anywhere. Every such path goes through here first.
"""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from .errors import ModelError

__all__ = ["safe_name", "inside", "safe_relative"]

# Longer names are no use to anyone and near file systems' 255-byte limit on one component.
MAX_NAME = 100


def safe_name(name: object) -> str:
    """`name` if it is one plain path component (a model's folder name), else ModelError."""
    if not isinstance(name, str) or not name or name in (".", "..") or len(name) > MAX_NAME:
        raise ModelError(f"{name!r} is not a usable model name: it must be one plain folder name")
    if "/" in name or "\\" in name or "\x00" in name or name.startswith(".") or os.path.isabs(name):
        raise ModelError(f"{name!r} is not a usable model name: no separators, leading dots or absolute paths")
    return name


def safe_relative(relative: object) -> str:
    """A manifest's file path if it stays below the model's folder (no `..`, not absolute)."""
    if not isinstance(relative, str) or not relative or "\x00" in relative or "\\" in relative:
        raise ModelError(f"{relative!r} is not a usable file path in a model manifest")
    parts = PurePosixPath(relative).parts
    if relative.startswith("/") or os.path.isabs(relative) or not parts or any(p in ("..", ".") for p in parts):
        raise ModelError(f"{relative!r} points outside the model's folder: refused")
    return relative


def inside(root: Path, relative: str) -> Path:
    """root/relative, refused unless it resolves (symlinks included) below root."""
    root = Path(root)
    target = root / safe_relative(relative)
    real_root = os.path.realpath(root)
    real = os.path.realpath(target)
    if os.path.commonpath([real_root, real]) != real_root or real == real_root:
        raise ModelError(f"{relative!r} resolves outside {root}: refused")
    return target
