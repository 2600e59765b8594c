"""End to end: the CLI with the built-in model on copies of real photos, with bad files mixed in."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import cli_json, dataset, needs_builtin, run_cli, use_model

pytestmark = pytest.mark.e2e


def real_photos(n: int, name: str = "coco-mini") -> list[Path]:
    images = sorted((dataset(name) / "images").rglob("*.jpg"))
    assert len(images) >= n
    return images[:n]


def make_bad_files(folder: Path) -> dict[str, str]:
    """One of each kind of bad input, and the reason kind each must be recorded with."""
    (folder / "empty.jpg").write_bytes(b"")
    good = real_photos(1)[0].read_bytes()
    (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])
    (folder / "notes.jpg").write_text("this is not a photo")
    # A decompression bomb: a tiny PNG that claims 40,000 x 40,000 pixels.
    from PIL import Image

    Image.new("1", (40_000, 40_000)).save(folder / "bomb.png", optimize=True)
    os.symlink(folder / "does-not-exist.jpg", folder / "broken-link.jpg")
    os.symlink(folder / "loop-b.jpg", folder / "loop-a.jpg")
    os.symlink(folder / "loop-a.jpg", folder / "loop-b.jpg")
    return {"empty.jpg": "empty", "truncated.jpg": "truncated", "notes.jpg": "not-an-image", "bomb.png": "too-large",
            "broken-link.jpg": "access", "loop-a.jpg": "access", "loop-b.jpg": "access"}


@pytest.fixture
def builtin_library(tmp_path) -> Path:
    needs_builtin()
    lib = tmp_path / "lib"
    use_model(lib, "builtin")
    return lib


def test_forty_one_photos_with_bad_files_renames_moves_and_deletes(tmp_path, builtin_library):
    lib = builtin_library
    photos = tmp_path / "Photos"
    photos.mkdir()
    sources = real_photos(41)
    for src in sources:
        shutil.copy(src, photos / src.name)
    bad = make_bad_files(photos)
    # Hidden and system folders are skipped.
    (photos / "@eaDir").mkdir()
    shutil.copy(sources[0], photos / "@eaDir" / "thumb.jpg")

    summary = cli_json("add", photos, library=lib)
    links = [n for n in bad if "link" in n or "loop" in n]
    assert summary["added"] == 41 + len(bad) - len(links)  # links that lead nowhere are failures only
    assert summary["embedded"] == 41 and summary["failed"] == len(bad)
    status = cli_json("status", "--failures", library=lib)
    assert status["indexed"] == 41 and status["failed"] == len(bad) and status["pending"] == 0
    reasons = {Path(f["path"]).name: f for f in status["failures"]}
    assert set(reasons) == set(bad)
    for name, kind in bad.items():
        assert reasons[name]["kind"] == kind, reasons[name]
        assert reasons[name]["reason"]

    # Nothing changed: nothing embedded, nothing new.
    again = cli_json("index", library=lib)
    assert again["embedded"] == 0 and again["added"] == 0 and again["removed"] == 0

    # Rename 5, move 5 into a subfolder: no photo goes through the model again.
    renamed = {}
    for src in sources[:5]:
        new = photos / f"renamed-{src.name}"
        (photos / src.name).rename(new)
        renamed[src.name] = new
    (photos / "trip").mkdir()
    for src in sources[5:10]:
        (photos / src.name).rename(photos / "trip" / src.name)
    after = cli_json("index", library=lib)
    assert after["embedded"] == 0
    assert after["moved"] == 10 and after["added"] == 0 and after["removed"] == 0

    found = cli_json("similar", renamed[sources[0].name], "-n", "50", library=lib)
    paths = {r["path"] for r in found["results"]}
    assert str(renamed[sources[1].name]) in paths
    assert str(photos / "trip" / sources[5].name) in paths
    assert not any(p.endswith(f"/{sources[1].name}") and "renamed" not in p and "trip" not in p for p in paths)

    # Deleted photos leave the results.
    for src in sources[10:13]:
        (photos / src.name).unlink()
    gone = cli_json("index", library=lib)
    assert gone["removed"] == 3 and gone["embedded"] == 0
    result_paths = {r["path"] for r in cli_json("search", "a photo", "-n", "100", library=lib)["results"]}
    assert len(result_paths) == 38
    assert not any(Path(p).name in {s.name for s in sources[10:13]} for p in result_paths)

    # An image outside the library works as a query.
    outside = real_photos(45)[44]
    res = cli_json("similar", outside, "-n", "5", library=lib)
    assert len(res["results"]) == 5 and all(isinstance(r["score"], float) for r in res["results"])


def test_dog_query_puts_dog_photos_first(tmp_path, builtin_library):
    """Flickr8k's human captions say which photos show a dog."""
    entries = json.loads((dataset("flickr8k-dev") / "labels.json").read_text())["images"][:200]
    photos = tmp_path / "p"
    photos.mkdir()
    for e in entries:
        shutil.copy(dataset("flickr8k-dev") / e["file"], photos / Path(e["file"]).name)
    cli_json("add", photos, library=builtin_library)
    dogs = {Path(e["file"]).name for e in entries if any(" dog" in f" {c.lower()}" for c in e["captions"])}
    assert 0 < len(dogs) < len(entries) / 2
    top = cli_json("search", "a dog running on the grass", "-n", "5", library=builtin_library)["results"]
    names = [Path(r["path"]).name for r in top]
    assert names[0] in dogs
    assert sum(n in dogs for n in names) >= 4


def test_sigkill_mid_index_loses_nothing_and_resumes(tmp_path, builtin_library):
    photos = tmp_path / "p"
    photos.mkdir()
    for src in real_photos(150):
        shutil.copy(src, photos / src.name)
    run_cli("add", photos, "--no-index", library=builtin_library)
    proc = subprocess.Popen([sys.executable, "-m", "photolens", "--library", str(builtin_library), "index"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = builtin_library / "library.db"
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline and committed == 0:
        time.sleep(0.2)
        try:
            con = sqlite3.connect(db, timeout=1)
            committed = con.execute("SELECT count(*) FROM vectors WHERE kind = 'embedding'").fetchone()[0]
            con.close()
        except sqlite3.OperationalError:
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 0 < committed < 150, "kill must land in the middle of indexing"
    con = sqlite3.connect(db)
    survived = con.execute("SELECT count(*) FROM vectors WHERE kind = 'embedding'").fetchone()[0]
    con.close()
    assert survived >= committed
    resumed = cli_json("index", library=builtin_library)
    assert resumed["embedded"] == 150 - survived
    status = cli_json("status", library=builtin_library)
    assert status["indexed"] == 150 and status["pending"] == 0


def test_cli_errors_are_one_line_and_nonzero(tmp_path, builtin_library):
    proc = run_cli("search", "dog", "+", library=builtin_library, check=False)
    assert proc.returncode != 0
    assert proc.stderr.strip().count("\n") == 0 and "error" in proc.stderr
    proc = run_cli("add", tmp_path / "missing", library=builtin_library, check=False)
    assert proc.returncode != 0 and "not a folder" in proc.stderr


@pytest.mark.e2e
def test_eval_reports_search_and_tag_quality_with_a_threshold_from_another_set(tmp_path):
    """`photolens eval SET --calibrate OTHER --json` on real labelled photos: search recall,
    class queries, image-to-image, tag precision and recall with the threshold calibrated on the
    other set (never the one measured), and how many tags the captions name."""
    needs_builtin()
    coco = dataset("coco-mini")
    entries = json.loads((coco / "labels.json").read_text())["images"]

    def labelled_set(name, part):
        root = tmp_path / name
        (root / "images").mkdir(parents=True)
        for e in part:
            shutil.copy(coco / e["file"], root / "images" / Path(e["file"]).name)
        labels = [dict(e, file=f"images/{Path(e['file']).name}") for e in part]
        (root / "labels.json").write_text(json.dumps({"images": labels}))
        return root

    measured, calibration = labelled_set("measured", entries[:24]), labelled_set("calibration", entries[24:64])
    report = cli_json("eval", str(measured), "--calibrate", str(calibration), library=tmp_path / "unused")
    assert report["photos"] == 24 and report["model"] == "builtin"
    assert 0 < report["text_to_image"]["R@1"] <= report["text_to_image"]["R@5"] <= report["text_to_image"]["R@10"] <= 1
    assert 0 < report["class_query"]["mAP"] <= 1 and 0 < report["image_to_image"]["P@10"] <= 1
    tags = report["tags"]
    assert tags["calibrated_on"] == str(calibration.resolve())
    assert 0 < tags["precision"] <= 1 and 0 < tags["recall"] <= 1 and 0 < tags["threshold"] < 1
    captions = report["tags_in_captions"]
    assert captions["tags_per_photo"] > 1
    assert captions["coco_terms"]["named_in_captions"] > 0.4  # "person", "dog": captions say so
    assert 0 <= captions["other_terms"]["named_in_captions"] <= 1
    audit = report["tag_audit"]  # the never-offend audit of the photos with people
    assert audit["photos_with_people"] > 5 and audit["offensive_tags"] == len(audit["hits"]) == 0
    # The match cut-off: nonsense finds no good match, a caption mostly finds its own photo.
    cutoff = report["match_cutoff"]
    assert cutoff["nonsense_queries"] >= 50 and cutoff["nonsense_no_good_match"] >= 0.9, cutoff
    assert cutoff["caption_own_photo_good"] >= 0.5, cutoff
