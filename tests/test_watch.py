"""Live watching: real file operations in temporary folders, and `photolens watch` as a process."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import cli_json, write_photo
from photolens.engine.watcher import Watcher


def wait_for(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def paths(catalog):
    return {p for f in catalog.folders() for p in catalog.store.photos_in_folder(f.id)}


def test_watcher_follows_adds_renames_folder_moves_and_deletes(tmp_path, catalog):
    root = tmp_path / "photos"
    root.mkdir()
    catalog.add_folder(root)
    catalog.index_all()
    w = Watcher(catalog)
    w.start()
    try:
        for i in range(5):
            write_photo(root / f"{i}.jpg", color=(40 * i, 90, 200))
        assert wait_for(lambda: catalog.status().indexed == 5)
        vec_before = catalog.store.vectors("tiny")[1].copy()
        (root / "0.jpg").rename(root / "zero.jpg")
        (root / "sub").mkdir()
        for i in (1, 2):
            (root / f"{i}.jpg").rename(root / "sub" / f"{i}.jpg")
        assert wait_for(lambda: str(root / "zero.jpg") in paths(catalog) and str(root / "sub" / "2.jpg") in paths(catalog))
        (root / "sub").rename(root / "renamed-sub")
        assert wait_for(lambda: str(root / "renamed-sub" / "1.jpg") in paths(catalog))
        (root / "3.jpg").unlink()
        assert wait_for(lambda: catalog.status().photos == 4)
        ids, after = catalog.store.vectors("tiny")
        assert len(ids) == 4
        assert all(any(np_close(v, b) for b in vec_before) for v in after), "moves must keep their vectors"
    finally:
        w.stop()
    assert paths(catalog) == {str(p) for p in root.rglob("*.jpg")}


def np_close(a, b):
    import numpy as np

    return np.allclose(a, b, atol=1e-3)


def test_a_slow_copy_is_indexed_once_complete_never_as_broken(tmp_path, catalog):
    root = tmp_path / "photos"
    root.mkdir()
    catalog.add_folder(root)
    src = write_photo(tmp_path / "big.png", size=(800, 600), noise=30)
    data = src.read_bytes()
    w = Watcher(catalog)
    w.start()
    try:
        with open(root / "incoming.png", "wb") as f:
            for i in range(0, len(data), len(data) // 8):
                f.write(data[i:i + len(data) // 8])
                f.flush()
                time.sleep(0.25)
        assert wait_for(lambda: catalog.status().indexed == 1)
        assert catalog.status().failed == 0
    finally:
        w.stop()


def test_burst_of_1000_files_copied_renamed_deleted_stays_consistent(tmp_path, catalog):
    root = tmp_path / "photos"
    root.mkdir()
    catalog.add_folder(root)
    w = Watcher(catalog)
    w.start()
    try:
        staging = tmp_path / "staging"
        for i in range(1000):
            write_photo(staging / f"{i:04d}.png", color=(i % 256, (7 * i) % 256, (13 * i) % 256), size=(40, 30))
        for p in staging.iterdir():
            shutil.copy(p, root / p.name)
        assert wait_for(lambda: catalog.status().indexed == 1000, timeout=120)
        for p in list(root.iterdir()):
            p.rename(root / f"r-{p.name}")
        assert wait_for(lambda: all(Path(p).name.startswith("r-") for p in paths(catalog)), timeout=120)
        assert catalog.status().indexed == 1000
        for p in list(root.iterdir())[:400]:
            p.unlink()
        assert wait_for(lambda: catalog.status().photos == 600, timeout=60)
    finally:
        w.stop()
    assert paths(catalog) == {str(p) for p in root.iterdir()}
    assert catalog.status().indexed == 600


def test_watch_command_indexes_renames_deletes_and_stops_on_sigterm(tmp_path, library):
    root = tmp_path / "photos"
    root.mkdir()
    cli_json("add", root, library=library)
    proc = subprocess.Popen([sys.executable, "-m", "photolens", "--library", str(library), "watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        time.sleep(2.0)
        for i in range(5):
            write_photo(root / f"{i}.jpg", color=(200, 40 * i, 30))
        def count():
            return len(cli_json("search", "red", "-n", "50", library=library)["results"])
        assert wait_for(lambda: count() == 5, timeout=20)
        (root / "0.jpg").rename(root / "first.jpg")
        assert wait_for(lambda: str(root / "first.jpg") in {r["path"] for r in cli_json(
            "search", "red", "-n", "50", library=library)["results"]})
        (root / "1.jpg").unlink()
        assert wait_for(lambda: count() == 4)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "watching" in err
