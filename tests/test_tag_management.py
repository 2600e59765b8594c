"""Tag management across the library: rename or merge, delete, never suggest, many photos at
once; the user's decisions survive retagging. Export: every photo as JSON Lines."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli, write_photo
from photolens.engine.tagger import Tagger

WORDS = ["red", "blue", "green", "yellow"]


@pytest.fixture
def tagged(catalog, tmp_path):
    """A library of three photos whose tagger (the tiny model, four words, every word above the
    threshold) tags every photo with every word."""
    photos = tmp_path / "photos"
    paths = [write_photo(photos / f"p{i}.png", color=(40 * i, 90, 200 - 40 * i)) for i in range(3)]
    catalog.add_folder(photos)
    catalog.index_all()
    tagger = Tagger(catalog.store, catalog.embedder, words=WORDS, threshold=-1e9)
    ids = [catalog.photo_id(str(p)) for p in paths]

    def retag():
        with catalog.store.transaction():
            got, outputs = tagger.stored_outputs(ids)
            tagger.apply(got, outputs)
    retag()
    return catalog, ids, paths, retag


def tags(cat, pid) -> dict[str, str]:
    return {t.tag: t.source for t in cat.tags_of(pid)}


def test_every_photo_starts_with_every_word(tagged):
    cat, ids, _, _ = tagged
    assert all(set(tags(cat, pid)) == set(WORDS) for pid in ids)


def test_never_suggest_removes_the_tag_and_it_does_not_come_back_after_a_retag(tagged):
    cat, ids, _, retag = tagged
    cat.add_tag(ids[0], "red")  # the user's own "red" stays
    change = cat.never_suggest("red")
    assert change.action == "never" and change.photos == 2
    retag()
    assert tags(cat, ids[0])["red"] == "user"
    assert all("red" not in tags(cat, pid) for pid in ids[1:])
    assert [r.rule for r in cat.tag_rules()] == ["never"]
    cat.allow_suggest("red")
    retag()
    assert all("red" in tags(cat, pid) for pid in ids)


def test_rename_moves_a_tag_and_the_tagger_suggests_it_under_the_new_name(tagged):
    cat, ids, _, retag = tagged
    change = cat.rename_tag("blue", "azure")
    assert (change.action, change.photos, change.target) == ("rename", 3, "azure")
    retag()
    assert all("azure" in tags(cat, pid) and "blue" not in tags(cat, pid) for pid in ids)


def test_renames_and_removals_reach_the_tags_kept_for_removed_photos(tagged, tmp_path):
    cat, ids, paths, _ = tagged
    cat.add_tag(ids[0], "Rex")
    cat.add_tag(ids[1], "Sky")
    cat.remove_folder(str(tmp_path / "photos"))  # the tags wait, kept by content
    cat.rename_tag("Rex", "Rex the dog")
    cat.delete_tag("Sky")
    cat.add_folder(tmp_path / "photos")
    cat.index_all()
    back = [cat.photo_id(str(p)) for p in paths]
    assert tags(cat, back[0])["Rex the dog"] == "user" and "Rex" not in tags(cat, back[0])
    assert tags(cat, back[1]).get("Sky") in (None, "rejected")  # removed everywhere means there too
    assert "Sky" not in {t.tag for t in cat.tag_counts()}


def test_merge_keeps_the_users_tag_over_the_taggers(tagged):
    cat, ids, _, retag = tagged
    cat.add_tag(ids[1], "Sky")
    change = cat.rename_tag("blue", "Sky")
    assert change.action == "merge"
    assert tags(cat, ids[1])["Sky"] == "user" and "blue" not in tags(cat, ids[1])
    assert tags(cat, ids[0])["Sky"] == "auto"
    retag()
    assert tags(cat, ids[1])["Sky"] == "user"
    assert {t.tag: t.count for t in cat.tag_counts()}["Sky"] == 3


def test_delete_takes_a_tag_off_every_photo_and_keeps_it_off_them(tagged):
    cat, ids, _, retag = tagged
    cat.add_tag(ids[2], "green")
    assert cat.delete_tag("green").photos == 3
    retag()
    assert all("green" not in tags(cat, pid) for pid in ids)
    assert "green" not in {t.tag for t in cat.tag_counts()}


def test_the_cli_manages_tags_on_many_photos_and_across_the_library(tagged, library):
    cat, ids, paths, _ = tagged
    cat.close()
    out = json.loads(run_cli("tags", "--add", "trip", *paths[:2], "--json", library=library).stdout)
    assert [("trip" in {t["tag"] for t in p["tags"]}) for p in out["photos"]] == [True, True]
    run_cli("tags", "--remove", "yellow", *paths, library=library)
    said = run_cli("tags", "--rename", "trip", "holiday", library=library).stdout
    assert "renamed 'trip' to 'holiday' on 2 photos" in said
    assert "'red' will not be suggested again" in run_cli("tags", "--never", "red", library=library).stdout
    counts = {t["tag"]: t["count"] for t in json.loads(run_cli("tags", "--all", "--json", library=library).stdout)["tags"]}
    assert counts.get("holiday") == 2 and "red" not in counts and "yellow" not in counts and "trip" not in counts
    rules = json.loads(run_cli("tags", "--rules", "--json", library=library).stdout)["rules"]
    assert {(r["tag"], r["rule"]) for r in rules} == {("red", "never"), ("trip", "rename")}


def test_export_writes_every_photo_as_json_lines_with_the_tags_a_user_sees(tagged, library):
    cat, ids, paths, _ = tagged
    cat.add_tag(ids[0], "Mine")
    cat.remove_tag(ids[0], "red")
    cat.close()
    lines = run_cli("export", "--json", library=library).stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert sorted(r["path"] for r in records) == sorted(str(p) for p in paths)
    first = next(r for r in records if r["path"] == str(paths[0]))
    assert {k for k in first} >= {"path", "size", "width", "height", "taken", "camera", "tags"}
    assert (first["width"], first["height"], first["taken"]) == (96, 64, None)
    got = {t["tag"]: (t["source"], t["score"]) for t in first["tags"]}
    assert got["Mine"] == ("user", None) and "red" not in got and got["blue"][0] == "auto"
    assert first["tags"][0]["tag"] == "Mine"  # the user's first, then the tagger's best first
    table = run_cli("export", library=library).stdout.splitlines()
    assert len(table) == 3 and all("96x64" in row for row in table)
