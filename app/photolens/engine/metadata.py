"""When a photo was taken, with what camera, and where: read from the file, never guessed.

The date comes from the first of these that the file has, and its source is recorded:

    exif-offset      EXIF DateTimeOriginal (or DateTimeDigitized) with its OffsetTime tag
    exif             EXIF DateTimeOriginal, no offset (the camera's wall clock)
    exif-digitized   EXIF DateTimeDigitized
    exif-modified    EXIF DateTime (IFD0: when a program last wrote the file, often the same)
    png-text         a PNG's "Creation Time" / "date:create" text chunk
    filename         a date in the file name: IMG_20190714_153000.jpg, PXL_20190714_153000123.jpg,
                     2019-07-14 15.30.00.jpg, Screenshot_2019-07-14-15-30-00.png,
                     IMG-20190714-WA0001.jpg (WhatsApp: the day only)

and otherwise there is no date: the file's mtime says when it was copied, not when it was taken.
Dates are kept as the wall clock where the photo was taken ("2019-07-14T15:30:00") plus the
offset from UTC when the file says it, so "July 2019" means July where the photo was taken.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import PurePath

from PIL import Image

from .raw import is_raw, raw_exif, raw_preview
from .reading import open_regular

__all__ = ["PhotoMetadata", "read_metadata", "read_file_metadata", "taken_iso", "date_from_filename", "camera_name",
           "METADATA_VERSION"]

# Bumped when this module reads more or reads differently: photos recorded under an older
# version are read again (headers only, no embedding) on the next index run.
METADATA_VERSION = 2  # 2: TIFF-based RAW files' own EXIF (raw.raw_exif)

_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME, _MAKE, _MODEL = 0x0132, 0x010F, 0x0110
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_OFFSET_TIME, _OFFSET_ORIGINAL, _OFFSET_DIGITIZED = 0x9010, 0x9011, 0x9012
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4

# Years a photo can plausibly be from: outside them a date is a reset clock (1970, 0000) or
# a number that only looks like one, and no date is better than a wrong one.
MIN_YEAR, MAX_YEAR = 1826, 2100

# Makes as people write them; EXIF has "NIKON CORPORATION", "OLYMPUS IMAGING CORP.", ...
_MAKE_NAMES = {
    "nikon": "Nikon", "canon": "Canon", "sony": "Sony", "olympus": "Olympus", "fujifilm": "Fujifilm",
    "samsung": "Samsung", "google": "Google", "apple": "Apple", "panasonic": "Panasonic", "huawei": "Huawei",
    "xiaomi": "Xiaomi", "oneplus": "OnePlus", "ricoh": "Ricoh", "pentax": "Pentax", "kodak": "Kodak",
    "leica": "Leica", "motorola": "Motorola", "lg": "LG", "hasselblad": "Hasselblad", "gopro": "GoPro",
    "dji": "DJI", "nokia": "Nokia", "htc": "HTC", "minolta": "Minolta", "konica": "Konica", "casio": "Casio",
}
_MAKE_NOISE = re.compile(r"\b(corporation|corp\.?|co\.?,? ?ltd\.?|company|imaging|electronics|optical|"
                         r"camera|inc\.?|ag|gmbh|eastman|ricoh imaging)\b", re.I)

# File-name dates, most specific first. Each yields year, month, day and maybe hour, minute,
# second; a date must also be a real calendar date to count.
_SEP = r"[-_. ]?"
_FILENAME_DATES = [
    # IMG_20190714_153000, PXL_20190714_153000123, VID_20190714_153000, 20190714_153000
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})[-_T ](\d{2})(\d{2})(\d{2})"),
    # 2019-07-14 15.30.00, Screenshot 2019-07-14 at 15.30.00, Screenshot_2019-07-14-15-30-00
    re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?:[ _T-]|\sat\s)(\d{2})[.:_-](\d{2})(?:[.:_-](\d{2}))?(?!\d)"),
    # 2019-07-14, 2019_07_14
    re.compile(r"(?<!\d)(\d{4})[-_](\d{2})[-_](\d{2})(?!\d)"),
    # IMG-20190714-WA0001 (WhatsApp), 20190714
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"),
]


@dataclass(frozen=True)
class PhotoMetadata:
    """What a photo's file says about when, with what, and where."""

    taken_local: datetime | None = None  # naive: the wall clock where it was taken
    tz_offset: int | None = None  # minutes east of UTC, when the file says
    date_source: str | None = None
    camera: str | None = None
    gps_lat: float | None = None
    gps_lon: float | None = None

    @property
    def taken_iso(self) -> str | None:
        """ISO 8601: with the offset when known ("2019-07-14T15:30:00+02:00")."""
        return taken_iso(self.taken_local.isoformat() if self.taken_local else None, self.tz_offset)

    @property
    def timestamp(self) -> float | None:
        """Seconds since the epoch: exact with an offset, else the wall clock read as this
        computer's local time (what the 'taken' column always held, for sorting)."""
        if self.taken_local is None:
            return None
        if self.tz_offset is None:
            return self.taken_local.timestamp()
        return self.taken_local.replace(tzinfo=timezone(timedelta(minutes=self.tz_offset))).timestamp()


def taken_iso(local: str | None, tz_offset: int | None) -> str | None:
    """A stored wall-clock date and offset as ISO 8601."""
    if not local:
        return None
    if tz_offset is None:
        return local
    sign = "-" if tz_offset < 0 else "+"
    return f"{local}{sign}{abs(tz_offset) // 60:02d}:{abs(tz_offset) % 60:02d}"


def read_metadata(header: Image.Image, path: str | None = None, raw: Image.Exif | None = None) -> PhotoMetadata:
    """Everything in one opened (not necessarily decoded) image, plus the file name's date.
    `raw`: a RAW file's own EXIF (raw.raw_exif), read before the preview's (`header`)."""
    try:
        exif = header.getexif()
    except Exception:  # damaged EXIF must not cost the photo, nor its file-name date
        exif = None
    exifs = [e for e in (raw, exif) if e]
    exif = next(iter(exifs), None)
    taken, offset, source = next((d for d in map(_exif_date, exifs) if d[0] is not None), (None, None, None))
    if taken is None:
        taken, source = _text_date(header), "png-text"
        if taken is not None and taken.tzinfo is not None:
            offset = int(taken.utcoffset().total_seconds() // 60)
            taken = taken.replace(tzinfo=None)
    if taken is None and path:
        taken, source = date_from_filename(PurePath(path).name), "filename"
    if taken is None:
        source = None
    lat, lon = next((g for g in map(_gps, exifs) if g[0] is not None), (None, None))
    exif = next((e for e in exifs if e.get(_MAKE) or e.get(_MODEL)), exif)
    make = exif.get(_MAKE) if exif else None
    model = exif.get(_MODEL) if exif else None
    return PhotoMetadata(taken, offset, source, camera_name(make, model), lat, lon)


def _exif_date(exif) -> tuple[datetime | None, int | None, str | None]:
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:
        sub = {}
    for tag, offset_tag, source in ((_DATETIME_ORIGINAL, _OFFSET_ORIGINAL, "exif"),
                                    (_DATETIME_DIGITIZED, _OFFSET_DIGITIZED, "exif-digitized")):
        taken = _exif_stamp(sub.get(tag))
        if taken is not None:
            offset = _offset(sub.get(offset_tag))
            return taken, offset, "exif-offset" if offset is not None else source
    taken = _exif_stamp(exif.get(_DATETIME))
    if taken is not None:
        return taken, _offset(sub.get(_OFFSET_TIME)), "exif-modified"
    return None, None, None


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip().strip("\x00").strip()
    return value or None


def _exif_stamp(value) -> datetime | None:
    """'2019:07:14 15:30:00' (some writers use '-' or a 'T'); blank and zero dates are none."""
    text = _text(value)
    if not text:
        return None
    m = re.match(r"(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})", text)
    return _valid(*m.groups()) if m else None


def _offset(value) -> int | None:
    """'+02:00' / '-03:30' -> minutes east of UTC."""
    text = _text(value)
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text) if text else None
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3))
    if minutes > 14 * 60:  # no zone is further from UTC than +14:00
        return None
    return -minutes if m.group(1) == "-" else minutes


def _valid(year, month, day, hour=None, minute=None, second=None) -> datetime | None:
    try:
        dt = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    return dt if MIN_YEAR <= dt.year <= MAX_YEAR else None


def _text_date(header: Image.Image) -> datetime | None:
    """A PNG's creation time from its text chunks (RFC 1123 or ISO 8601, as writers differ)."""
    info = getattr(header, "info", None) or {}
    for key in ("Creation Time", "date:create", "CreationTime"):
        text = _text(info.get(key))
        if not text:
            continue
        for parse in (datetime.fromisoformat, _rfc1123, _exif_stamp):
            try:
                dt = parse(text)
            except (ValueError, TypeError):
                continue
            if dt is not None and MIN_YEAR <= dt.year <= MAX_YEAR:
                return dt
    return None


def _rfc1123(text: str) -> datetime | None:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(text)


def date_from_filename(name: str) -> datetime | None:
    """The date (and time, when there is one) written in a file name, or None."""
    for pattern in _FILENAME_DATES:
        for m in pattern.finditer(name):
            dt = _valid(*m.groups())
            if dt is not None:
                return dt
    return None


def camera_name(make, model) -> str | None:
    """'Canon' + 'Canon EOS 5D' -> 'Canon EOS 5D'; 'NIKON CORPORATION' + 'NIKON D750' ->
    'Nikon D750'; 'Google' + 'Pixel 7' -> 'Google Pixel 7'."""
    make, model = _text(make), _text(model)
    if make:
        key = _MAKE_NOISE.sub("", make).strip(" ,.").casefold()
        make = _MAKE_NAMES.get(key.split()[0] if key else "", _MAKE_NOISE.sub("", make).strip(" ,.") or make)
    if not model:
        return make or None
    model = " ".join(model.split())
    if not make:
        return model
    first = model.split()[0]
    if first.casefold() == make.casefold() or _MAKE_NAMES.get(first.casefold()) == make:
        return f"{make} {model[len(first):].strip()}".strip()
    if model.casefold().startswith(make.casefold()):
        return f"{make} {model[len(make):].strip()}".strip()
    return f"{make} {model}"


def _gps(exif) -> tuple[float | None, float | None]:
    try:
        gps = exif.get_ifd(_GPS_IFD)
        if not gps or _GPS_LAT not in gps or _GPS_LON not in gps:
            return None, None
        lat, lon = _degrees(gps[_GPS_LAT]), _degrees(gps[_GPS_LON])
    except (TypeError, ValueError, ZeroDivisionError, KeyError, AttributeError):
        return None, None
    if (_text(gps.get(_GPS_LAT_REF)) or "N").upper().startswith("S"):
        lat = -abs(lat)
    if (_text(gps.get(_GPS_LON_REF)) or "E").upper().startswith("W"):
        lon = -abs(lon)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    # Exactly 0,0 is what a phone writes when it had no fix, not a photo in the Gulf of Guinea.
    if lat == 0 and lon == 0:
        return None, None
    return lat, lon


def _degrees(value) -> float:
    """Degrees, minutes, seconds as three rationals (or already one number)."""
    if isinstance(value, (int, float)) or hasattr(value, "numerator") and not isinstance(value, tuple):
        return float(value)
    parts = [float(x) for x in value]
    while len(parts) < 3:
        parts.append(0.0)
    d, m, s = parts[:3]
    return d + m / 60 + s / 3600


def read_file_metadata(path: str) -> PhotoMetadata | None:
    """A file's metadata from its header alone (nothing is decoded): for libraries indexed
    before this module existed. None when the file cannot be opened now (gone, offline,
    damaged): what was recorded before stays until it can be read."""
    try:
        with open_regular(path) as f, (raw_preview(path, f) if is_raw(path) else Image.open(f)) as img:
            return read_metadata(img, path, raw_exif(f) if is_raw(path) else None)  # a regular file only
    except Exception:
        return None
