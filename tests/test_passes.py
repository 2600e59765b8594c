"""Searchable first: the closer look (tag views, detail pass) comes after, resumable."""
from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, coco_library

pytestmark = pytest.mark.e2e


def _count(cat, kind: str) -> int:
    return cat.store.query("SELECT count(*) FROM vectors WHERE kind = ?", [kind])[0][0]


def test_a_photo_is_searchable_and_tagged_before_its_closer_look(tmp_path):
    from photolens.engine import Catalog

    photos, library = coco_library(tmp_path, 6)
    with Catalog(library, device="cpu") as cat:
        cat.add_folder(photos)
        cat.scan()
        assert cat.embed_pending()["embedded"] == 6
        assert cat.status().indexed == 6
        assert len(cat.search("a photo", k=6)) == 6
        tagged = [p for p in photos.iterdir() if cat.tags_of(cat.photo_id(str(p)))]
        assert len(tagged) >= 3  # whole-photo tags, before any closer look
        assert _count(cat, "detail_probs") == 0 and _count(cat, "view_features") == 0
        assert cat.closer_look_pending() == 6
        first = cat.add_tag_details(limit=4)
        assert (first["embedded"], first["remaining"]) == (4, 2)
        assert _count(cat, "detail_probs") == 4 and _count(cat, "view_features") == 4
        assert cat.closer_look_pending() == 2


def test_a_kill_between_the_passes_loses_nothing_and_the_next_run_does_only_the_rest(tmp_path):
    """A process killed during the closer look: the next `index` embeds nothing again and
    gives the closer look only to the photos it had not reached."""
    from photolens.engine import Catalog

    photos, library = coco_library(tmp_path, 6)
    script = (
        "import os, signal, sys; sys.path.insert(0, sys.argv[1]);"
        "from photolens.engine import Catalog;"
        "cat = Catalog(sys.argv[2], device='cpu'); cat.add_folder(sys.argv[3]); cat.scan(); cat.embed_pending();"
        "cat.add_tag_details(limit=2); os.kill(os.getpid(), signal.SIGKILL)")
    proc = subprocess.run([sys.executable, "-c", script, str(ROOT / "app"), str(library), str(photos)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -9, proc.stderr
    with Catalog(library, device="cpu") as cat:
        assert cat.status().indexed == 6 and _count(cat, "embedding") == 6
        assert cat.closer_look_pending() == 4
        summary = cat.index_all()
        assert summary["embedded"] == 0 and summary["tag_details_added"] == 4
        assert _count(cat, "detail_probs") == 6 and cat.closer_look_pending() == 0
