"""People: faces found in real photos of people (faces-dev), grouped as photos arrive, named,
corrected, searched for, and deleted when the user turns face recognition off."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, cli_json, dataset, run_cli


POWELL = ["f0041.jpg", "f0065.jpg", "f0082.jpg", "f0156.jpg"]  # LFW crops of Colin Powell
BLAIR = ["f0212.jpg", "f0131.jpg", "f0231.jpg"]  # LFW crops of Tony Blair
OBAMA = ["f0012.jpg", "f0145.jpg"]  # whole photos
BIDEN = ["f0070.jpg", "f0101.jpg"]
OBAMA_AND_BIDEN = "f0094.jpg"


def faces_dev() -> Path:
    return dataset("faces-dev") / "images"


def copy(names: list[str], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(faces_dev() / n, folder / n)) for n in names]


def labels() -> dict[str, list[str]]:
    data = json.loads((faces_dev().parent / "labels.json").read_text())
    return {Path(e["file"]).name: e["people"] for e in data["images"]}


def test_the_photos_used_here_show_who_the_test_says():
    people = labels()
    assert all(people[n] == ["Colin Powell"] for n in POWELL)
    assert all(people[n] == ["Tony Blair"] for n in BLAIR)
    assert all(people[n] == ["Barack Obama"] for n in OBAMA) and all(people[n] == ["Joe Biden"] for n in BIDEN)
    assert sorted(people[OBAMA_AND_BIDEN]) == ["Barack Obama", "Joe Biden"]


def test_a_face_is_found_in_a_photo_rotated_by_exif(tmp_path):
    from photolens.engine.faces import FaceFinder
    from photolens.engine.people import SAME_PERSON_DISTANCE

    upright = faces_dev() / POWELL[0]
    img = Image.open(upright)
    # Stored lying on its side (pixels turned 90 degrees anticlockwise); orientation 6 tells
    # viewers to turn it clockwise to show it upright.
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = tmp_path / "rotated.jpg"
    img.rotate(90, expand=True).save(rotated, quality=95, exif=exif)
    raw = tmp_path / "raw.jpg"
    img.rotate(90, expand=True).save(raw, quality=95)

    finder = FaceFinder()
    want = finder.find(str(upright)).faces
    got = finder.find(str(rotated)).faces
    assert len(want) >= 1 and len(got) == len(want)
    main = max(got, key=lambda f: f.box[2] - f.box[0])
    ref = max(want, key=lambda f: f.box[2] - f.box[0])
    # Boxes are in the photo as it is seen (upright), as shares of it.
    assert np.allclose(main.box, ref.box, atol=0.03)
    assert all(0.0 <= v <= 1.0 for v in main.box) and main.box[0] < main.box[2] and main.box[1] < main.box[3]
    assert len(main.landmarks) == 5
    assert np.linalg.norm(main.embedding - ref.embedding) < SAME_PERSON_DISTANCE
    # The same pixels without the orientation tag: the upright-face detector finds nothing.
    assert finder.find(str(raw)).faces == []


def test_a_photo_without_a_face_has_none(tmp_path):
    from photolens.engine.faces import FaceFinder

    no_face = [n for n, p in labels().items() if not p][0]
    assert FaceFinder().find(str(faces_dev() / no_face)).faces == []


def test_faces_are_grouped_as_photos_arrive_and_a_single_face_stays_alone(catalog, tmp_path):
    photos = tmp_path / "photos"
    catalog.add_folder(copy(POWELL[:1], photos)[0].parent)
    assert catalog.index_all()["faces_found"] >= 1
    assert catalog.people() == []  # one face of someone: not a person yet
    assert catalog.face_counts()["faces"] >= 1

    copy(POWELL[1:2] + BLAIR[:1], photos)
    catalog.index_all()
    people = catalog.people()
    assert len(people) == 1 and people[0].photos == 2  # Powell twice; Blair alone stays unclustered
    powell = people[0].id

    copy(POWELL[2:] + BLAIR[1:], photos)
    progress = []
    result = catalog.index_all(progress=progress.append)
    assert result["faces_found"] >= 4
    assert any(p.stage == "finding faces" for p in progress)
    by_photos = {p.id: p.photos for p in catalog.people()}
    # The new Powell photos joined the person that was there: no new person, no re-clustering.
    assert by_photos[powell] == len(POWELL)
    assert len(by_photos) == 2 and sorted(by_photos.values()) == [len(BLAIR), len(POWELL)]
    # Nothing is left to do, and a second run finds nothing new.
    assert catalog.find_faces()["remaining"] == 0 and catalog.find_faces()["photos"] == 0


def _two_people(catalog, photos: Path) -> tuple[int, int]:
    catalog.add_folder(copy(POWELL + BLAIR, photos)[0].parent)
    catalog.index_all()
    people = {p.photos: p.id for p in catalog.people()}
    return people[len(POWELL)], people[len(BLAIR)]


def test_a_name_survives_reindexing_and_the_folder_leaving_and_coming_back(catalog, tmp_path):
    photos = tmp_path / "photos"
    powell, blair = _two_people(catalog, photos)
    assert catalog.name_person(powell, "  Colin   Powell ") == "Colin Powell"
    hits = catalog.search("Colin Powell")
    assert sorted(Path(r.path).name for r in hits) == sorted(POWELL)
    os.utime(photos / POWELL[0], ns=(1, 1))  # changed on disk (same bytes): indexed again
    catalog.index_all()
    assert catalog.people()[0].name == "Colin Powell" and catalog.people()[0].photos == len(POWELL)

    catalog.remove_folder(str(photos))
    assert catalog.people() == [] and catalog.face_counts()["faces"] == 0  # faces go with their photos
    catalog.add_folder(photos)
    catalog.index_all()
    named = [p for p in catalog.people() if p.name]
    assert [(p.name, p.photos) for p in named] == [("Colin Powell", len(POWELL))]
    assert sorted(Path(r.path).name for r in catalog.search("person:\"colin powell\"")) == sorted(POWELL)


def test_merge_not_this_person_and_hide(catalog, tmp_path):
    photos = tmp_path / "photos"
    powell, blair = _two_people(catalog, photos)
    catalog.name_person(blair, "Tony")
    catalog.merge_people(powell, blair)
    merged = catalog.people()
    assert [(p.id, p.name, p.photos) for p in merged] == [(powell, "Tony", len(POWELL) + len(BLAIR))]

    # One Powell face is not Tony: it leaves, and stays out when the photo comes back.
    face = next(f for f in catalog.faces_in_photo(catalog.photo_id(str(photos / POWELL[0]))) if f.person_id)
    assert face.name == "Tony"
    assert catalog.move_face(face.id, None) is None
    assert catalog.people()[0].photos == len(POWELL) + len(BLAIR) - 1
    catalog.remove_folder(str(photos))
    catalog.add_folder(photos)
    catalog.index_all()
    again = catalog.faces_in_photo(catalog.photo_id(str(photos / POWELL[0])))
    assert all(f.person_id != powell for f in again)
    assert catalog.people()[0].photos == len(POWELL) + len(BLAIR) - 1

    catalog.hide_person(powell)
    assert catalog.people() == [] and [p.id for p in catalog.people(include_hidden=True)] == [powell]
    catalog.hide_person(powell, False)
    assert [p.id for p in catalog.people()] == [powell]


def test_several_names_mean_all_of_them_in_the_photo(catalog, tmp_path):
    photos = tmp_path / "photos"
    catalog.add_folder(copy(OBAMA + BIDEN + [OBAMA_AND_BIDEN], photos)[0].parent)
    catalog.index_all()
    people = catalog.people()
    assert len(people) == 2
    for p in people:
        names = {Path(r.path).name for r in catalog.person_photos(p.id)}
        catalog.name_person(p.id, "Barack" if names & set(OBAMA) else "Joe Biden")
    assert {Path(r.path).name for r in catalog.search("barack")} == set(OBAMA + [OBAMA_AND_BIDEN])
    assert [Path(r.path).name for r in catalog.search("Barack Joe Biden")] == [OBAMA_AND_BIDEN]
    assert [Path(r.path).name for r in catalog.search("smiling", people=("Barack", "Joe Biden"))] == [OBAMA_AND_BIDEN]
    # Words beside a name rank that person's photos; the photos are only theirs.
    assert {Path(r.path).name for r in catalog.search("Joe Biden outdoors")} == set(BIDEN + [OBAMA_AND_BIDEN])


def test_turning_face_recognition_off_deletes_all_face_data(catalog, tmp_path):
    photos = tmp_path / "photos"
    powell, _ = _two_people(catalog, photos)
    catalog.name_person(powell, "Colin Powell")
    assert all(catalog.face_counts()[k] > 0 for k in ("faces", "people", "notes", "scanned"))
    catalog.set_face_recognition(False)
    assert catalog.face_counts() == {"faces": 0, "people": 0, "notes": 0, "scanned": 0}
    assert catalog.store.query("SELECT COUNT(*) FROM faces")[0][0] == 0
    assert catalog.index_all(faces=True)["faces_found"] == 0 and catalog.people() == []
    # The name is no longer a person filter: it is searched as words.
    assert len(catalog.search("Colin Powell", k=3)) == 3
    catalog.set_face_recognition(True)
    assert catalog.index_all()["faces_found"] >= len(POWELL) + len(BLAIR)


def test_cli_people_name_merge_and_search_by_person(library, tmp_path):
    photos = tmp_path / "photos"
    copy(POWELL + BLAIR, photos)
    run_cli("add", photos, "-q", library=library)
    people = cli_json("people", library=library)
    assert sorted(len(p["photos"]) for p in people) == [len(BLAIR), len(POWELL)]
    assert set(people[0]) == {"id", "name", "faces", "photos"}
    powell = next(p for p in people if len(p["photos"]) == len(POWELL))
    assert {Path(x).name for x in powell["photos"]} == set(POWELL)
    faces = cli_json("faces", photos / POWELL[0], library=library)
    assert [f["person"] for f in faces if f["person"] is not None] == [powell["id"]]
    assert all(0 <= v <= 1 for f in faces for v in f["box"])
    run_cli("people", "--name", powell["id"], "Colin Powell", library=library)
    exported = [json.loads(line) for line in run_cli("export", "--json", library=library).stdout.splitlines()]
    assert sorted(Path(r["path"]).name for r in exported if r["people"] == ["Colin Powell"]) == sorted(POWELL)
    found = cli_json("search", "--person", "Colin Powell", library=library)["results"]
    assert sorted(Path(r["path"]).name for r in found) == sorted(POWELL)
    found = cli_json("search", "person:Colin Powell", "smiling", library=library)["results"]  # as the shell passes it
    assert sorted(Path(r["path"]).name for r in found) == sorted(POWELL)
    blair = next(p for p in people if p["id"] != powell["id"])
    merged = cli_json("people", "--merge", powell["id"], blair["id"], library=library)
    assert [(p["name"], len(p["photos"])) for p in merged] == [("Colin Powell", len(POWELL) + len(BLAIR))]
    assert cli_json("settings", "--face-recognition", "off", library=library)["face_recognition"] is False
    assert cli_json("people", library=library) == []


def test_the_onnx_face_embedding_gives_dlibs_vectors(tmp_path):
    """models/build_faces.py converts dlib's ResNet; its --check compares the two on faces-dev
    and fails the build past 1e-3. The finder then uses it, with the same faces as dlib's."""
    from photolens.engine.faces import FaceFinder

    dataset("faces-dev")
    proc = subprocess.run([sys.executable, str(ROOT / "models" / "build_faces.py"), "--out", str(tmp_path), "--check"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["max_difference_from_dlib"] < 1e-4
    onnx_finder = FaceFinder(tmp_path / "embedding.onnx")
    dlib_finder = FaceFinder(use_onnx=False)
    assert (onnx_finder.runtime, dlib_finder.runtime) == ("onnxruntime", "dlib")
    photo = str(faces_dev() / OBAMA_AND_BIDEN)
    a, b = onnx_finder.find(photo).faces, dlib_finder.find(photo).faces
    assert len(a) == len(b) >= 2
    for x, y in zip(a, b):
        assert x.box == y.box and np.abs(x.embedding - y.embedding).max() < 1e-4


def test_the_saved_face_detector_finds_what_dlibs_own_finds(tmp_path, monkeypatch):
    """models/build_faces.py saves dlib's HOG detector in dlib's binary form, which loads in
    milliseconds (dlib's own is built from embedded text with the interpreter held for 0.5 s,
    a freeze of the app's window each time a face pass starts). It finds the same faces with
    the same scores; without the file, dlib's own is used."""
    from photolens.engine.faces import FaceFinder

    dataset("faces-dev")
    proc = subprocess.run([sys.executable, str(ROOT / "models" / "build_faces.py"), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    saved = tmp_path / manifest["detector"]
    assert saved.is_file()
    import dlib

    from_file = FaceFinder(detector=saved)
    with monkeypatch.context() as m:
        m.setattr(dlib, "get_frontal_face_detector", lambda: pytest.fail("built dlib's own detector"))
        from_file._load()
    built_in = FaceFinder(detector=tmp_path / "absent.svm")
    damaged = tmp_path / "damaged.svm"
    damaged.write_bytes(saved.read_bytes()[:1000])
    assert FaceFinder(detector=damaged).find(str(faces_dev() / BIDEN[0])).faces  # dlib's own stands in
    for name in [OBAMA_AND_BIDEN, *POWELL[:2], *BIDEN]:
        a, b = from_file.find(str(faces_dev() / name)).faces, built_in.find(str(faces_dev() / name)).faces
        assert [(f.box, f.score) for f in a] == [(f.box, f.score) for f in b] and a, name


def test_the_watcher_finds_faces_in_new_photos(catalog, tmp_path):
    from photolens.engine.watcher import Watcher

    photos = tmp_path / "photos"
    photos.mkdir()
    catalog.add_folder(photos)
    catalog.index_all()
    w = Watcher(catalog)
    w.start()
    try:
        copy(POWELL[:2], photos)
        deadline = time.monotonic() + 120
        while not catalog.people() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        w.stop()
    assert [p.photos for p in catalog.people()] == [2]


def test_the_app_s_index_run_leaves_the_face_pass_to_its_chunks(catalog, tmp_path):
    catalog.add_folder(copy(POWELL[:2], tmp_path / "photos")[0].parent)
    assert catalog.index_all(tag_details=False)["faces_found"] == 0  # the app's run: searchable first
    assert catalog.find_faces(limit=1) == {"photos": 1, "faces": 1, "failed": 0, "remaining": 1}
    assert catalog.find_faces(limit=1)["remaining"] == 0 and len(catalog.people()) == 1
