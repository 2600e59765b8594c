"""Camera RAW files (.dng .cr2 .cr3 .nef .arw .raf .orf .rw2): the embedded preview, and the
EXIF that TIFF-based RAW files keep in their own directories.

Cameras store a full-size or large JPEG preview inside each RAW file; it is what the camera
showed, it decodes in milliseconds, and it is plenty for search, tags, thumbnails and the
viewer. Developing the sensor data (demosaicing) is only the fallback for files without one,
and then at half size. Decoding goes through rawpy (LibRaw)."""
from __future__ import annotations

import io
import struct
import warnings
from typing import BinaryIO

import rawpy
from PIL import Image

from .errors import NotAnImageError

__all__ = ["RAW_EXTENSIONS", "is_raw", "raw_exif", "raw_preview"]

RAW_EXTENSIONS = frozenset({".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2"})
# DNG, CR2, NEF and ARW files are TIFF files: they start with a TIFF header (either byte order),
# and the camera's EXIF is one of their directories. CR3 (ISO media), RAF, ORF and RW2 are not.
TIFF_HEADERS = (b"II*\x00", b"MM\x00*")
EXIF_IFD, GPS_IFD = 0x8769, 0x8825  # the EXIF directories that hold the date and the GPS position


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


def raw_exif(f: BinaryIO) -> Image.Exif | None:
    """The EXIF of a TIFF-based RAW file, read from the file's own directories with Pillow: where
    the camera wrote the date, camera and GPS. The embedded preview may carry none (a DNG
    converted without a preview, a bitmap preview, many NEF previews). None for other files,
    and for a damaged header (the photo stays; Pillow's warnings about it are not shown)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f.seek(0)
            if f.read(4) not in TIFF_HEADERS:
                return None
            f.seek(0)
            exif = Image.Exif()
            exif.load_from_fp(f)
            for ifd in (EXIF_IFD, GPS_IFD):  # read now, while `f` is open: later reads come from memory
                exif.get_ifd(ifd)
    except (OSError, SyntaxError, ValueError, KeyError, struct.error):
        return None
    return exif or None
