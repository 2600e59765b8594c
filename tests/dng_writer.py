"""A minimal valid DNG written byte by byte (TIFF structure, a Bayer mosaic, DNG tags, an EXIF
IFD): a real camera RAW file for tests, small enough to write in the test set-up."""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

# TIFF field types: (code, struct format of one value)
BYTE, ASCII, SHORT, LONG, RATIONAL, SRATIONAL = (1, "B"), (2, "s"), (3, "H"), (4, "I"), (5, "II"), (10, "ii")


def _entries_bytes(entries: list[tuple[int, tuple, object]], start: int) -> bytes:
    """One IFD at file offset `start`: its entries, then the values too long to fit inline."""
    entries = sorted(entries, key=lambda e: e[0])
    head = struct.pack("<H", len(entries))
    extra = b""
    extra_at = start + 2 + 12 * len(entries) + 4
    for tag, (code, fmt), value in entries:
        if code == ASCII[0]:
            data = value.encode("ascii") + b"\x00"
            count = len(data)
        else:
            values = value if isinstance(value, (list, tuple)) else [value]
            flat = [v for pair in values for v in pair] if len(fmt) == 2 else list(values)
            data = struct.pack("<" + fmt[0] * len(flat), *flat)
            count = len(values)
        if len(data) <= 4:
            head += struct.pack("<HHI", tag, code, count) + data.ljust(4, b"\x00")
        else:
            head += struct.pack("<HHII", tag, code, count, extra_at + len(extra))
            extra += data + (b"\x00" if len(data) % 2 else b"")
    return head + struct.pack("<I", 0) + extra


def write_dng(path: Path, taken: str = "2018:03:04 05:06:07", offset: str | None = "+01:00",
              make: str = "Canon", model: str = "Canon EOS 5D Mark IV", size: tuple[int, int] = (64, 48)) -> Path:
    """A 16-bit RGGB mosaic DNG with Make, Model and an EXIF IFD carrying DateTimeOriginal
    (and OffsetTimeOriginal); no embedded preview, as many DNGs converted from a RAW have none."""
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width]
    mosaic = ((xx * 997 + yy * 331) % 4096 + 256).astype("<u2")  # a gradient, in 12 bits of 16
    pixels = mosaic.tobytes()
    exif_entries = [(0x9003, ASCII, taken), (0x9004, ASCII, taken)]
    if offset:
        exif_entries.append((0x9011, ASCII, offset))
    pixels_at = 8
    ifd0_at = pixels_at + len(pixels)

    def ifd0(exif_at: int) -> bytes:
        return _entries_bytes([
            (254, LONG, 0), (256, LONG, width), (257, LONG, height), (258, SHORT, 16), (259, SHORT, 1),
            (262, SHORT, 32803), (271, ASCII, make), (272, ASCII, model), (273, LONG, pixels_at),
            (274, SHORT, 1), (277, SHORT, 1), (278, LONG, height), (279, LONG, len(pixels)), (284, SHORT, 1),
            (306, ASCII, taken), (33421, SHORT, [2, 2]), (33422, BYTE, [0, 1, 1, 2]), (34665, LONG, exif_at),
            (50706, BYTE, [1, 4, 0, 0]), (50707, BYTE, [1, 1, 0, 0]), (50708, ASCII, model),
            (50717, LONG, 4095 + 256), (50721, SRATIONAL, [(10000, 10000), (0, 1), (0, 1), (0, 1), (10000, 10000),
                                                        (0, 1), (0, 1), (0, 1), (10000, 10000)]),
            (50728, RATIONAL, [(1, 2), (1, 1), (1, 2)]), (50778, SHORT, 21),
        ], ifd0_at)

    exif_at = ifd0_at + len(ifd0(0))
    exif_at += exif_at % 2
    body = ifd0(exif_at)
    data = b"II*\x00" + struct.pack("<I", ifd0_at) + pixels + body
    data = data.ljust(exif_at, b"\x00") + _entries_bytes(exif_entries, exif_at)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
