"""Camera RAW files (.dng .cr2 .cr3 .nef .arw .raf .orf .rw2): the embedded preview.

Cameras store a full-size or large JPEG preview inside each RAW file; it is what the camera
showed, it decodes in milliseconds, and it is plenty for search, tags, thumbnails and the
viewer. Developing the sensor data (demosaicing) is only the fallback for files without one,
and then at half size. Decoding goes through rawpy (LibRaw)."""
from __future__ import annotations

import io
from typing import BinaryIO

import rawpy
from PIL import Image

from .errors import NotAnImageError

__all__ = ["RAW_EXTENSIONS", "is_raw", "raw_preview"]

RAW_EXTENSIONS = frozenset({".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2"})


def is_raw(path: str) -> bool:
    return path[path.rfind("."):].lower() in RAW_EXTENSIONS if "." in path else False


def raw_preview(path: str, f: BinaryIO) -> Image.Image:
    """The RAW file's embedded preview as a PIL image (a JPEG preview keeps its EXIF, so its
    orientation and date are read as for any photo), or the sensor data developed at half
    size when the file has no preview. Raises NotAnImageError for a file LibRaw cannot read.
    `f` is the open file (LibRaw reads it into memory: RAW files are tens of megabytes)."""
    try:
        f.seek(0)
        with rawpy.imread(f) as raw:
            try:
                thumb = raw.extract_thumb()
            except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
                thumb = None
            if thumb is not None and thumb.format == rawpy.ThumbFormat.JPEG:
                img = Image.open(io.BytesIO(thumb.data))
                img.load()
                return img
            if thumb is not None and thumb.format == rawpy.ThumbFormat.BITMAP:
                return Image.fromarray(thumb.data)
            return Image.fromarray(raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8))
    except (rawpy.LibRawError, OSError, ValueError) as e:
        raise NotAnImageError(path, f"cannot read this RAW file: {e}") from e
