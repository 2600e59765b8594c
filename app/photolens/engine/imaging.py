"""Safe decoding, orientation, preprocessing from the model's description, and thumbnails."""
from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import (FileAccessError, ImageError, ImageTooLargeError, NotAnImageError,
                     TruncatedImageError)
from .fsutil import atomic_write_bytes
from .metadata import read_metadata
from .raw import RAW_EXTENSIONS, is_raw, raw_exif, raw_preview
from .reading import Deadline, decode_budget, open_regular, stream_hash

try:  # HEIC/HEIF (iPhone photos); optional so a missing wheel never stops the app
    import pillow_heif

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    pass

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif",
                              ".heic", ".heif"}) | RAW_EXTENSIONS
# Larger than any camera or stitched panorama people keep (a 200 MP phone sensor), far below
# what it takes to exhaust memory: a decompression bomb is refused before its pixels exist.
MAX_PIXELS = 250_000_000
# Memory one decode may take at its peak (decoded_bytes): a 250-megapixel 8-bit photo fits, the
# same at 16 bits a channel (which once took 3.4 GB and 32 s) does not.
MAX_DECODED_BYTES = 1_200_000_000
# A 250-megapixel JPEG decodes at full size in about 3 s on one core; ten times that is a file
# made to be slow, and the core is worth more to the rest of the library.
MAX_DECODE_S = 30.0
# PIL's own bomb check would raise its own error type at 2x its default; ours comes first.
Image.MAX_IMAGE_PIXELS = None
RESAMPLE = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "nearest": Image.NEAREST,
            "lanczos": Image.LANCZOS}



@dataclass(frozen=True)
class Preprocess:
    """How a model wants its pixels: read from the model's manifest, never hard-coded."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize_mode: str = "shortest"  # shortest: resize the short side, centre crop; squash: stretch
    interpolation: str = "bicubic"

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocess":
        size = d["size"]
        if isinstance(size, (list, tuple)):
            size = int(size[0])
        return cls(size=int(size), mean=tuple(d["mean"]), std=tuple(d["std"]),
                   resize_mode=d.get("resize_mode", "shortest"), interpolation=d.get("interpolation", "bicubic"))


@dataclass
class Decoded:
    pixels: np.ndarray | None  # float32 [3, size, size], ready for the model (None: the closer look's)
    content_hash: str
    info: dict  # width, height, taken, camera, gps_lat, gps_lon
    views: np.ndarray | None = None  # float32 [V, 3, size, size]: the model's tag views, if it has any
    detail: np.ndarray | None = None  # float32 [3, S, S]: the photo for the tag detail pass, if any
    draft: Image.Image | None = None  # the decoded draft itself, where asked for (drafts.py)


Box = tuple[float, float, float, float]  # left, top, right, bottom as shares of the photo


def view_crops(img: Image.Image, boxes: tuple[Box, ...], spec: Preprocess) -> np.ndarray:
    """The photo's regions `boxes`, each preprocessed like the whole photo: [V, 3, size, size]."""
    w, h = img.size
    crops = [img.crop((round(a * w), round(b * h), max(round(c * w), round(a * w) + 1),
                       max(round(d * h), round(b * h) + 1))) for a, b, c, d in boxes]
    return np.stack([preprocess(c, spec) for c in crops])


def content_hash(data: bytes) -> str:
    """The hash of some bytes (the same digest `reading.file_hash` streams from a file)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def decoded_bytes(mode: str, width: int, height: int) -> int:
    """About how much memory decoding an image of this mode and size takes at its peak: its
    pixels, the 8-bit RGB copy it is turned into, and the 8-bit copy a 16/32-bit one goes through."""
    pixels = width * height
    own = pixels * _BYTES_PER_PIXEL.get(mode, 4)
    if mode == "RGB":
        return own
    wide = pixels * 2 if mode in _WIDE_MODES else 0
    return own + wide + pixels * 3


_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3,
                    "RGBA": 4, "RGBa": 4, "CMYK": 4, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2,
                    "I": 4, "F": 4}
_WIDE_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})


def open_image(path: str, f: BinaryIO | bytes, min_size: int | None = None,
               max_seconds: float | None = None) -> Image.Image:
    """Decode safely from an open file (never read whole into memory): pixel count and memory
    checked before pixels are allocated, JPEGs drafted down to just above `min_size`, EXIF
    orientation applied, and the result plain 8-bit RGB. Large decodes wait for their share of
    the decode budget, and a decode stops after `max_seconds` (MAX_DECODE_S). `f` may also be
    bytes already in memory (a small pasted image)."""
    if isinstance(f, (bytes, bytearray)):
        f = io.BytesIO(f)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f.seek(0)
            raw = is_raw(path)  # a camera RAW file: its embedded preview (raw.py)
            seconds = MAX_DECODE_S if max_seconds is None else max_seconds
            img = raw_preview(path, f) if raw else Image.open(Deadline(f, path, seconds))
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise ImageTooLargeError(path, w * h, MAX_PIXELS)
            if min_size and img.format == "JPEG" and not raw:
                # DCT scaling decodes at 1/2, 1/4 or 1/8 size for free; never below the model's input.
                img.draft("RGB", (min_size, min_size))
            need = decoded_bytes(img.mode, *img.size)
            if need > MAX_DECODED_BYTES:
                raise ImageTooLargeError(path, w * h, MAX_PIXELS, need, MAX_DECODED_BYTES)
            with decode_budget.hold(need):
                img.load()
                img = ImageOps.exif_transpose(img) or img
                return to_rgb(img)
    except ImageError:
        raise
    except UnidentifiedImageError as e:
        raise NotAnImageError(path, "not an image, or a format Photolens cannot read") from e
    except MemoryError as e:
        raise ImageTooLargeError(path, 0, MAX_PIXELS) from e
    except (OSError, SyntaxError, ValueError, IndexError, EOFError) as e:
        msg = str(e)
        if "truncated" in msg or "broken data stream" in msg or isinstance(e, EOFError):
            raise TruncatedImageError(path, f"truncated or damaged image data ({msg})") from e
        raise NotAnImageError(path, f"cannot decode: {msg}") from e
    except Image.DecompressionBombError as e:  # pragma: no cover - MAX_IMAGE_PIXELS is off
        raise ImageTooLargeError(path, 0, MAX_PIXELS) from e


def to_rgb(img: Image.Image) -> Image.Image:
    """CMYK, 16-bit, palette, grey and alpha images as 8-bit RGB (transparency over white)."""
    if img.mode.startswith("I;16"):
        # The top 8 bits, without a float copy (4 bytes a pixel) of a possibly huge image.
        img = Image.fromarray((np.asarray(img).astype(np.uint16, copy=False) >> 8).astype(np.uint8), "L")
    elif img.mode in ("I", "F"):
        arr = np.asarray(img)
        top = 65535.0 if arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8), "L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img


def preprocess(img: Image.Image, spec: Preprocess) -> np.ndarray:
    size = spec.size
    resample = RESAMPLE.get(spec.interpolation, Image.BICUBIC)
    if spec.resize_mode == "squash":
        img = img.resize((size, size), resample)
    else:
        w, h = img.size
        scale = size / min(w, h)
        nw, nh = max(size, round(w * scale)), max(size, round(h * scale))
        img = img.resize((nw, nh), resample)
        left, top = (nw - size) // 2, (nh - size) // 2
        img = img.crop((left, top, left + size, top + size))
    x = np.asarray(img, dtype=np.float32) * (1.0 / 255.0)
    x = (x - np.asarray(spec.mean, np.float32)) / np.asarray(spec.std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def photo_info(img: Image.Image, original: Image.Image | None = None, path: str | None = None,
               raw: Image.Exif | None = None) -> dict:
    """Size, and what the file says about when, with what camera and where (see metadata.py);
    `raw`: a RAW file's own EXIF (raw.raw_exif)."""
    meta = read_metadata(original or img, path, raw)
    return {"width": img.width, "height": img.height, "taken": meta.timestamp, "camera": meta.camera,
            "gps_lat": meta.gps_lat, "gps_lon": meta.gps_lon, "metadata": meta}


def decode_for_model(path: str, spec: Preprocess, views: tuple[Box, ...] = (),
                     detail_size: int | None = None, keep_draft: bool = False,
                     min_size: int | None = None) -> Decoded:
    """Open once, decode at draft size, hash, preprocess: one photo's whole CPU path (the file is
    streamed, never read whole). With `views`, those regions are cut from the same decoded image
    (no second decode); with `detail_size`, the whole photo is also prepared at that size for
    the tag detail pass. `keep_draft`: the decoded image comes back too (Decoded.draft), for
    the closer look to cut its inputs from later (closer_look_from_draft). `min_size`: draft no
    smaller than this (default: what the inputs need, draft_size)."""
    with open_regular(path) as f:
        decoded = _decode_open(path, f, spec, views, detail_size, min_size)
    return decoded if keep_draft else replace(decoded, draft=None)


# Views need more pixels than the whole photo: 1.5x the input size keeps a small photo (640x480)
# at full resolution and costs nothing for a large one, whose 1/8 draft is already larger
# (4000x3000 -> 500x375), so decoding is no slower. The detail pass (448 px) is fed from the same
# draft: a 1/4 draft would double the decoding time of a 12-MP JPEG, and stretching 500x375 to
# 448x448 loses little of what 1000x750 would add at that size.
CLOSER_DRAFT_SCALE = 1.5


def draft_size(spec: Preprocess, views: tuple[Box, ...], detail_size: int | None) -> int:
    """The smallest side a JPEG is drafted down to for these inputs."""
    return round(spec.size * CLOSER_DRAFT_SCALE) if views or detail_size else spec.size


def _closer_inputs(img: Image.Image, spec: Preprocess, views: tuple[Box, ...],
                   detail_size: int | None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The tag views and the detail pass's input, cut from one decoded image."""
    crops = view_crops(img, views, spec) if views else None
    detail = preprocess(img, replace(spec, size=detail_size)) if detail_size else None
    return crops, detail


def _decode_open(path: str, f: BinaryIO, spec: Preprocess, views: tuple[Box, ...],
                 detail_size: int | None, min_size: int | None = None) -> Decoded:
    img = open_image(path, f, min_size=max(min_size or 0, draft_size(spec, views, detail_size)))
    try:
        digest = stream_hash(f)  # after decoding: a file that is no image is never read through
    except OSError as e:
        raise FileAccessError(path, f"read failed: {e.strerror or e}") from e
    # EXIF, and the full width and height (the decoded image may be a smaller JPEG draft).
    f.seek(0)
    with (raw_preview(path, f) if is_raw(path) else Image.open(f)) as header:
        info = photo_info(img, header, path, raw_exif(f) if is_raw(path) else None)
        w, h = header.size
        if _rotated(header):
            w, h = h, w
    info["width"], info["height"] = w, h
    return Decoded(preprocess(img, spec), digest, info, *_closer_inputs(img, spec, views, detail_size), draft=img)


def decode_closer_look(path: str, spec: Preprocess, views: tuple[Box, ...], detail_size: int | None) -> Decoded:
    """What the closer look runs on and no more: the tag views and the detail pass's input, cut
    from the same JPEG draft as `decode_for_model` cuts them. The first pass stored the photo's
    hash, EXIF and embedding, so they are not computed again (a 12-MP JPEG: ~12% of its decode)."""
    with open_regular(path) as f:
        img = open_image(path, f, min_size=draft_size(spec, views, detail_size))
    return closer_look_from_draft(img, spec, views, detail_size)


def closer_look_from_draft(img: Image.Image, spec: Preprocess, views: tuple[Box, ...],
                           detail_size: int | None) -> Decoded:
    """decode_closer_look's result from a draft decoded before (at draft_size for the same inputs)."""
    return Decoded(None, "", {}, *_closer_inputs(img, spec, views, detail_size))


def _rotated(img: Image.Image) -> bool:
    try:
        return img.getexif().get(0x0112) in (5, 6, 7, 8)
    except Exception:
        return False


def load_query_image(path: str, spec: Preprocess) -> np.ndarray:
    """An image given as a query (it may be outside the library)."""
    return decode_for_model(path, spec).pixels


# -- thumbnails ----------------------------------------------------------------------------

THUMB_QUALITY = 85


def thumbnail_path(cache: Path, path: str, mtime_ns: int, size: int) -> Path:
    """The key includes the source's mtime, so an edited photo gets a new thumbnail."""
    key = hashlib.sha1(os.fsencode(path) + f"|{mtime_ns}|{size}".encode()).hexdigest()
    return cache / key[:2] / f"{key}.jpg"


def _latest_pointer(cache: Path, path: str, size: int) -> Path:
    """A small file naming the newest thumbnail made of `path`, so that it can be found while
    the photo is offline (its mtime, part of the thumbnail's key, cannot be read then)."""
    key = hashlib.sha1(os.fsencode(path) + f"|{size}".encode()).hexdigest()
    return cache / "latest" / key[:2] / key


def cached_thumbnail(path: str, size: int, cache: Path) -> Path | None:
    """The newest thumbnail made of `path` at `size`, without touching the photo (offline)."""
    try:
        mtime_ns = int(_latest_pointer(cache, path, size).read_text())
    except (OSError, ValueError):
        return None
    out = thumbnail_path(cache, path, mtime_ns, size)
    return out if out.exists() else None


def display_image(path: str) -> Image.Image:
    """The whole photo for the viewer, as 8-bit RGB with EXIF orientation applied: any format
    the indexer reads, HEIC and RAW (its embedded preview) included."""
    with open_regular(path) as f:
        return open_image(path, f)


def thumbnail(path: str, size: int, cache: Path) -> Path:
    """A JPEG no larger than size x size, cached on disk and written atomically. For a photo
    that cannot be reached (an offline drive), the thumbnail made while it could, if any."""
    try:
        st = os.stat(path)
    except OSError:
        cached = cached_thumbnail(path, size, cache)
        if cached is None:
            raise
        return cached
    out = thumbnail_path(cache, path, st.st_mtime_ns, size)
    if out.exists():
        return out
    with open_regular(path) as f:
        img = open_image(path, f, min_size=size)
    img.thumbnail((size, size), Image.BICUBIC)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=THUMB_QUALITY)
    atomic_write_bytes(out, buf.getvalue())
    atomic_write_bytes(_latest_pointer(cache, path, size), str(st.st_mtime_ns).encode())
    return out
