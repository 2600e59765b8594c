"""Duplicates, albums, smart albums and the trash (issue 21)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, cli_json, dataset, needs_builtin, run_cli, use_model, write_photo

COPY_KINDS = ("exact", "half", "crop", "rotated")


def plant(src: Path, folder: Path, n: int) -> dict[str, Path]:
    """An original and its copies: the same bytes, half size at JPEG quality 70, a 92% centre
    crop, and pixels turned a quarter with an EXIF tag turning them back."""
    img = Image.open(src).convert("RGB")
    w, h = img.size
    out = {"original": folder / f"p{n}.jpg"}
    shutil.copy(src, out["original"])
    for kind in COPY_KINDS:
        (folder / kind).mkdir(exist_ok=True)
        out[kind] = folder / kind / f"p{n}.jpg"
    shutil.copy(src, out["exact"])
    img.resize((w // 2, h // 2), Image.LANCZOS).save(out["half"], quality=70)
    cw, ch = round(w * 0.92), round(h * 0.92)
    img.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)).save(out["crop"], quality=90)
    exif = Image.Exif()
    exif[0x0112] = 6
    img.transpose(Image.ROTATE_90).save(out["rotated"], quality=92, exif=exif)
    return out


def pattern_photo(path: Path, seed: int, size=(96, 64)) -> Path:
    """A photo of random coloured blocks: photos of different seeds share no structure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = np.random.default_rng(seed).integers(0, 256, (6, 8, 3), dtype=np.uint8)
    Image.fromarray(blocks).resize(size, Image.NEAREST).save(path)
    return path


def builtin_catalog(library: Path):
    from photolens.engine import Catalog

    needs_builtin()
    use_model(library, "builtin")
    cat = Catalog(library, device="cpu")
    cat.set_thorough_tags(False)  # the detail pass adds nothing here and triples the time
    return cat


def real_photos(n_flickr: int, n_coco: int) -> list[Path]:
    out = []
    for name, n in (("flickr8k-dev", n_flickr), ("coco128", n_coco)):
        folder = dataset(name)
        out += [folder / e["file"] for e in json.loads((folder / "labels.json").read_text())["images"][:n]]
    return out


# -- duplicates ------------------------------------------------------------------------------

@pytest.mark.e2e
@pytest.mark.slow
def test_planted_copies_group_with_their_original_and_never_with_another_photo(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    families = [plant(src, photos, n) for n, src in enumerate(real_photos(6, 4))]
    cat = builtin_catalog(tmp_path / "lib")
    cat.add_folder(photos)
    cat.index_all(tag_details=False)
    groups = cat.duplicates()
    cat.close()

    family_of = {str(p): n for n, f in enumerate(families) for p in f.values()}
    assert all(g.kind in ("exact", "near") for g in groups)
    for g in groups:
        assert len({family_of[p.path] for p in g.photos}) == 1, f"two different photos grouped: {g.to_json()}"
    by_family = {family_of[g.keep.path]: g for g in groups}
    for n, family in enumerate(families):
        group = by_family.get(n)
        assert group is not None, f"no group for {family['original']}"
        assert {p.path for p in group.photos} == {str(p) for p in family.values()}
        # The best copy: the original's pixels, sharpness and date (or its exact copy's).
        assert group.keep.path in (str(family["original"]), str(family["exact"]))
        assert group.keep.width * group.keep.height == max(p.width * p.height for p in group.photos)


def test_exact_copies_group_by_hash_and_keep_the_biggest_first(catalog, tmp_path):
    photos = tmp_path / "photos"
    a = pattern_photo(photos / "a.png", 1)
    shutil.copy(a, photos / "a copy.png")
    pattern_photo(photos / "big.png", 2, size=(192, 128))
    pattern_photo(photos / "other.png", 3)
    os.utime(a, ns=(10**18, 10**18))  # 2001: the earlier file
    catalog.add_folder(photos)
    catalog.index_all()
    exact = [g for g in catalog.duplicates() if g.kind == "exact"]
    assert [sorted(Path(p.path).name for p in g.photos) for g in exact] == [["a copy.png", "a.png"]]
    assert Path(exact[0].keep.path).name == "a.png"  # same pixels and sharpness: the earlier one
    assert exact[0].to_json()["keep"] == str(photos / "a.png")


def test_graph_neighbours_find_the_pairs_exact_scoring_finds(tmp_path):
    from photolens.engine.duplicates import exact_pairs, graph_pairs, link_groups, neighbour_pairs
    from photolens.engine.index import VectorIndex
    from photolens.engine.store import Store

    rng = np.random.default_rng(0)
    base = rng.standard_normal((3000, 64)).astype(np.float32)
    copies = base[:300] + 0.15 * rng.standard_normal((300, 64)).astype(np.float32)
    vecs = np.concatenate([base, copies])
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    exact, exact_scores = exact_pairs(vecs, 0.8)
    graph, _ = graph_pairs(vecs, 0.8)
    assert len(exact) >= 300 and (exact_scores >= 0.8).all()
    assert {tuple(p) for p in graph.tolist()} == {tuple(p) for p in exact.tolist()}
    # A large library's pairs come from its own saved graph, over photo ids.
    ids = np.arange(10, 10 + len(vecs), dtype=np.int64)
    index = VectorIndex(Store(tmp_path / "x.db"), "m", tmp_path, exact_max=100)
    index.build_from(ids, vecs)
    assert not index.exact
    library, _ = neighbour_pairs(vecs, 0.8, library=(ids, index), exact_max=100)
    assert {tuple(p) for p in library.tolist()} == {tuple(p) for p in exact.tolist()}
    groups = link_groups(len(vecs), exact)
    assert sorted(sorted(g.tolist()) for g in groups)[:3] == [[0, 3000], [1, 3001], [2, 3002]]


# -- albums ----------------------------------------------------------------------------------

def test_albums_survive_a_move_folder_removal_and_re_adding(catalog, tmp_path):
    photos = tmp_path / "photos"
    for i in range(4):
        pattern_photo(photos / f"p{i}.png", i)
    catalog.add_folder(photos)
    catalog.index_all()
    ids = [catalog.photo_id(str(photos / f"p{i}.png")) for i in range(4)]
    albums = catalog.albums
    assert albums.add("Trip", ids[:2]) == 2
    assert albums.add("Trip", ids[:3]) == 1
    assert albums.remove("Trip", [ids[2]]) == 1
    (photos / "sub").mkdir()
    os.rename(photos / "p1.png", photos / "sub" / "renamed.png")
    catalog.index_all()
    assert sorted(Path(p.path).name for p in albums.get("Trip").photos) == ["p0.png", "renamed.png"]

    catalog.remove_folder(str(photos))
    assert albums.get("Trip").photos == ()
    assert [(a.name, a.count) for a in albums.list()] == [("Trip", 0)]
    catalog.add_folder(photos)
    catalog.index_all()
    got = albums.get("Trip")
    assert sorted(Path(p.path).name for p in got.photos) == ["p0.png", "renamed.png"]
    assert all(p.state == "member" for p in got.photos)
    assert albums.albums_of(catalog.photo_id(str(photos / "p0.png"))) == ["Trip"]


def test_album_names_are_checked(catalog):
    from photolens.engine.albums import AlbumError

    catalog.albums.create("Pets")
    with pytest.raises(AlbumError):
        catalog.albums.create(" Pets ")
    with pytest.raises(AlbumError):
        catalog.albums.get("Nope")
    with pytest.raises(AlbumError):
        catalog.albums.add("Nope", [1], create=False)
    assert catalog.albums.rename("Pets", "Animals").name == "Animals"
    catalog.albums.delete("Animals")
    assert catalog.albums.list() == []


@pytest.mark.e2e
@pytest.mark.slow
def test_smart_album_takes_in_matching_photos_indexed_later(tmp_path):
    folder = dataset("flickr8k-dev")
    entries = json.loads((folder / "labels.json").read_text())["images"]
    animals = ("dog", "puppy", "cat", "animal")
    dogs = [e for e in entries if all("dog" in c for c in e["captions"])][:3]
    others = [e for e in entries if not any(w in c for c in e["captions"] for w in animals)][:7]
    photos = tmp_path / "photos"
    photos.mkdir()
    for e in others[:6]:
        shutil.copy(folder / e["file"], photos / Path(e["file"]).name)
    cat = builtin_catalog(tmp_path / "lib")
    cat.add_folder(photos)
    cat.index_all(tag_details=False)
    album = cat.albums.create("Dogs", query="a dog")
    assert album.smart and album.count == 0  # no dog among the first photos

    later = [folder / e["file"] for e in [*dogs, others[6]]]
    for p in later:
        shutil.copy(p, photos / p.name)
    result = cat.index_all(tag_details=False)
    dog_ids = {cat.photo_id(str(photos / (folder / e["file"]).name)) for e in dogs}
    taken = set(result["smart_albums"].get("Dogs", []))
    assert taken <= dog_ids and len(taken) >= 2, (taken, dog_ids)
    shown = {p.id for p in cat.albums.get("Dogs").photos}
    assert shown == taken

    # Exclusions hold against the query; a pin holds without it.
    out, = sorted(taken)[:1]
    pinned = cat.photo_id(str(photos / Path(others[0]["file"]).name))
    cat.albums.remove("Dogs", [out])
    cat.albums.pin("Dogs", [pinned])
    cat.albums.set_query("Dogs", "a dog running")
    got = cat.albums.get("Dogs")
    assert out not in {p.id for p in got.photos} and out in {p.id for p in got.excluded}
    assert pinned in {p.id for p in got.photos if p.state == "pinned"}
    cat.close()


def test_the_watcher_brings_new_photos_into_smart_albums_and_says_so(tmp_path, catalog):
    from photolens.engine.watcher import Watcher

    photos = tmp_path / "photos"
    photos.mkdir()
    catalog.add_folder(photos)
    catalog.index_all()
    # The tiny model names no relevance cut-off: every new photo is a good match.
    catalog.albums.create("Everything", query="anything")
    summaries = []
    watcher = Watcher(catalog, on_change=summaries.append)
    watcher.start()
    try:
        shot = pattern_photo(photos / "new.png", 30)
        deadline = time.monotonic() + 30
        while not any(s.get("smart_albums") for s in summaries) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        watcher.stop()
    pid = catalog.photo_id(str(shot))
    assert [s["smart_albums"] for s in summaries if s.get("smart_albums")] == [{"Everything": [pid]}]
    assert [p.id for p in catalog.albums.get("Everything").photos] == [pid]


# -- trash -----------------------------------------------------------------------------------

def test_trash_moves_copies_to_the_desktop_trash_and_deletes_nothing(tmp_path, library):
    photos = tmp_path / "photos"
    keep = pattern_photo(photos / "keep.png", 4)
    shutil.copy(keep, photos / "copy.png")
    pattern_photo(photos / "other.png", 5)
    data = (photos / "copy.png").read_bytes()
    home = tmp_path / "home"
    home.mkdir()
    script = textwrap.dedent(f"""
        import json
        from photolens.engine import Catalog
        cat = Catalog({str(library)!r}, device="cpu")
        cat.add_folder({str(photos)!r})
        cat.index_all()
        cat.albums.add("Keepers", [cat.photo_id({str(photos / "copy.png")!r})])
        group = cat.tidy.group_of({str(keep)!r})
        others = [p.path for p in group.others]
        done = cat.trash(others, keep=group.keep.path)
        print(json.dumps({{"others": others, "moved": list(done.moved), "failed": list(done.failed),
                          "album": [p.path for p in cat.albums.get("Keepers").photos],
                          "photos": cat.status().photos, "groups": len(cat.duplicates())}}))
        cat.close()
    """)
    # send2trash reads XDG_DATA_HOME when imported, and trashes to it for files on the home
    # folder's device: a fresh process with both in tmp_path keeps the real trash untouched.
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "PYTHONPATH": str(ROOT / "app")}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["others"] == [str(photos / "copy.png")] and out["moved"] == out["others"] and out["failed"] == []
    assert not (photos / "copy.png").exists() and keep.exists() and (photos / "other.png").exists()
    trashed = home / "data" / "Trash" / "files" / "copy.png"
    assert trashed.read_bytes() == data  # moved, whole, not deleted
    info = (home / "data" / "Trash" / "info" / "copy.png.trashinfo").read_text()
    assert f"Path={photos / 'copy.png'}" in info
    assert out["photos"] == 2 and out["groups"] == 0
    assert out["album"] == [str(keep)]  # exact copies share their content: the album keeps it


def test_trash_leaves_changed_and_unknown_files_alone(catalog, tmp_path):
    from photolens.engine.trash import move_to_trash

    photos = tmp_path / "photos"
    a = pattern_photo(photos / "a.png", 6)
    catalog.add_folder(photos)
    catalog.index_all()
    stranger = write_photo(tmp_path / "elsewhere.png")
    pattern_photo(a, 7, size=(90, 60))  # edited after indexing
    sent = []
    done = move_to_trash(catalog.store, [str(a), str(stranger)], send=sent.append)
    assert sent == [] and done.moved == ()
    assert [Path(p).name for p, _ in done.failed] == ["a.png", "elsewhere.png"]
    assert a.exists() and stranger.exists() and catalog.status().photos == 1


# -- the command line ------------------------------------------------------------------------

def test_cli_lists_duplicates_and_trashes_only_with_confirmation(tmp_path, library):
    photos = tmp_path / "photos"
    keep = pattern_photo(photos / "keep.png", 8, size=(192, 128))
    small = photos / "small.png"
    Image.open(keep).resize((96, 64), Image.LANCZOS).save(small)
    shutil.copy(keep, photos / "same.png")
    pattern_photo(photos / "other.png", 9)
    run_cli("add", photos, library=library)
    groups = cli_json("duplicates", library=library)["groups"]
    assert len(groups) == 1 and groups[0]["kind"] == "near" and groups[0]["keep"] in (str(keep), str(photos / "same.png"))
    assert sorted(groups[0]["photos"]) == sorted([str(keep), str(photos / "same.png"), str(small)])

    dry = run_cli("duplicates", "--trash-others", keep, "--json", library=library, check=False)
    assert dry.returncode == 1 and "--yes" in dry.stderr
    assert sorted(json.loads(dry.stdout)["would_move_to_trash"]) == sorted([str(photos / "same.png"), str(small)])
    assert small.exists() and (photos / "same.png").exists()

    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / "data")}
    proc = run_cli("duplicates", "--trash-others", "1", "--yes", "--json", library=library, env=env)
    out = json.loads(proc.stdout)
    assert sorted(out["moved"]) == sorted(p for p in groups[0]["photos"] if p != groups[0]["keep"])
    assert out["failed"] == [] and out["kept"] == [groups[0]["keep"]]
    assert Path(groups[0]["keep"]).exists() and (photos / "other.png").exists()
    assert sorted(p.name for p in (home / "data" / "Trash" / "files").iterdir()) == sorted(
        Path(p).name for p in out["moved"])
    assert cli_json("duplicates", library=library)["groups"] == []


def test_cli_albums(tmp_path, library):
    photos = tmp_path / "photos"
    shots = [pattern_photo(photos / f"{i}.png", 20 + i) for i in range(3)]
    run_cli("add", photos, library=library)
    run_cli("album", "Trip", "--add", shots[0], shots[1], library=library)
    got = cli_json("album", "Trip", library=library)
    assert got["name"] == "Trip" and got["query"] is None
    assert sorted(p["path"] for p in got["photos"]) == sorted(map(str, shots[:2]))
    run_cli("album", "Trip", "--remove", shots[0], library=library)
    assert [p["path"] for p in cli_json("album", "Trip", library=library)["photos"]] == [str(shots[1])]
    assert cli_json("album", "--list", library=library) == {"albums": [{"name": "Trip", "query": None, "count": 1}]}
    # The tiny model names no relevance cut-off: every photo is a good match of any query.
    smart = cli_json("album", "Any", "--query", "red", "--exclude", shots[2], library=library)
    assert smart["query"] == "red" and sorted(p["path"] for p in smart["photos"]) == sorted(map(str, shots[:2]))
    assert [p["path"] for p in smart["excluded"]] == [str(shots[2])]
    missing = run_cli("album", "Nope", library=library, check=False)
    assert missing.returncode == 1 and "no album" in missing.stderr
