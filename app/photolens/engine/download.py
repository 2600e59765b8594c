"""Model downloads: only the files a model needs, resumable, verified by sha256.

A file downloads to `<name>.part` next to its destination; after a cut, the next attempt asks
the server for the rest with an HTTP Range request. The finished file is checked against the
manifest's sha256 (or, where the manifest has none, the sha256 the server states for it, as
Hugging Face does for large files in `X-Linked-Etag`) before it is renamed into place.
"""
from __future__ import annotations

import hashlib
import json
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from .config import user_models_dir
from .errors import ChecksumError, DownloadError
from .models import MANIFEST, ModelInfo, read_manifest

CHUNK = 1 << 20
TIMEOUT_S = 30
_SHA = re.compile(r'^"?([0-9a-f]{64})"?$')

ByteProgress = Callable[[str, int, int], None]  # (file, bytes done, bytes total)


def _open(url: str, start: int):
    req = urllib.request.Request(url, headers={"User-Agent": "photolens"})
    if start:
        req.add_header("Range", f"bytes={start}-")
    try:
        return urllib.request.urlopen(req, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as e:
        raise DownloadError(f"{url}: the server answered {e.code} {e.reason}") from e
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise DownloadError(f"cannot reach {url.split('/')[2] if '://' in url else url}: {reason} "
                            "(are you offline? Photolens keeps working with the built-in model)") from e


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def download_file(url: str, dest: Path, sha256: str | None = None, size: int | None = None,
                  progress: ByteProgress | None = None) -> Path:
    """Fetch url to dest, resuming a previous partial download; verify; rename into place."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and sha256 and _sha256_of(dest) == sha256:
        return dest
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    resp = _open(url, have)
    with resp:
        if have and resp.status != 206:
            have = 0  # the server ignored the range: start over
        length = resp.headers.get("Content-Length")
        total = (int(length) + have) if length else (size or 0)
        expected = sha256 or _server_sha(resp.headers)
        try:
            with open(part, "ab" if have else "wb") as f:
                done = have
                while True:
                    try:
                        block = resp.read(CHUNK)
                    except (socket.timeout, ConnectionError, OSError) as e:
                        raise DownloadError(f"the download of {dest.name} was cut at {done:,} bytes ({e}); "
                                            "run the same command again to resume") from e
                    if not block:
                        break
                    f.write(block)
                    done += len(block)
                    if progress:
                        progress(dest.name, done, total)
        except OSError as e:
            if isinstance(e, DownloadError):
                raise
            raise DownloadError(f"cannot write {part}: {e.strerror or e}") from e
    if total and part.stat().st_size < total:
        raise DownloadError(f"the download of {dest.name} stopped at {part.stat().st_size:,} of {total:,} bytes; "
                            "run the same command again to resume")
    if expected:
        actual = _sha256_of(part)
        if actual != expected:
            part.unlink()
            raise ChecksumError(dest.name, expected, actual)
    part.replace(dest)
    return dest


def _server_sha(headers) -> str | None:
    for key in ("X-Linked-Etag", "ETag"):
        m = _SHA.match((headers.get(key) or "").strip())
        if m:
            return m.group(1)
    return None


def install(info: ModelInfo, progress: ByteProgress | None = None, base_url: str | None = None,
            root: Path | None = None) -> ModelInfo:
    """Download the files a manifest lists into the user's models folder, then write the
    manifest (last, so a half-finished install never looks installed)."""
    source = info.manifest.get("source", {})
    base = (base_url or source.get("base_url") or "").rstrip("/")
    if not base:
        raise DownloadError(f"{info.name} is not downloadable (build it with: photolens models build {info.name})")
    files = info.manifest.get("files") or []
    if not files:
        raise DownloadError(f"{info.name}'s manifest lists no files")
    dest = (root or user_models_dir()) / info.name
    for f in files:
        download_file(f"{base}/{f.get('url', f['path'])}", dest / f["path"], f.get("sha256"), f.get("size"), progress)
    manifest = dict(info.manifest)
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return read_manifest(dest / MANIFEST, dest)
