"""Smart albums take the same filters as search (issue 21): dates, places, camera, folder and
people, as flags and written in the query, with the relevance cut-off; new photos join only
when they pass; a model switch recomputes them. Real photos with EXIF, real SQLite, real ONNX."""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
import sqlite_utils

from conftest import cli_json, run_cli, use_model
from test_when_where import PARIS, TOKYO, photo
from tiny_models import make_tiny_model, make_visual

QUERY = "sunset"  # no file name, folder, tag or text in these photos holds it: meaning alone ranks


@pytest.fixture
def models(models_dir, tmp_path, monkeypatch) -> Path:
    """Two tiny models whose image embeddings differ: "tiny" (no cut-off) and "tinyb"."""
    folder = tmp_path / "models"
    shutil.copytree(models_dir / "tiny", folder / "tiny")
    make_tiny_model(folder / "tinyb", name="tinyb")
    make_visual(folder / "tinyb" / "visual.onnx", with_features=True, seed=7)
    monkeypatch.setenv("PHOTOLENS_MODELS", str(folder))
    return folder


SHOTS = {
    "paris_2019_a.jpg": dict(taken="2019:07:14 15:30:00", make="Canon", model="Canon EOS 80D", gps=PARIS),
    "paris_2019_b.jpg": dict(taken="2019:07:15 09:00:00", make="Google", model="Pixel 7", gps=PARIS),
    "paris_2019_c.jpg": dict(taken="2019:08:01 19:00:00", make="Canon", model="Canon EOS 80D", gps=PARIS),
    "paris_2019_d.jpg": dict(taken="2019:09:20 19:00:00", make="Google", model="Pixel 7", gps=PARIS),
    "paris_2021.jpg": dict(taken="2021:05:01 12:00:00", make="Google", model="Pixel 7", gps=PARIS),
    "Trips/tokyo_2021_a.jpg": dict(taken="2021:04:03 10:00:00", make="Google", model="Pixel 7", gps=TOKYO),
    "Trips/tokyo_2021_b.jpg": dict(taken="2021:04:04 20:00:00", make="Google", model="Pixel 7", gps=TOKYO),
    "Trips/tokyo_2019.jpg": dict(taken="2019:11:20 08:00:00", make="Sony", model="ILCE-7M3", gps=TOKYO),
    "Trips/paris_2019_e.jpg": dict(taken="2019:07:16 08:00:00", make="Google", model="Pixel 7", gps=PARIS),
    "home.jpg": dict(taken="2020:01:02 03:04:05", make="Canon", model="Canon EOS 80D"),
}


def shoot(root: Path, shots: dict, first_colour: int = 0) -> dict[str, Path]:
    out = {}
    for i, (name, exif) in enumerate(shots.items(), first_colour):
        out[name] = photo(root / name, color=((37 * i) % 230 + 10, (91 * i + 40) % 230 + 10, (53 * i + 90) % 230 + 10),
                          **exif)
    return out


def open_catalog(library: Path, model: str):
    from photolens.engine import Catalog

    use_model(library, model)
    cat = Catalog(library, device="cpu")
    cat.set_face_recognition(False)  # no faces in these photos: the pass would only cost time
    return cat


def set_cut(models: Path, name: str, cut: float | None) -> None:
    """Give a model a relevance cut-off (its manifest's match_threshold), or take it away."""
    path = models / name / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.pop("match_threshold", None)
    if cut is not None:
        manifest["match_threshold"] = cut
    path.write_text(json.dumps(manifest))


def median_cut(cat, query: str = QUERY) -> float:
    """A cut-off between the library's scores for the query under the active model, so that
    about half the photos are good matches."""
    scores = sorted(r.score for r in cat.searcher.search(query, 1000))
    return float(np.mean(scores[len(scores) // 2 - 1:len(scores) // 2 + 1]))


def members(cat, name: str) -> set[int]:
    return {p.id for p in cat.albums.get(name).photos}


def good(cat, query, filters=None) -> set[int]:
    return {r.id for r in cat.search(query, k=1000, filters=filters) if r.good}


@pytest.fixture
def trips(tmp_path, models):
    """A library of photos with dates, places and cameras, on "tinyb" with a cut-off that
    leaves about half of them good matches of QUERY."""
    root = tmp_path / "photos"
    files = shoot(root, SHOTS)
    cat = open_catalog(tmp_path / "lib", "tinyb")
    cat.add_folder(root)
    cat.index_all(faces=False)
    set_cut(models, "tinyb", median_cut(cat))
    cat.use_model("tinyb")  # loads the manifest again
    assert cat.match_threshold > -1
    yield cat, root, files
    cat.close()


def test_smart_albums_hold_what_search_finds_with_the_same_filters(trips):
    from photolens.engine.filters import Filters

    cat, root, files = trips
    ids = {name: cat.photo_id(str(p)) for name, p in files.items()}
    paris_2019 = {ids[n] for n in ids if "paris_2019" in n}
    flags = Filters.from_flags("2019-01-01", "2019-12-31", "Paris")
    rules = {  # album: (query, flags); what search finds for the same is what the album holds
        "flags": (QUERY, flags),
        "tokens": (f"{QUERY} place:Paris after:2019-01-01 before:2019-12-31", None),
        "plain words": (f"{QUERY} Paris 2019", None),
        "camera flag": (QUERY, Filters(camera="Pixel 7")),
        "camera and folder": (f'{QUERY} camera:"Pixel 7" folder:Trips', None),
        "meaning only": (QUERY, None),
    }
    for name, (query, filters) in rules.items():
        album = cat.albums.create(name, query=query, filters=filters)
        assert album.smart
        assert members(cat, name) == good(cat, query, filters), name
    # Written as flags, as tokens or as plain words: the same filters, the same photos.
    assert members(cat, "flags") == members(cat, "tokens") == members(cat, "plain words")
    assert members(cat, "flags") <= paris_2019
    # The relevance cut-off bites: photos that pass the filters but match poorly stay out.
    assert members(cat, "meaning only") and len(members(cat, "meaning only")) < len(ids)
    scores = {r.id: r.score for r in cat.searcher.search(QUERY, 1000)}
    assert all(scores[i] >= cat.match_threshold for i in members(cat, "flags"))
    assert all(scores[i] < cat.match_threshold for i in paris_2019 - members(cat, "flags"))
    assert members(cat, "camera and folder") <= {ids["Trips/tokyo_2021_a.jpg"], ids["Trips/tokyo_2021_b.jpg"],
                                                 ids["Trips/paris_2019_e.jpg"]}

    # Filters only: every photo that passes them, no cut-off.
    cat.albums.create("Paris", query="place:Paris")
    cat.albums.create("Paris flag", filters=Filters(place="Paris"))
    everywhere_paris = {i for n, i in ids.items() if "paris" in n}
    assert members(cat, "Paris") == members(cat, "Paris flag") == everywhere_paris == good(cat, "place:Paris")
    got = cat.albums.get("Paris flag").to_json()
    assert got["query"] is None and got["filters"]["place"] == "Paris" and got["understood"]["text"] is None
    words = cat.albums.get("plain words").to_json()
    assert words["filters"] is None
    assert words["understood"] == {"text": QUERY, "from": "2019-01-01", "to": "2019-12-31", "place": "Paris",
                                   "camera": None, "folder": None, "people": []}
    listed = {a.name: a for a in cat.albums.list()}
    assert listed["flags"].filters == {"from": "2019-01-01", "to": "2019-12-31", "place": "Paris", "camera": None,
                                       "folder": None, "people": []}
    assert listed["flags"].describe() == f"{QUERY}; from 2019-01-01; to 2019-12-31; place Paris"

    # Made plain again: what the rule took in goes, the photos stay in the library.
    cat.albums.set_query("flags", None)
    assert members(cat, "flags") == set() and not cat.albums.get("flags").filters


def test_new_photos_join_only_when_they_pass_the_filters(trips):
    from photolens.engine.filters import Filters

    cat, root, _ = trips
    cat.albums.create("Paris 2019", filters=Filters.from_flags("2019", "2019", "Paris"))
    cat.albums.create("Sunsets in Tokyo", query=f"{QUERY} place:Tokyo")
    before = {n: members(cat, n) for n in ("Paris 2019", "Sunsets in Tokyo")}
    later = shoot(root / "later", {
        "paris_2019_new.jpg": dict(taken="2019:10:01 10:00:00", gps=PARIS),
        "paris_2022_new.jpg": dict(taken="2022:10:01 10:00:00", gps=PARIS),
        "tokyo_new_a.jpg": dict(taken="2019:10:01 10:00:00", gps=TOKYO),
        "tokyo_new_b.jpg": dict(taken="2020:10:01 10:00:00", gps=TOKYO),
        "tokyo_new_c.jpg": dict(taken="2021:10:01 10:00:00", gps=TOKYO),
        "nowhere.jpg": dict(taken="2019:10:01 10:00:00"),
    }, first_colour=20)
    result = cat.index_all(faces=False)
    new = {n: cat.photo_id(str(p)) for n, p in later.items()}
    assert result["smart_albums"]["Paris 2019"] == [new["paris_2019_new.jpg"]]
    assert members(cat, "Paris 2019") == before["Paris 2019"] | {new["paris_2019_new.jpg"]}
    # A Tokyo photo joins when it is also a good match; no other new photo does.
    tokyo = {new[n] for n in new if n.startswith("tokyo")} & good(cat, f"{QUERY} place:Tokyo")
    assert set(result["smart_albums"].get("Sunsets in Tokyo", [])) == tokyo
    assert members(cat, "Sunsets in Tokyo") == before["Sunsets in Tokyo"] | tokyo == good(cat, f"{QUERY} place:Tokyo")


def test_the_watcher_brings_in_only_photos_that_pass_the_filters(tmp_path, models):
    from photolens.engine.watcher import Watcher

    root = tmp_path / "photos"
    root.mkdir()
    cat = open_catalog(tmp_path / "lib", "tiny")
    try:
        cat.add_folder(root)
        cat.index_all(faces=False)
        cat.albums.create("Paris", query="anything place:Paris")  # tiny: no cut-off, so the place decides
        summaries = []
        watcher = Watcher(cat, on_change=summaries.append)
        watcher.start()
        try:
            shots = shoot(root, {"a_paris.jpg": dict(taken="2019:07:14 15:30:00", gps=PARIS),
                                 "b_tokyo.jpg": dict(taken="2019:07:14 15:30:00", gps=TOKYO)})
            deadline = time.monotonic() + 30
            while not any(s.get("smart_albums") for s in summaries) and time.monotonic() < deadline:
                time.sleep(0.05)
            deadline = time.monotonic() + 10
            while len({cat.photo_id(str(p)) for p in shots.values() if cat.store.photo_by_path(str(p))}) < 2 \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            watcher.stop()
        paris = cat.photo_id(str(shots["a_paris.jpg"]))
        assert [s["smart_albums"] for s in summaries if s.get("smart_albums")] == [{"Paris": [paris]}]
        assert members(cat, "Paris") == {paris}
    finally:
        cat.close()


def test_switching_models_recomputes_smart_albums_and_keeps_pins_and_exclusions(tmp_path, models):
    root = tmp_path / "photos"
    files = shoot(root, SHOTS)
    cat = open_catalog(tmp_path / "lib", "tiny")
    try:
        cat.add_folder(root)
        cat.index_all(faces=False)
        ids = {n: cat.photo_id(str(p)) for n, p in files.items()}
        cat.albums.create("Sunsets", query=QUERY)
        pinned, excluded = ids["home.jpg"], ids["paris_2021.jpg"]
        cat.albums.pin("Sunsets", [pinned])
        cat.albums.exclude("Sunsets", [excluded])
        everything = set(ids.values())
        assert members(cat, "Sunsets") == everything - {excluded}  # tiny: no cut-off

        # tinyb has no vectors yet: the album keeps what it had until its photos are embedded.
        cat.use_model("tinyb")
        assert members(cat, "Sunsets") == everything - {excluded}
        cat.index_all(faces=False)
        assert members(cat, "Sunsets") == everything - {excluded}  # tinyb names no cut-off either

        # A cut-off for tinyb, read at the switch: its good matches, the pin, never the exclusion.
        set_cut(models, "tinyb", median_cut(cat))
        cat.use_model("tinyb")
        matched = good(cat, QUERY)
        assert 0 < len(matched) < len(everything)
        assert members(cat, "Sunsets") == (matched | {pinned}) - {excluded}
        states = {p.id: p.state for p in cat.albums.get("Sunsets").photos}
        assert states[pinned] == "pinned" and excluded in {p.id for p in cat.albums.get("Sunsets").excluded}
        scores = {r.id: r.score for r in cat.searcher.search(QUERY, 1000)}
        assert all(abs(p.score - scores[p.id]) < 1e-3 for p in cat.albums.get("Sunsets").photos
                   if p.state == "matched")  # the scores are the new model's

        # Back to tiny (its vectors are kept): recomputed at once, with its embeddings.
        cat.use_model("tiny")
        assert members(cat, "Sunsets") == everything - {excluded}
        assert {p.id: p.state for p in cat.albums.get("Sunsets").photos}[pinned] == "pinned"
    finally:
        cat.close()


def test_a_library_from_before_album_filters_keeps_its_albums(tmp_path):
    from photolens.engine import schema
    from photolens.engine.store import Store

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    steps = schema.MIGRATIONS[:-1]
    for step in steps:
        step(sqlite_utils.Database(conn))
    conn.execute(f"PRAGMA user_version={len(steps)}")
    conn.execute("INSERT INTO albums(name, query, created) VALUES ('Dogs', 'a dog', 0), ('Trip', NULL, 0)")
    conn.commit()
    conn.close()
    s = Store(path)
    assert s.schema_version == len(schema.MIGRATIONS)
    assert s.query("SELECT name, query, filters FROM albums ORDER BY name") == [("Dogs", "a dog", None),
                                                                                 ("Trip", None, None)]
    s.close()


def test_cli_smart_album_with_filter_flags(tmp_path, models):
    root = tmp_path / "photos"
    files = shoot(root, SHOTS)
    library = tmp_path / "lib"
    use_model(library, "tiny")
    run_cli("add", root, library=library)
    run_cli("index", "-q", library=library)
    # Every filter as a flag; "Anna" is nobody in this library, so no photo has her.
    got = cli_json("album", "Anna in Paris", "--query", "beach", "--from", "2019-01-01", "--to", "2019-12-31",
                   "--place", "Paris", "--camera", "Pixel", "--folder", "Trips", "--person", "Anna", library=library)
    assert got["query"] == "beach" and got["photos"] == []
    assert got["filters"] == {"from": "2019-01-01", "to": "2019-12-31", "place": "Paris", "camera": "Pixel",
                              "folder": "Trips", "people": ["Anna"]}
    # The same without the person: the one Pixel photo from Paris 2019 in Trips (tiny: no cut-off).
    got = cli_json("album", "Paris trips", "--query", "beach", "--from", "2019-01-01", "--to", "2019-12-31",
                   "--place", "Paris", "--camera", "Pixel", "--folder", "Trips", library=library)
    assert [p["path"] for p in got["photos"]] == [str(files["Trips/paris_2019_e.jpg"])]
    # Written in the query: the same photos, the filters understood from the text.
    got = cli_json("album", "Written", "--query", 'beach Paris 2019 camera:Pixel folder:Trips', library=library)
    assert [p["path"] for p in got["photos"]] == [str(files["Trips/paris_2019_e.jpg"])]
    assert got["filters"] is None and got["understood"]["place"] == "Paris" and got["understood"]["text"] == "beach"
    listed = {a["name"]: a for a in cli_json("album", "--list", library=library)["albums"]}
    assert listed["Paris trips"]["filters"]["camera"] == "Pixel" and listed["Paris trips"]["count"] == 1
    assert "filters" not in listed["Written"]
    human = run_cli("album", "--list", library=library).stdout
    assert "(smart: beach; from 2019-01-01; to 2019-12-31; place Paris; camera Pixel; folder Trips)" in human
    # A rule search would refuse makes no album.
    bad = run_cli("album", "Bad", "--query", "- beach", library=library, check=False)
    assert bad.returncode == 1 and "leave out" in bad.stderr
    assert "Bad" not in {a["name"] for a in cli_json("album", "--list", library=library)["albums"]}


def test_a_smart_album_of_a_person_takes_in_their_photos_once_their_faces_are_found(catalog, tmp_path):
    from test_people import BLAIR, POWELL, copy

    photos = tmp_path / "photos"
    catalog.add_folder(copy(POWELL[:3] + BLAIR, photos)[0].parent)
    catalog.index_all()
    powell = next(p.id for p in catalog.people() if p.photos == 3)
    catalog.name_person(powell, "Colin Powell")
    catalog.albums.create("Colin", people=("Colin Powell",))
    catalog.albums.create("Colin later", query='person:"Colin Powell" folder:later')
    catalog.albums.create("Named in words", query="Colin Powell")

    def names(album: str) -> list[str]:
        return sorted(Path(p.path).name for p in catalog.albums.get(album).photos)

    assert names("Colin") == names("Named in words") == sorted(POWELL[:3]) and names("Colin later") == []
    assert set(members(catalog, "Colin")) == good(catalog, 'person:"Colin Powell"')
    assert catalog.albums.get("Colin").to_json()["understood"]["people"] == ["Colin Powell"]

    # Indexed without the face pass (the app's run leaves it to chunks): not known to be him yet.
    later = copy(POWELL[3:], photos / "later")
    assert catalog.index_all(faces=False)["smart_albums"] == {}
    assert names("Colin") == sorted(POWELL[:3])
    # The face pass finds him: the albums that name him take the photo in, filters and all.
    catalog.find_faces()
    assert names("Colin") == names("Named in words") == sorted(POWELL)
    assert [p.path for p in catalog.albums.get("Colin later").photos] == [str(later[0])]
