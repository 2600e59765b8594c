"""Model downloads: only the files a model needs, resumable, verified by sha256.

A file downloads to `<name>.part` next to its destination; after a cut, the next attempt asks
the server for the rest with an HTTP Range request. Every file must have a sha256 in the
manifest (a file without one is refused: a server must not decide what runs here); the finished
file is checked against it before it is renamed into place. Downloads stay on the manifest's
host (and the hosts it names in `source.allowed_hosts`, such as a CDN it redirects to), never
follow a redirect elsewhere or from https to http, and stop at the size the manifest states.
"""
from __future__ import annotations

import hashlib
import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from .config import user_models_dir
from .errors import ChecksumError, DownloadError
from .models import MANIFEST, ModelInfo, read_manifest
from .safepath import inside, safe_name

CHUNK = 1 << 20
TIMEOUT_S = 30
_SHA = re.compile(r'^[0-9a-f]{64}$')
# Where a manifest states no size: larger than any model file we know (CLIP ViT-L is ~1.7 GB),
# small enough that an endless response cannot fill a disk.
MAX_FILE_BYTES = 4 << 30


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to an allowed host, and never from https down to http."""

    def __init__(self, hosts: frozenset[str], secure: bool):
        self.hosts, self.secure = hosts, secure

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        parts = urllib.parse.urlsplit(newurl)
        if (parts.hostname or "") not in self.hosts or (self.secure and parts.scheme != "https"):
            raise DownloadError(f"{req.full_url} redirects to {parts.scheme}://{parts.hostname}, which the "
                                "manifest does not allow: refused")
        return super().redirect_request(req, fp, code, msg, headers, newurl)

ByteProgress = Callable[[str, int, int], None]  # (file, bytes done, bytes total)


def _open(url: str, start: int, hosts: frozenset[str] = frozenset()):
    req = urllib.request.Request(url, headers={"User-Agent": "photolens"})
    if start:
        req.add_header("Range", f"bytes={start}-")
    parts = urllib.parse.urlsplit(url)
    opener = urllib.request.build_opener(_SameHostRedirects(hosts | {parts.hostname or ""}, parts.scheme == "https"))
    try:
        return opener.open(req, timeout=TIMEOUT_S)
    except DownloadError:
        raise
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


def download_file(url: str, dest: Path, sha256: str | None, size: int | None = None,
                  progress: ByteProgress | None = None, hosts: frozenset[str] = frozenset()) -> Path:
    """Fetch url to dest, resuming a previous partial download; verify; rename into place.
    `sha256` is required; the download stops at `size` bytes (or MAX_FILE_BYTES)."""
    if not isinstance(sha256, str) or not _SHA.match(sha256):
        raise DownloadError(f"{dest.name} has no sha256 in the manifest: refused (a file that cannot be "
                            "verified is never installed)")
    cap = int(size) if size else MAX_FILE_BYTES
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and _sha256_of(dest) == sha256:
        return dest
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    if have > cap:
        part.unlink()
        have = 0
    resp = _open(url, have, hosts)
    with resp:
        if have and resp.status != 206:
            have = 0  # the server ignored the range: start over
        length = resp.headers.get("Content-Length")
        total = (int(length) + have) if length else (size or 0)
        if total > cap:
            raise DownloadError(f"{dest.name}: the server offers {total:,} bytes, more than the {cap:,} the "
                                "manifest allows: refused")
        expected = sha256
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
                    done += len(block)
                    if done > cap:
                        break
                    f.write(block)
                    if progress:
                        progress(dest.name, done, total)
        except OSError as e:
            raise DownloadError(f"cannot write {part}: {e.strerror or e}") from e
    if done > cap:  # an endless or oversized response: what came is no use
        part.unlink()
        raise DownloadError(f"{dest.name}: the server sent more than the {cap:,} bytes the manifest allows: stopped")
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
    missing = [f.get("path") for f in files if not _SHA.match(str(f.get("sha256") or ""))]
    if missing:
        raise DownloadError(f"{info.name}'s manifest gives no sha256 for {', '.join(map(str, missing))}: "
                            "refused (a file that cannot be verified is never installed; import a model folder "
                            "you trust with `photolens models import` instead)")
    folder = root or user_models_dir()
    dest = inside(folder, safe_name(info.name))
    hosts = frozenset(str(h) for h in source.get("allowed_hosts") or [])
    for f in files:
        download_file(f"{base}/{f.get('url', f['path'])}", inside(dest, f["path"]), f["sha256"], f.get("size"),
                      progress, hosts)
    manifest = dict(info.manifest)
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return read_manifest(dest / MANIFEST, dest)
