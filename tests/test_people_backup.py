"""People in the backup of the user's work: names, hidden people, faces moved and "not this
person" come back after `library repair` rebuilds a damaged library, by photo content."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import run_cli
from test_people import BLAIR, POWELL, _two_people

from photolens.engine import Catalog
from photolens.engine.health import repair
from photolens.engine.reading import file_hash


def _corrupt_middle(db: Path) -> None:
    """Every page but the first scrambled: the header survives, the rows do not."""
    data = bytearray(db.read_bytes())
    page = 4096
    for start in range(page, len(data), page):
        data[start + 8:start + 64] = os.urandom(56)
    db.write_bytes(bytes(data))


def _corrupt_all(db: Path) -> None:
    """Nothing of the file is readable as SQLite: only the backup can say what the user did."""
    db.write_bytes(os.urandom(db.stat().st_size))


def _face_of(catalog, photos: Path, name: str):
    return next(f for f in catalog.faces_in_photo(catalog.photo_id(str(photos / name))) if f.person_id)


def _user_words_on_people(catalog, photos: Path) -> tuple[int, int, int, int]:
    """Name Powell, hide Blair, move one Blair face to Powell and say one Powell face is not him."""
    powell, blair = _two_people(catalog, photos)
    catalog.name_person(powell, "Colin Powell")
    catalog.hide_person(blair)
    moved, refused = _face_of(catalog, photos, BLAIR[0]), _face_of(catalog, photos, POWELL[0])
    catalog.move_face(moved.id, powell)
    catalog.move_face(refused.id, None)
    return powell, blair, moved.id, refused.id


def test_the_backup_holds_names_hidden_people_and_face_corrections(catalog, tmp_path):
    powell, blair, _, _ = _user_words_on_people(catalog, tmp_path / "photos")
    data = json.loads(catalog.backup(force=True).read_text())
    people = {p[0]: (p[1], p[2]) for p in data["people"]["people"]}
    assert people == {powell: ("Colin Powell", 0), blair: (None, 1)}
    verdicts = {(n[3], n[4]) for n in data["people"]["notes"]}
    assert verdicts == {(powell, "is"), (powell, "is_not"), (blair, "is"), (blair, "is_not")}
    # By photo content, not by path or id: the hashes of the files themselves.
    hashes = {n[0] for n in data["people"]["notes"]}
    assert hashes == {file_hash(str(p)) for p in (tmp_path / "photos").iterdir()}


@pytest.mark.parametrize("damage", [_corrupt_middle, _corrupt_all], ids=["salvaged", "from-backup"])
def test_repair_brings_back_names_hidden_people_and_moves(library, tmp_path, damage):
    photos = tmp_path / "photos"
    cat = Catalog(library, device="cpu")
    powell, blair, moved, refused = _user_words_on_people(cat, photos)
    before = {(p.id, p.name, p.photos, p.hidden) for p in cat.people(include_hidden=True)}
    assert (powell, "Colin Powell", len(POWELL), False) in before  # one in, one out
    cat.backup(force=True)
    cat.close()
    damage(library / "library.db")
    done = repair(library)
    assert done["database"] == "rebuilt" and done["people_restored"] == 2
    if damage is _corrupt_all:
        assert done["facts_from"] == "backup"

    cat = Catalog(library, device="cpu")
    assert cat.people() == []  # nothing until the photos and their faces are found again
    cat.index_all()
    after = {(p.id, p.name, p.photos, p.hidden) for p in cat.people(include_hidden=True)}
    assert after == before
    assert [p.name for p in cat.people()] == ["Colin Powell"]  # Blair is still hidden
    assert _face_of(cat, photos, BLAIR[0]).person_id == powell
    assert all(f.person_id != powell for f in cat.faces_in_photo(cat.photo_id(str(photos / POWELL[0]))))
    assert sorted(Path(r.path).name for r in cat.search("Colin Powell")) == sorted(POWELL[1:] + BLAIR[:1])
    cat.close()


def test_cli_repair_says_how_many_people_came_back(library, tmp_path):
    cat = Catalog(library, device="cpu")
    _user_words_on_people(cat, tmp_path / "photos")
    cat.backup(force=True)
    cat.close()
    _corrupt_all(library / "library.db")
    run = run_cli("library", "repair", library=library)
    assert "2 people" in run.stdout, run.stdout
