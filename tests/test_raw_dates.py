"""RAW dates: a real DNG (written byte by byte, read by LibRaw) keeps its date, camera and offset
in its own EXIF directory; its preview has none, so the date comes from the file's TIFF EXIF."""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from conftest import cli_json
from dng_writer import write_dng
from photolens.engine.metadata import read_file_metadata, read_metadata
from photolens.engine.raw import raw_exif, raw_preview
from test_when_where import exif_for


@pytest.mark.parametrize("offset, source, minutes", [("+01:00", "exif-offset", 60), (None, "exif", None)])
def test_a_dng_date_comes_from_its_own_exif(tmp_path, offset, source, minutes):
    path = write_dng(tmp_path / "IMG_20200101_000000.dng", taken="2018:03:04 05:06:07", offset=offset)
    with open(path, "rb") as f:
        preview = raw_preview(str(path), f)  # LibRaw reads it: a real RAW, developed (it has no preview)
        assert preview.size == (32, 24) and not preview.getexif()  # nothing to read the date from there
    meta = read_file_metadata(str(path))
    assert meta.taken_local == datetime(2018, 3, 4, 5, 6, 7)  # not the file name's 2020-01-01
    assert (meta.date_source, meta.tz_offset, meta.camera) == (source, minutes, "Canon EOS 5D Mark IV")


def test_raw_exif_reads_tiff_raws_only_and_survives_damage(tmp_path):
    assert raw_exif(io.BytesIO(b"FUJIFILMCCD-RAW 0201FF393101")) is None  # RAF: not a TIFF file
    assert raw_exif(io.BytesIO(b"II*\x00\xff\xff\xff\x7f")) is None  # a directory past the end
    dng = write_dng(tmp_path / "a.dng").read_bytes()
    assert raw_exif(io.BytesIO(dng)).get_ifd(0x8769)[0x9003] == "2018:03:04 05:06:07"


def test_the_preview_exif_fills_in_what_the_raw_exif_lacks():
    """A RAW whose own EXIF has the camera but no date: the preview's date is used."""
    header = Image.open(io.BytesIO(_jpeg(exif_for(taken="2017:06:05 04:03:02", gps=(48.8566, 2.3522)))))
    container = exif_for(make="NIKON CORPORATION", model="NIKON D750")
    meta = read_metadata(header, "DSC_0001.NEF", container)
    assert meta.taken_local == datetime(2017, 6, 5, 4, 3, 2) and meta.date_source == "exif"
    assert meta.camera == "Nikon D750" and round(meta.gps_lat, 3) == 48.857


def _jpeg(exif: Image.Exif) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 150)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def test_an_indexed_dng_is_dated_in_search_and_the_timeline(tmp_path, catalog, library):
    root = tmp_path / "raws"
    write_dng(root / "IMG_20200101_000000.dng")
    catalog.add_folder(root)
    catalog.index_all()
    assert catalog.timeline().months == [("2018-03", 1)] and catalog.timeline().undated == 0
    out = cli_json("search", "date:2018-03", library=library)
    assert [(Path(r["path"]).name, r["taken"], r["camera"]) for r in out["results"]] == [
        ("IMG_20200101_000000.dng", "2018-03-04T05:06:07+01:00", "Canon EOS 5D Mark IV")]
