"""Fault injection on real files: escaping paths, folders that are not there, damaged databases
and graphs. Each test asserts that nothing the user made is lost, that the error is one clear
line (no traceback), and where it matters that memory stays bounded.

Inputs, privacy and the command line's errors are in test_faults_io.py.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, write_photo
from tiny_models import make_tiny_model

from photolens.engine import Catalog
from photolens.engine.download import download_file, install
from photolens.engine.errors import DownloadError, LibraryError, ModelError
from photolens.engine.health import check, repair
from photolens.engine.index import VectorIndex
from photolens.engine.models import ModelInfo, import_model
from photolens.engine.store import Store


# -- paths Photolens writes or deletes --------------------------------------------------------

@pytest.fixture
def models_home(tmp_path, monkeypatch) -> Path:
    """A user models folder with one installed model, and a canary file beside it."""
    home = tmp_path / "data"
    models = home / "models"
    make_tiny_model(models / "keep-me")
    (home / "canary.txt").write_text("the rest of the data folder")
    monkeypatch.setenv("PHOTOLENS_MODELS", str(models))
    return models


def _untouched(models: Path) -> None:
    assert (models / "keep-me" / "manifest.json").exists()
    assert (models.parent / "canary.txt").read_text() == "the rest of the data folder"
    assert not [p for p in models.iterdir() if p.name.endswith(".importing")]


@pytest.mark.parametrize("name", ["..", "", ".", "../../x", "/abs/y", "a/b", "..\\x", ".hidden"])
def test_model_names_that_leave_the_models_folder_are_refused(tmp_path, models_home, name):
    source = make_tiny_model(tmp_path / "src")
    manifest = json.loads((source / "manifest.json").read_text())
    manifest["name"] = name
    (source / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="not a usable model name"):
        import_model(source)
    with pytest.raises(ModelError, match="not a usable model name"):
        install(ModelInfo(name, "clip", 4, None, {"name": name, "source": {"base_url": "http://127.0.0.1:9"},
                                                   "files": [{"path": "a.onnx", "sha256": "0" * 64}]}))
    _untouched(models_home)


@pytest.mark.parametrize("path", ["../../x", "/abs/y", "a/../../y", "./..", ""])
def test_manifest_file_paths_outside_the_model_are_refused(tmp_path, models_home, path):
    source = make_tiny_model(tmp_path / "src")
    manifest = json.loads((source / "manifest.json").read_text())
    manifest["files"] = [{"path": path, "sha256": "0" * 64, "size": 1}]
    (source / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError):
        import_model(source)
    info = ModelInfo("fine", "clip", 4, None, dict(manifest, name="fine", source={"base_url": "http://127.0.0.1:9"}))
    with pytest.raises(ModelError):
        install(info)
    _untouched(models_home)
    assert not (tmp_path / "x").exists() and not Path("/abs/y").exists()


def test_symlink_loops_in_an_imported_folder_copy_nothing_and_leave_no_temp(tmp_path, models_home):
    source = make_tiny_model(tmp_path / "src")
    (source / "sub").mkdir()
    os.symlink(source, source / "sub" / "loop")  # a folder loop: never followed
    result = import_model(source, name="looped")
    copied = sum(p.stat().st_size for p in result.folder.rglob("*") if p.is_file())
    assert copied < 10 * sum(p.stat().st_size for p in source.glob("*") if p.is_file())
    os.symlink(source / "b.onnx", source / "a.onnx")
    os.symlink(source / "a.onnx", source / "b.onnx")  # a file loop: a clear error
    with pytest.raises(ModelError, match="looping link|link loop"):
        import_model(source, name="looped2")
    assert not (models_home / "looped2").exists()
    _untouched(models_home)


class _Server:
    """127.0.0.1 serving `files` by path; "/hop" redirects to another host name (localhost)."""

    def __init__(self, files: dict[str, bytes], length: bool = True):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path == "/hop":
                    self.send_response(302)
                    self.send_header("Location", f"http://localhost:{outer.port}/f")
                    self.end_headers()
                    return
                body = files.get(self.path, b"")
                self.send_response(200)
                if length:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def test_downloads_refuse_other_hosts_oversize_bodies_and_missing_checksums(tmp_path):
    import hashlib

    body = b"x" * 5000
    server, endless = _Server({"/f": body}), _Server({"/f": body}, length=False)
    try:
        with pytest.raises(DownloadError, match="localhost.*refused"):
            download_file(f"{server.url}/hop", tmp_path / "o" / "f", hashlib.sha256(body).hexdigest())
        with pytest.raises(DownloadError, match="offers 5,000 bytes, more than the 100"):
            download_file(f"{server.url}/f", tmp_path / "o" / "f", hashlib.sha256(body).hexdigest(), size=100)
        with pytest.raises(DownloadError, match="sent more than the 100 bytes"):  # no length stated
            download_file(f"{endless.url}/f", tmp_path / "o" / "f", hashlib.sha256(body).hexdigest(), size=100)
        assert not (tmp_path / "o" / "f.part").exists()
        with pytest.raises(DownloadError, match="no sha256"):
            download_file(f"{server.url}/f", tmp_path / "o" / "f", None)
        info = ModelInfo("m", "clip", 4, None, {"name": "m", "source": {"base_url": server.url},
                                                 "files": [{"path": "f"}]})
        with pytest.raises(DownloadError, match="no sha256"):
            install(info, root=tmp_path / "models")
    finally:
        server.close()
        endless.close()
    assert not (tmp_path / "o" / "f").exists() and not (tmp_path / "models" / "m").exists()
    clip = json.loads((Path(__file__).parents[1] / "models" / "clip-vit-b32.json").read_text())
    with pytest.raises(DownloadError, match="no sha256"):  # the shipped manifest lists none yet
        install(ModelInfo("clip-vit-b32", "clip", 512, None, dict(clip, source={"base_url": server.url})),
                root=tmp_path / "models")


# -- "not there" is never "deleted"; user data kept by content ----------------------------------

def _tagged_library(tmp_path, catalog, n=3):
    folder = tmp_path / "drive"
    paths = [write_photo(folder / f"{i}.jpg", color=(60 * i, 90, 40)) for i in range(n)]
    catalog.add_folder(folder)
    catalog.index_all()
    pid = catalog.photo_id(str(paths[0]))
    catalog.store.set_user_tag(pid, "grandma")
    catalog.store.remove_tag(pid, "wrongtag")
    catalog.store.set_concept_example("rex", pid, True)
    return folder, paths


def _user_facts(catalog, path) -> tuple:
    pid = catalog.photo_id(str(path))
    tags = {(t["tag"], t["source"]) for t in catalog.store.tags_of(pid)}
    rejected = catalog.store.rejected_tags_of([pid]).get(pid, set())
    return ("grandma", "user") in tags, rejected == {"wrongtag"}, pid in catalog.store.concept_examples("rex")[0]


def test_removing_a_folder_and_adding_it_back_restores_user_work_and_embeds_nothing(tmp_path, catalog):
    folder, paths = _tagged_library(tmp_path, catalog)
    catalog.remove_folder(str(folder))
    assert catalog.status().photos == 0 and catalog.status().kept_with_user_data == 1
    catalog.add_folder(folder)
    again = catalog.index_all()
    assert again["embedded"] == 0 and again["revived"] == 3 and again["added"] == 0
    assert _user_facts(catalog, paths[0]) == (True, True, True)
    assert catalog.search("red", k=3)  # the revived vectors are searchable at once


def test_a_photo_moved_out_and_back_keeps_its_tags_as_the_watcher_sees_it(tmp_path, catalog):
    folder, paths = _tagged_library(tmp_path, catalog)
    fid = catalog.folders()[0].id
    outside = tmp_path / "outside.jpg"
    paths[0].rename(outside)
    assert catalog.index_all(scopes=[(fid, str(folder))])["removed"] == 1
    outside.rename(paths[0])
    back = catalog.index_all(scopes=[(fid, str(folder))])
    assert back["revived"] == 1 and back["embedded"] == 0
    assert _user_facts(catalog, paths[0]) == (True, True, True)


def _emptied(folder: Path, tmp_path: Path):
    """The folder as a mount point after its drive is unmounted: there, but empty. A real bind
    mount where the system allows one; else the folder is replaced by an empty one."""
    real = tmp_path / "real-drive"
    folder.rename(real)
    folder.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(real), str(folder)], capture_output=True).returncode == 0
    if mounted:
        assert subprocess.run(["umount", str(folder)]).returncode == 0
    return real, mounted


def test_an_empty_mount_point_goes_offline_with_its_reason_and_keeps_everything(tmp_path, catalog):
    folder, paths = _tagged_library(tmp_path, catalog)
    real, _ = _emptied(folder, tmp_path)
    summary = catalog.index_all()
    assert summary["removed"] == 0 and summary["offline_folders"] == [str(folder)]
    assert "empty" in summary["offline_reasons"][str(folder)]
    status = catalog.status()
    assert status.offline == 3 and "unmounted" in status.folders[0].offline_reason
    folder.rmdir()
    real.rename(folder)
    back = catalog.index_all()
    assert back["embedded"] == 0 and back["removed"] == 0 and catalog.status().offline == 0
    assert _user_facts(catalog, paths[0]) == (True, True, True)


# Root reads every folder whatever its mode; without these two capabilities it is held to the
# permission bits like anyone else, so chmod 000 and a read-only folder mean what they say.
UNPRIVILEGED = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]


def _unprivileged_cli(library: Path, *args) -> subprocess.CompletedProcess:
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is needed to run without root's file access as root")
    prefix = UNPRIVILEGED if os.geteuid() == 0 else []
    return subprocess.run([*prefix, sys.executable, "-m", "photolens", "--library", str(library), *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_unreadable_subfolder_and_folder_keep_their_photos_and_say_why(tmp_path, catalog):
    photos = tmp_path / "photos"
    for i in range(2):
        write_photo(photos / "open" / f"{i}.jpg", color=(200, 40 * i, 30))
        write_photo(photos / "private" / f"{i}.jpg", color=(30, 40 * i, 200))
    catalog.add_folder(photos)
    catalog.index_all()
    pid = catalog.photo_id(str(photos / "private" / "0.jpg"))
    catalog.store.set_user_tag(pid, "mine")
    catalog.close()
    os.chmod(photos / "private", 0)
    try:
        run = _unprivileged_cli(catalog.dir, "index", "--json")
        assert run.returncode == 0, run.stderr
        summary = json.loads(run.stdout)
        assert summary["removed"] == 0 and "permission denied" in summary["unreadable"][str(photos / "private")]
        status = json.loads(_unprivileged_cli(catalog.dir, "status", "--json").stdout)
        assert status["photos"] == 4 and status["folders"][0]["unreachable"][0][0] == str(photos / "private")
        os.chmod(photos, 0)
        summary = json.loads(_unprivileged_cli(catalog.dir, "index", "--json").stdout)
        assert summary["removed"] == 0 and "permission denied" in summary["offline_reasons"][str(photos)]
    finally:
        os.chmod(photos, 0o755)
        os.chmod(photos / "private", 0o755)
    cat = Catalog(catalog.dir, device="cpu")
    assert "mine" in {t["tag"] for t in cat.store.tags_of(pid)} and cat.status().photos == 4
    cat.close()


def test_a_read_only_library_is_one_clear_line(tmp_path, library):
    Catalog(library, device="cpu").close()
    os.chmod(library, 0o555)
    try:
        run = _unprivileged_cli(library, "add", tmp_path)
    finally:
        os.chmod(library, 0o700)
    assert run.returncode != 0 and "Traceback" not in run.stderr, run.stderr
    assert "read-only" in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


# -- a damaged library never crashes and never silently resets --------------------------------

def test_a_zero_length_or_foreign_library_db_is_refused_not_replaced(tmp_path, library):
    db = library / "library.db"
    db.write_bytes(b"")
    with pytest.raises(LibraryError, match="empty"):
        Catalog(library, device="cpu")
    run = run_cli("status", library=library, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr and "repair" in run.stderr
    assert db.stat().st_size == 0  # nothing made over it
    db.write_bytes(b"not a database at all" * 100)
    with pytest.raises(LibraryError, match="not a Photolens library"):
        Catalog(library, device="cpu")


def _corrupt_middle(db: Path) -> None:
    data = bytearray(db.read_bytes())
    page = 16384
    for start in range(page, len(data), page):  # every page but the first: the header survives
        data[start + 8:start + 64] = os.urandom(56)
    db.write_bytes(bytes(data))


def test_a_damaged_database_is_one_line_and_repair_brings_the_user_tags_back(tmp_path, library):
    cat = Catalog(library, device="cpu")
    folder, paths = _tagged_library(tmp_path, cat)
    cat.backup(force=True)
    cat.close()
    _corrupt_middle(library / "library.db")
    run = run_cli("status", library=library, check=False)
    assert run.returncode == 1 and "Traceback" not in run.stderr and "damaged" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert check(library)["database"] != "ok"
    done = repair(library)
    assert done["database"] == "rebuilt" and done["facts_restored"] >= 3
    assert list(library.glob("library.db.damaged-*"))  # moved aside, never deleted
    cat = Catalog(library, device="cpu")
    summary = cat.index_all()
    assert summary["revived"] == 1 and summary["added"] == 2  # the tagged photo found again by content
    assert _user_facts(cat, paths[0]) == (True, True, True)
    cat.close()


def test_after_an_unclean_shutdown_the_database_is_checked_at_open(tmp_path, library):
    cat = Catalog(library, device="cpu")
    _tagged_library(tmp_path, cat)
    cat.close()
    # A process that opens the library and is killed: its session marker stays behind.
    code = ("import os, signal, sys; from pathlib import Path; from photolens.engine.store import Store; "
            f"Store(Path({str(library / 'library.db')!r})); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == -signal.SIGKILL
    assert list((library / "library.db.sessions").iterdir())
    _corrupt_middle(library / "library.db")
    with pytest.raises(LibraryError, match="damaged"):
        Store(library / "library.db")


def test_library_files_are_private(tmp_path, catalog):
    _tagged_library(tmp_path, catalog)
    catalog.set_thorough_tags(True)
    catalog.index.exact_max = 1
    catalog.search("red", k=2)
    assert (catalog.dir.stat().st_mode & 0o777) in (0o700, 0o755)  # made by the fixture, or by us
    fresh = Catalog(tmp_path / "new-lib", device="cpu")
    assert fresh.dir.stat().st_mode & 0o777 == 0o700
    fresh.close()
    for name in ("library.db", "settings.json", "index-tiny.hnsw", "index-tiny.json"):
        assert (catalog.dir / name).stat().st_mode & 0o077 == 0, name


# -- the vector graph -------------------------------------------------------------------------

def _graph_store(tmp_path, n=150, dim=16, seed=0):
    store = Store(tmp_path / "lib" / "library.db")
    fid = store.add_folder(str(tmp_path / "p"))
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    with store.transaction():
        ids = [store.add_photo(fid, str(tmp_path / "p" / f"{seed}-{i}.jpg"), 1, 0) for i in range(n)]
        store.put_vectors("m", "embedding", zip(ids, vecs))
    store.bump_generation("m")
    return store, ids, vecs


def _graph(store, tmp_path) -> VectorIndex:
    return VectorIndex(store, "m", tmp_path / "lib", exact_max=50)


@pytest.mark.parametrize("damage", ["header", "body", "sidecar-list", "sidecar-junk", "truncated"])
def test_a_damaged_graph_is_rebuilt_from_the_library_never_loaded(tmp_path, damage):
    store, ids, vecs = _graph_store(tmp_path)
    index = _graph(store, tmp_path)
    assert index.search(vecs[7], 1)[0][0] == ids[7] and not index.exact
    graph, sidecar = tmp_path / "lib" / "index-m.hnsw", tmp_path / "lib" / "index-m.json"
    data = bytearray(graph.read_bytes())
    if damage == "header":
        data[52:56] = b"\xff\xff\xff\x7f"  # the issue's reproduction: this made every search segfault
    elif damage == "body":
        data[len(data) // 2:len(data) // 2 + 64] = os.urandom(64)
    elif damage == "truncated":
        data = data[:len(data) // 3]
    if damage == "sidecar-list":
        sidecar.write_text("[]")
    elif damage == "sidecar-junk":
        sidecar.write_text("{\x00")
    else:
        graph.write_bytes(bytes(data))
    fresh = _graph(store, tmp_path)
    hits = fresh.search(vecs[7], 5)
    assert hits[0][0] == ids[7] and all(np.isfinite(s) and -1.01 <= s <= 1.01 for _, s in hits)
    assert check(tmp_path / "lib")["graphs"]["index-m.hnsw"] == "ok"  # rebuilt and saved again


def test_new_photos_join_the_saved_graph_without_a_rebuild(tmp_path):
    store, ids, vecs = _graph_store(tmp_path)
    _graph(store, tmp_path).search(vecs[0], 1)
    graph = tmp_path / "lib" / "index-m.hnsw"
    saved = graph.read_bytes()
    # Another process adds photos, removes one and re-embeds one.
    fid = store.folders()[0]["id"]
    rng = np.random.default_rng(9)
    new = rng.normal(size=(5, 16)).astype(np.float32)
    new /= np.linalg.norm(new, axis=1, keepdims=True)
    with store.transaction():
        added = [store.add_photo(fid, str(tmp_path / "p" / f"new-{i}.jpg"), 1, 0) for i in range(5)]
        store.put_vectors("m", "embedding", zip(added, new))
        store.put_vectors("m", "embedding", [(ids[3], new[0] * -1)])
        store.remove_photos([ids[5]])
    store.bump_generation("m")
    index = _graph(store, tmp_path)
    assert index.search(new[2], 1)[0][0] == added[2]
    assert index.search(-new[0], 1)[0][0] == ids[3]
    assert ids[5] not in {i for i, _ in index.search(vecs[5], 20)}
    assert graph.read_bytes() == saved  # caught up in memory, not rebuilt and rewritten
    index.save()
    assert _graph(store, tmp_path).search(new[4], 1)[0][0] == added[4]
    # Without the fingerprints file (lost, or from another save), each vector is read back instead.
    store.put_vectors("m", "embedding", [(ids[8], new[1] * -1)])
    store.bump_generation("m")
    (tmp_path / "lib" / "index-m.ids.npy").write_bytes(b"junk")
    assert _graph(store, tmp_path).search(-new[1], 1)[0][0] == ids[8]


def test_closing_an_unchanged_library_does_not_rewrite_its_graph(tmp_path):
    """Saving at close writes the graph only when the library moved on since it was saved."""
    store, ids, vecs = _graph_store(tmp_path)
    _graph(store, tmp_path).search(vecs[0], 1)  # built and saved
    graph = tmp_path / "lib" / "index-m.hnsw"
    written = graph.stat().st_mtime_ns
    opened = _graph(store, tmp_path)
    assert opened.search(vecs[1], 1)[0][0] == ids[1]
    opened.save()
    assert graph.stat().st_mtime_ns == written  # opened as saved: nothing to write
    store.remove_photos([ids[2]])
    store.bump_generation("m")
    assert ids[2] not in {i for i, _ in opened.search(vecs[2], 5)}
    opened.save()
    assert graph.stat().st_mtime_ns != written  # moved on: saved
    assert ids[2] not in {i for i, _ in _graph(store, tmp_path).search(vecs[2], 5)}


def test_status_says_hnsw_for_a_library_past_exact_search(tmp_path, catalog):
    _tagged_library(tmp_path, catalog, n=4)
    assert catalog.status().index == "exact"
    catalog.index.exact_max = 2
    assert catalog.status().index == "hnsw"


def test_a_window_can_read_an_unchanged_saved_graph_ahead_and_leaves_the_rest_for_later(tmp_path, monkeypatch):
    """open_saved reads a saved graph the database has not moved past, without a vector from
    SQLite; where more is needed (new photos to catch up) it reads nothing and says so."""
    store, ids, vecs = _graph_store(tmp_path)
    _graph(store, tmp_path).search(vecs[0], 1)  # built and saved
    ahead = _graph(store, tmp_path)
    assert not ahead.loaded
    with monkeypatch.context() as m:
        m.setattr(store, "vectors", lambda *_: pytest.fail("read every vector to open an unchanged graph"))
        assert ahead.open_saved() and ahead.loaded and not ahead.exact
        assert ahead.search(vecs[9], 1)[0][0] == ids[9]
    fid = store.folders()[0]["id"]
    with store.transaction():
        new = store.add_photo(fid, str(tmp_path / "p" / "new.jpg"), 1, 0)
        store.put_vectors("m", "embedding", [(new, -vecs[4])])
    store.bump_generation("m")
    behind = _graph(store, tmp_path)
    assert not behind.open_saved() and not behind.loaded  # a catch-up: left to ensure_loaded
    assert behind.search(-vecs[4], 1)[0][0] == new and behind.loaded


def test_a_graph_saved_with_the_older_checksum_still_opens_and_its_damage_still_shows(tmp_path):
    """Graphs saved before CRC-32 carry a blake2b checksum: they open as they are (a 200,000-photo
    rebuild is not the price of an upgrade), and a damaged one is still caught."""
    from photolens.engine.graphfile import _digest

    store, ids, vecs = _graph_store(tmp_path)
    _graph(store, tmp_path).search(vecs[0], 1)
    graph, sidecar = tmp_path / "lib" / "index-m.hnsw", tmp_path / "lib" / "index-m.json"
    meta = json.loads(sidecar.read_text())
    assert meta["checksum"].startswith("crc32:")
    sidecar.write_text(json.dumps(dict(meta, checksum=_digest(graph, "blake2b")[1])))
    assert _graph(store, tmp_path).open_saved()
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    graph.write_bytes(bytes(data))
    assert not _graph(store, tmp_path).open_saved()
    assert _graph(store, tmp_path).search(vecs[7], 1)[0][0] == ids[7]  # rebuilt from the library


def test_a_text_reader_that_cannot_start_is_a_warning_and_the_run_goes_on(tmp_path, library, monkeypatch):
    """A broken install (the OCR package missing) must not stop indexing after the photos are
    searchable: the run finishes its other passes and the warning says why no text was read."""
    from photolens.engine import ocr

    def missing():
        raise ModelError("the text reader (rapidocr) is not installed: No module named 'rapidocr'")
    monkeypatch.setattr(ocr, "_rapidocr", missing)
    photos = tmp_path / "photos"
    for i in range(3):
        write_photo(photos / f"p{i}.png", (40 * i, 100, 200))
    cat = Catalog(library)
    try:
        cat.add_folder(photos)
        summary = cat.index_all()
        assert summary["embedded"] == 3 and summary["text_read"] == 0
        assert any("Text in photos is not read" in w and "rapidocr" in w for w in cat.warnings)
        assert len(cat.search("red", k=3)) == 3
        # The app's watcher reads text in chunks: it is told there is nothing left, not an error.
        assert cat.read_text(limit=5) == {"done": 0, "failed": 0, "remaining": 0}
    finally:
        cat.close()
