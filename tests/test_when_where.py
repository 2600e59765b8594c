"""When and where: dates, cameras and places read from real files, filters from flags, in
queries and in plain words, and filtered search that finds the best matches inside a filter."""
from __future__ import annotations

import sqlite3
import time
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from conftest import cli_json, run_cli
from photolens.engine.errors import QueryError
from photolens.engine.filters import Filters, understand
from photolens.engine.index import VectorIndex
from photolens.engine.metadata import PhotoMetadata, camera_name, date_from_filename, read_file_metadata
from photolens.engine.metastore import matching_ids, record_metadata, record_places, refresh_metadata
from photolens.engine.places import Place, PlaceNamer
from photolens.engine import schema
from photolens.engine.store import Store
from photolens.engine.whenwhere import WhenWhere

PARIS = (48.8566, 2.3522)
TOKYO = (35.6895, 139.6917)
SYDNEY = (-33.8688, 151.2093)
RIO = (-22.9068, -43.1729)
NEW_YORK = (40.7128, -74.0060)


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    return float(d), float(m), round((value - d - m / 60) * 3600, 4)


def exif_for(taken: str | None = None, offset: str | None = None, make: str | None = None,
             model: str | None = None, gps: tuple[float, float] | None = None, digitized: str | None = None,
             modified: str | None = None) -> Image.Exif:
    exif = Image.Exif()
    if make:
        exif[0x010F] = make
    if model:
        exif[0x0110] = model
    if modified:
        exif[0x0132] = modified
    sub = exif.get_ifd(0x8769)
    if taken:
        sub[0x9003] = taken
    if offset:
        sub[0x9011] = offset
    if digitized:
        sub[0x9004] = digitized
    if gps:
        g = exif.get_ifd(0x8825)
        g[1], g[2] = ("N" if gps[0] >= 0 else "S"), _dms(gps[0])
        g[3], g[4] = ("E" if gps[1] >= 0 else "W"), _dms(gps[1])
    return exif


def photo(path: Path, color=(120, 120, 120), fmt: str | None = None, **exif) -> Path:
    """A real image file carrying the EXIF given (none when nothing is given)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", (64, 48), color)
    img.paste(tuple(min(255, c + 60) for c in color), (0, 0, 20, 16))
    kwargs = {"exif": exif_for(**exif).tobytes()} if exif else {}
    img.save(path, fmt, **kwargs)
    return path


# -- reading metadata ------------------------------------------------------------------------

def test_exif_date_with_offset_camera_and_gps_in_both_hemispheres(tmp_path):
    m = read_file_metadata(str(photo(tmp_path / "a.jpg", taken="2021:04:03 10:00:00", offset="+09:00",
                                     make="Google", model="Pixel 7", gps=RIO)))
    assert m.taken_local == datetime(2021, 4, 3, 10, 0) and m.tz_offset == 540
    assert m.date_source == "exif-offset" and m.taken_iso == "2021-04-03T10:00:00+09:00"
    assert m.camera == "Google Pixel 7"
    assert m.gps_lat == pytest.approx(RIO[0], abs=1e-4) and m.gps_lon == pytest.approx(RIO[1], abs=1e-4)
    assert m.gps_lat < 0 and m.gps_lon < 0
    s = read_file_metadata(str(photo(tmp_path / "s.jpg", taken="2020:01:02 03:04:05", gps=SYDNEY)))
    assert s.gps_lat < 0 < s.gps_lon and s.date_source == "exif" and s.tz_offset is None
    assert s.taken_iso == "2020-01-02T03:04:05"


@pytest.mark.parametrize("kwargs, source, taken", [
    ({"digitized": "2018:05:06 07:08:09"}, "exif-digitized", datetime(2018, 5, 6, 7, 8, 9)),
    ({"modified": "2017:01:01 00:00:01"}, "exif-modified", datetime(2017, 1, 1, 0, 0, 1)),
    ({"taken": "0000:00:00 00:00:00", "modified": "2016:02:03 04:05:06"}, "exif-modified",
     datetime(2016, 2, 3, 4, 5, 6)),
    ({"taken": "    ", "make": "Canon", "model": "Canon EOS 5D"}, None, None),
])
def test_exif_date_fallbacks(tmp_path, kwargs, source, taken):
    m = read_file_metadata(str(photo(tmp_path / "x.jpg", **kwargs)))
    assert (m.date_source, m.taken_local) == (source, taken)


@pytest.mark.parametrize("name, expected", [
    ("IMG_20190714_153000.jpg", datetime(2019, 7, 14, 15, 30)),
    ("PXL_20190714_153000123.jpg", datetime(2019, 7, 14, 15, 30)),
    ("VID_20190714_153000.mp4", datetime(2019, 7, 14, 15, 30)),
    ("2019-07-14 15.30.00.jpg", datetime(2019, 7, 14, 15, 30)),
    ("Screenshot 2019-07-14 at 15.30.00.png", datetime(2019, 7, 14, 15, 30)),
    ("Screenshot_2019-07-14-15-30-00.png", datetime(2019, 7, 14, 15, 30)),
    ("IMG-20190714-WA0001.jpg", datetime(2019, 7, 14)),
    ("holiday 2019-07-14.jpg", datetime(2019, 7, 14)),
    ("DSC_0001.jpg", None),
    ("IMG_20191345_000000.jpg", None),  # no 45th of the 13th month
    ("scan_12345678.jpg", None),
])
def test_dates_in_file_names(name, expected):
    assert date_from_filename(name) == expected


def test_file_name_date_is_used_only_without_exif_and_never_the_mtime(tmp_path):
    named = read_file_metadata(str(photo(tmp_path / "IMG_20190714_153000.jpg")))
    assert (named.date_source, named.taken_local) == ("filename", datetime(2019, 7, 14, 15, 30))
    exif_wins = read_file_metadata(str(photo(tmp_path / "IMG_20190714_153001.jpg", taken="2001:02:03 04:05:06")))
    assert exif_wins.date_source == "exif" and exif_wins.taken_local.year == 2001
    bare = read_file_metadata(str(photo(tmp_path / "bare.jpg")))
    assert bare.taken_local is None and bare.date_source is None and bare.camera is None and bare.gps_lat is None


def test_png_webp_and_heic_dates(tmp_path):
    for fmt, ext in (("PNG", "png"), ("WEBP", "webp"), ("HEIF", "heic")):
        m = read_file_metadata(str(photo(tmp_path / f"p.{ext}", fmt=fmt, taken="2022:08:09 10:11:12",
                                         offset="-03:30", gps=NEW_YORK)))
        assert (m.taken_local, m.tz_offset, m.date_source) == (datetime(2022, 8, 9, 10, 11, 12), -210,
                                                               "exif-offset"), fmt
        assert m.gps_lon < 0 < m.gps_lat, fmt
    info = PngInfo()
    info.add_text("Creation Time", "Sun, 14 Jul 2019 15:30:00 +0200")
    Image.new("RGB", (8, 8)).save(tmp_path / "t.png", pnginfo=info)
    m = read_file_metadata(str(tmp_path / "t.png"))
    assert (m.taken_local, m.tz_offset, m.date_source) == (datetime(2019, 7, 14, 15, 30), 120, "png-text")


@pytest.mark.parametrize("make, model, expected", [
    ("Canon", "Canon EOS 5D Mark IV", "Canon EOS 5D Mark IV"),
    ("NIKON CORPORATION", "NIKON D750", "Nikon D750"),
    ("OLYMPUS IMAGING CORP.", "E-M10", "Olympus E-M10"),
    ("Google", "Pixel 7", "Google Pixel 7"),
    ("Apple", "iPhone 12 Pro", "Apple iPhone 12 Pro"),
    (None, "X100V", "X100V"),
    ("samsung", None, "Samsung"),
    (None, None, None),
])
def test_camera_names_are_normalised(make, model, expected):
    assert camera_name(make, model) == expected


def test_places_are_named_offline_in_english():
    paris, tokyo, sydney, rio = PlaceNamer.shared().name([PARIS, TOKYO, SYDNEY, RIO])
    assert (paris.city, paris.country, paris.country_code) == ("Paris", "France", "FR")
    assert (tokyo.region, tokyo.country, tokyo.country_code) == ("Tokyo", "Japan", "JP")
    assert (sydney.city, sydney.country) == ("Sydney", "Australia")
    assert (rio.city, rio.country) == ("Rio de Janeiro", "Brazil")
    # A big city names photos within its reach, not only at its GeoNames point; borders hold.
    eiffel, times_square, vatican, village = PlaceNamer.shared().name(
        [(48.8584, 2.2945), (40.758, -73.9855), (41.9022, 12.4539), (47.0, 2.0)])
    assert eiffel.city == "Paris" and times_square.city == "New York City"  # not Vanves, not "Times Square"
    assert vatican.country_code == "VA" and (village.city, village.country) == ("Sainte-Lizaigne", "France")


# -- filters -------------------------------------------------------------------------------

def test_filters_written_in_a_query():
    u = understand('beach after:2019-01-01 before:2019-12-31 place:Paris camera:"Pixel 7" folder:Trips')
    assert u.text == "beach"
    f = u.filters
    assert (f.date_from, f.date_to, f.place, f.camera, f.folder) == (date(2019, 1, 1), date(2019, 12, 31), "Paris",
                                                                    "Pixel 7", "Trips")
    assert understand("date:2019-07").filters.date_to == date(2019, 7, 31)
    assert understand("date:2019-07").text is None  # filters only
    assert understand(["dog", 'camera:"Pixel 7"']).filters.camera == "Pixel 7"  # a CLI argument
    with pytest.raises(QueryError):
        understand("date:July")
    with pytest.raises(QueryError):
        understand("place:")
    with pytest.raises(QueryError, match="ends"):
        understand("after:2020 before:2019")
    with pytest.raises(QueryError, match="ends"):
        Filters.from_flags("2020", "2019")


def test_plain_words_become_filters_only_when_known():
    knows = {"paris", "tokyo", "rio de janeiro"}.__contains__

    def known(name):
        return knows(name.lower())

    u = understand("beach Paris 2019", known)
    assert (u.text, u.filters.place, u.filters.date_from, u.filters.date_to) == (
        "beach", "Paris", date(2019, 1, 1), date(2019, 12, 31))
    assert understand("July 2019", known).filters.date_from == date(2019, 7, 1)
    assert understand("July 2019", known).text is None
    winter = understand("snow winter 2019", known)
    assert (winter.text, winter.filters.date_from, winter.filters.date_to) == ("snow", date(2019, 12, 1),
                                                                              date(2020, 2, 29))
    assert understand("sunset in Rio de Janeiro", known).filters.place == "Rio de Janeiro"
    assert understand("sunset in Rio de Janeiro", known).text == "sunset"
    hilton = understand("Paris Hilton", lambda name: False)
    assert hilton.text == "Paris Hilton" and hilton.filters.empty
    # Operators keep the query as written.
    assert understand("dog + Paris", known).filters.empty
    assert understand("may flowers", known).filters.empty  # a month without a year is a word


def test_a_chip_removed_leaves_the_rest_of_the_query():
    u = understand('beach Paris summer 2019 camera:"Pixel 7"', lambda name: name.lower() == "paris")
    assert [c[0] for c in u.filters.chips()] == ["date", "place", "camera"]
    assert u.query_without("place") == 'beach after:2019-06-01 before:2019-08-31 camera:"Pixel 7"'
    assert u.query_without("date") == 'beach place:Paris camera:"Pixel 7"'
    assert Filters(place="Rock 'n' Roll").to_query() == "place:\"Rock 'n' Roll\""
    # The query language has no escaped double quote: one inside a value is left out.
    assert understand(Filters(camera='say "cheese"').to_query()).filters.camera == "say cheese"
    again = understand(u.query_without("camera"))
    assert again.filters == u.filters.without("camera") and again.words == "beach"
    assert Filters.from_flags("2019-07", "2019-07").to_query() == "date:2019-07"
    assert Filters.from_flags("2019", "2019").to_query() == "date:2019"


def test_flags_override_the_query():
    f = Filters.from_flags("2019", "2020-06", "Tokyo", "pixel", None)
    assert (f.date_from, f.date_to) == (date(2019, 1, 1), date(2020, 6, 30))
    merged = understand("place:Paris date:2018").filters.merged(Filters(place="Tokyo"))
    assert merged.place == "Tokyo" and merged.date_from == date(2018, 1, 1)
    assert [c[0] for c in merged.chips()] == ["date", "place"] and merged.chips()[0][1] == "2018"
    assert merged.without("date").date_from is None


# -- a library -------------------------------------------------------------------------------

@pytest.fixture
def travel(tmp_path, catalog):
    """Photos from Paris and Tokyo in two years, Sydney, Rio, a file-name date and bare ones."""
    root = tmp_path / "photos"
    shots = {
        "paris_2019_a.jpg": dict(taken="2019:07:14 15:30:00", offset="+02:00", make="Canon", model="Canon EOS 80D",
                                 gps=PARIS),
        "paris_2019_b.jpg": dict(taken="2019:07:15 09:00:00", make="Canon", model="Canon EOS 80D", gps=PARIS),
        "paris_2021.jpg": dict(taken="2021:05:01 12:00:00", make="Google", model="Pixel 7", gps=PARIS),
        "Trips/tokyo_2021_a.jpg": dict(taken="2021:04:03 10:00:00", offset="+09:00", make="Google",
                                       model="Pixel 7", gps=TOKYO),
        "Trips/tokyo_2021_b.jpg": dict(taken="2021:04:04 20:00:00", make="Google", model="Pixel 7", gps=TOKYO),
        "Trips/tokyo_2019.jpg": dict(taken="2019:11:20 08:00:00", make="Sony", model="ILCE-7M3", gps=TOKYO),
        "sydney.jpg": dict(taken="2020:01:02 03:04:05", gps=SYDNEY),
        "rio.jpg": dict(taken="2020:02:20 18:00:00", gps=RIO),
    }
    for i, (name, exif) in enumerate(shots.items()):
        photo(root / name, color=(30 + 25 * i, 200 - 20 * i, 90 + 15 * i), **exif)
    photo(root / "IMG_20190714_153000.jpg", color=(10, 10, 200))
    photo(root / "bare.jpg", color=(250, 250, 10))
    catalog.add_folder(root)
    catalog.index_all()
    return catalog, root


def _names(results) -> set[str]:
    return {Path(r.path).name for r in results}


def test_places_and_timeline_of_a_library(travel):
    catalog, _ = travel
    places = {c.country: c for c in catalog.places()}
    assert set(places) == {"France", "Japan", "Australia", "Brazil"}
    assert places["France"].count == 3 and places["France"].cities[0].city == "Paris"
    assert places["Japan"].count == 3 and places["Japan"].cities[0].region == "Tokyo"
    months = dict(catalog.timeline().months)
    assert months["2019-07"] == 3 and months["2021-04"] == 2 and catalog.timeline().undated == 1
    assert catalog.timeline().years()[0] == (2019, 4)


def test_search_results_carry_date_place_and_camera(travel):
    catalog, root = travel
    pid = catalog.photo_id(str(root / "Trips" / "tokyo_2021_a.jpg"))
    w = catalog.photo_when_where(pid)
    assert (w.taken, w.date_source, w.camera) == ("2021-04-03T10:00:00+09:00", "exif-offset", "Google Pixel 7")
    assert w.place.country == "Japan" and w.place.country_code == "JP"
    assert (w.taken_label, w.source_label) == ("03 Apr 2021 10:00 (UTC+09:00)", "camera, with time zone")
    whatsapp = catalog.photo_when_where(catalog.photo_id(str(root / "IMG_20190714_153000.jpg")))
    assert (whatsapp.taken_label, whatsapp.source_label) == ("14 Jul 2019 15:30", "file name")
    hit = next(r for r in catalog.search("photo", k=20) if r.id == pid).to_json()
    assert hit["taken"] == "2021-04-03T10:00:00+09:00" and hit["camera"] == "Google Pixel 7"
    assert hit["place"]["country"] == "Japan" and set(hit["place"]) == {"city", "region", "country", "country_code"}
    bare = next(r for r in catalog.search("photo", k=20) if r.path.endswith("bare.jpg")).to_json()
    assert bare["taken"] is None and bare["place"] is None


def test_filters_return_exactly_the_photos_they_should(travel):
    catalog, root = travel
    assert _names(catalog.search("Tokyo 2021", k=50)) == {"tokyo_2021_a.jpg", "tokyo_2021_b.jpg"}
    assert _names(catalog.search("place:Paris", k=50)) == {"paris_2019_a.jpg", "paris_2019_b.jpg", "paris_2021.jpg"}
    assert _names(catalog.search("photo", k=50, filters=Filters(camera="pixel"))) == {
        "paris_2021.jpg", "tokyo_2021_a.jpg", "tokyo_2021_b.jpg"}
    assert _names(catalog.search("photo", k=50, filters=Filters.from_flags("2019-07", "2019-07"))) == {
        "paris_2019_a.jpg", "paris_2019_b.jpg", "IMG_20190714_153000.jpg"}
    assert _names(catalog.search("folder:Trips date:2019", k=50)) == {"tokyo_2019.jpg"}
    assert _names(catalog.search("summer 2019 place:France", k=50)) == {"paris_2019_a.jpg", "paris_2019_b.jpg"}
    assert _names(catalog.search("place:Brazil", k=50)) == {"rio.jpg"}
    assert catalog.search("place:Atlantis", k=50) == []
    # Filters only: newest first.
    assert [Path(r.path).name for r in catalog.search("place:Japan", k=50)] == [
        "tokyo_2021_b.jpg", "tokyo_2021_a.jpg", "tokyo_2019.jpg"]
    u = catalog.understand("red Tokyo 2021")
    assert u.to_json() == {"text": "red", "from": "2021-01-01", "to": "2021-12-31", "place": "Tokyo",
                           "camera": None, "folder": None}
    assert catalog.understand("red Berlin 2021").to_json()["text"] == "red Berlin"
    assert catalog.understand("sushi JP").to_json()["place"] is None  # a code is a place only after place:
    assert catalog.related_words("red place:Paris") == catalog.related_words("red") != []
    # A query naming a tag brings the tagged photos in: only those that pass the filters.
    catalog.add_tag([catalog.photo_id(str(root / "paris_2021.jpg"))], "croissant")
    assert "paris_2021.jpg" in _names(catalog.search("croissant", k=50))
    assert _names(catalog.search("croissant place:Japan", k=50)) <= {"tokyo_2021_a.jpg", "tokyo_2021_b.jpg",
                                                                       "tokyo_2019.jpg"}
    assert catalog.related_words("place:Paris date:2019") == []  # nothing to relate: filters only
    assert _names(catalog.search("place:jp date:2019", k=50)) == {"tokyo_2019.jpg"}
    similar = catalog.similar(str(Path(travel[1]) / "paris_2021.jpg"), k=50, filters=Filters(place="Japan"))
    assert _names(similar) == {"tokyo_2021_a.jpg", "tokyo_2021_b.jpg", "tokyo_2019.jpg"}
    for mode in ({"focus": "red"}, {"detail": 1.0}):  # the re-ranking modes stay inside the filter too
        found = catalog.similar(str(Path(travel[1]) / "paris_2021.jpg"), k=50, filters=Filters(place="Japan"), **mode)
        assert found and _names(found) <= {"tokyo_2021_a.jpg", "tokyo_2021_b.jpg", "tokyo_2019.jpg"}, mode


def test_an_existing_library_gets_dates_and_places_without_embedding_again(travel, library):
    catalog, root = travel
    # As a library indexed before this version: metadata and places unread.
    catalog.store.execute("UPDATE photos SET taken_local = NULL, date_source = NULL, place_cc = NULL, "
                          "place_city = NULL, place_region = NULL, place_country = NULL, meta_version = NULL")
    vectors_before = catalog.store.query("SELECT count(*) FROM vectors")[0][0]
    summary = catalog.index_all()
    assert summary["embedded"] == 0 and summary["metadata_read"] == 10 and summary["places_named"] == 8
    assert catalog.store.query("SELECT count(*) FROM vectors")[0][0] == vectors_before
    assert _names(catalog.search("place:Tokyo date:2021", k=50)) == {"tokyo_2021_a.jpg", "tokyo_2021_b.jpg"}
    again = catalog.index_all()
    assert again["metadata_read"] == 0 and again["places_named"] == 0


def test_a_photo_that_cannot_be_read_keeps_its_recorded_date(travel):
    catalog, root = travel
    pid = catalog.photo_id(str(root / "sydney.jpg"))
    catalog.store.execute("UPDATE photos SET meta_version = NULL WHERE id = ?", [pid])
    (root / "sydney.jpg").write_bytes(b"not an image any more")
    assert refresh_metadata(catalog.store) == 0
    assert catalog.photo_when_where(pid).taken == "2020-01-02T03:04:05"
    assert read_file_metadata(str(root / "sydney.jpg")) is None


def test_a_migrated_library_keeps_its_photos(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for step in schema.MIGRATIONS[:2]:
        step(sqlite_utils.Database(conn))
    conn.execute("PRAGMA user_version=2")
    conn.execute("INSERT INTO folders(id, path, added_at) VALUES (1, x'2f70', 0)")
    conn.execute("INSERT INTO photos(folder_id, path, size, mtime_ns, added_at, status, camera) "
                 "VALUES (1, x'2f702f612e6a7067', 1, 1, 0, 'indexed', 'Canon')")
    conn.commit()
    conn.close()
    s = Store(path)
    assert s.schema_version == len(schema.MIGRATIONS)
    assert s.query("SELECT camera, meta_version, taken_local FROM photos") == [("Canon", None, None)]
    names = {r[1] for r in s.query("PRAGMA index_list(photos)")}
    assert {"photos_taken", "photos_place", "photos_camera"} <= names
    s.close()


# -- at scale ------------------------------------------------------------------------------

def _synthetic_library(store: Store, n: int, dim: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """n indexed photos through the store's own code, every 1000th in Tokyo in 2021."""
    with store.transaction():
        folder = store.add_folder("/synthetic")
        ids = np.array([store.add_photo(folder, f"/synthetic/{i}.jpg", 1, 1) for i in range(n)], np.int64)
        store.db.conn.executemany("UPDATE photos SET status = 'indexed' WHERE id = ?", [(int(i),) for i in ids])
        vecs = rng.standard_normal((n, dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        store.put_vectors("synthetic", "embedding", zip(ids.tolist(), vecs))
        tokyo = ids[::1000]
        record_metadata(store, [(int(i), PhotoMetadata(datetime(2021, 4, 3), 540, "exif-offset", "Google Pixel 7",
                                                        *TOKYO)) for i in tokyo])
        record_places(store, [(int(i), Place("Yoyogi", "Tokyo", "Japan", "JP")) for i in tokyo])
        store.bump_generation("synthetic")
    return ids, vecs


def test_filtered_search_finds_matches_inside_the_filter_at_100k_photos(tmp_path):
    rng = np.random.default_rng(7)
    store = Store(tmp_path / "big.db")
    start = time.monotonic()
    ids, vecs = _synthetic_library(store, 100_000, 16, rng)
    built = time.monotonic() - start
    index = VectorIndex(store, "synthetic", tmp_path, exact_max=200_000)
    start = time.monotonic()
    candidates = matching_ids(store, Filters(place="Tokyo", date_from=date(2021, 1, 1), date_to=date(2021, 12, 31)))
    assert np.array_equal(candidates, ids[::1000])
    query = vecs[5]  # a photo that is not in Tokyo: its nearest overall are all outside the filter
    assert not set(i for i, _ in index.search(query, 10)) & set(candidates.tolist())
    hits = index.search_within(query, 10, candidates)
    elapsed = time.monotonic() - start
    assert len(hits) == 10 and {i for i, _ in hits} <= set(candidates.tolist())
    exact = np.argsort(-(vecs[::1000] @ query))[:10]
    assert [i for i, _ in hits] == ids[::1000][exact].tolist()
    assert elapsed < 5, f"filter and search took {elapsed:.2f}s (library built in {built:.1f}s)"
    store.close()


def test_filtered_search_over_the_graph_matches_exact_scores(tmp_path):
    """With the HNSW graph: small candidate sets are scored exactly from the graph's vectors,
    large ones are searched with the filter applied while walking it."""
    rng = np.random.default_rng(3)
    store = Store(tmp_path / "g.db")
    ids, vecs = _synthetic_library(store, 3000, 16, rng)
    index = VectorIndex(store, "synthetic", tmp_path, exact_max=100, candidate_exact_max=1000)
    index.ensure_loaded()
    assert not index.exact
    query = vecs[1]
    small = ids[::1000]
    assert [i for i, _ in index.search_within(query, 2, small)] == \
        small[np.argsort(-(vecs[::1000] @ query))[:2]].tolist()
    large = ids[::2]
    hits = index.search_within(query, 10, large)  # 1,500 candidates: the filtered graph walk
    truth = large[np.argsort(-(vecs[::2] @ query))[:10]].tolist()
    assert {i for i, _ in hits} <= set(large.tolist())
    assert len(set(i for i, _ in hits) & set(truth)) >= 9
    store.close()


# -- command line ----------------------------------------------------------------------------

def test_cli_places_timeline_and_filtered_search(travel, library):
    catalog, root = travel
    places = cli_json("places", library=library)["countries"]
    assert {c["country"] for c in places} == {"France", "Japan", "Australia", "Brazil"}
    assert next(c for c in places if c["country"] == "France")["cities"][0] == {"city": "Paris",
                                                                               "region": "Île-de-France", "count": 3}
    timeline = cli_json("timeline", library=library)
    assert {"month": "2021-04", "count": 2} in timeline["months"] and timeline["undated"] == 1

    def names(*args):
        data = cli_json("search", *args, library=library)
        return {Path(r["path"]).name for r in data["results"]}, data

    found, data = names("Tokyo", "2021")
    assert found == {"tokyo_2021_a.jpg", "tokyo_2021_b.jpg"}
    assert data["understood"] == {"text": None, "from": "2021-01-01", "to": "2021-12-31", "place": "Tokyo",
                                  "camera": None, "folder": None}
    assert names("photo", "--from", "2019-07", "--to", "2019-07")[0] == {
        "paris_2019_a.jpg", "paris_2019_b.jpg", "IMG_20190714_153000.jpg"}
    assert names("photo", "--place", "Paris")[0] == {"paris_2019_a.jpg", "paris_2019_b.jpg", "paris_2021.jpg"}
    assert names("photo", "--camera", "pixel 7", "--folder", "Trips")[0] == {"tokyo_2021_a.jpg", "tokyo_2021_b.jpg"}
    found, data = names('camera:"Canon" place:Paris')
    assert found == {"paris_2019_a.jpg", "paris_2019_b.jpg"}
    hit = next(r for r in data["results"] if r["path"].endswith("paris_2019_a.jpg"))
    assert hit["taken"] == "2019-07-14T15:30:00+02:00" and hit["camera"] == "Canon EOS 80D"
    assert hit["place"]["country"] == "France" and hit["date_source"] == "exif-offset"
    similar = cli_json("similar", str(root / "paris_2021.jpg"), "--place", "Japan", "--from", "2021",
                       library=library)
    assert {Path(r["path"]).name for r in similar["results"]} == {"tokyo_2021_a.jpg", "tokyo_2021_b.jpg"}
    human = run_cli("places", library=library).stdout
    assert "France  3" in human and "Paris" in human
    bad = run_cli("search", "x", "--from", "July", library=library, check=False)
    assert bad.returncode == 1 and "not a date" in bad.stderr


def test_place_names_load_only_for_photos_with_gps(tmp_path, catalog):
    photo(tmp_path / "p" / "a.jpg", taken="2020:01:01 10:00:00")
    catalog.add_folder(tmp_path / "p")
    catalog.index_all()
    quiet = WhenWhere(catalog.store, PlaceNamer())
    assert quiet.refresh() == {"metadata_read": 0, "places_named": 0} and not quiet.namer.loaded
    photo(tmp_path / "p" / "b.jpg", taken="2020:01:02 10:00:00", gps=SYDNEY)
    catalog.index_all(tag_details=False)
    assert catalog.places()[0].country == "Australia"
