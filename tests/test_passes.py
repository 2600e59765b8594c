"""Searchable first: the closer look (tag views, detail pass) comes after, resumable."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
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


def test_the_closer_look_takes_the_first_pass_decode_and_gets_what_a_new_decode_gives(tmp_path, monkeypatch):
    """Decode once (drafts.py): the closer look cuts its inputs from the draft the first pass
    decoded, and its outputs are those of decoding the photo again. A photo edited between the
    passes is decoded again; nothing stays in the spool after."""
    import os

    import numpy as np

    from photolens.engine import Catalog, indexer, vecblob

    photos, library = coco_library(tmp_path, 5)
    decodes = []
    real = indexer.decode_closer_look
    monkeypatch.setattr(indexer, "decode_closer_look", lambda path, *a: decodes.append(path) or real(path, *a))
    with Catalog(library, device="cpu") as cat:
        cat.add_folder(photos)
        cat.scan()
        assert cat.embed_pending()["embedded"] == 5
        edited = sorted(photos.iterdir())[0]
        st = os.stat(edited)
        os.utime(edited, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        assert cat.add_tag_details()["embedded"] == 5
        assert decodes == [str(edited)]
        assert len(cat._drafts) == 0 and cat._drafts.nbytes == 0
        model = cat.model
        paths = sorted(str(p) for p in photos.iterdir())
        ids = [cat.photo_id(p) for p in paths]
        fresh = [real(p, model.preprocess, model.tag_views, model.tag_detail.size) for p in paths]
        again = indexer.embed_closer(cat.embedder, fresh)
        for kind in ("detail_features", "detail_probs", "view_features"):
            stored = cat.store.vectors_for(ids, model.name, kind)
            for row, i in enumerate(ids):  # as stored: one byte a value (vecblob.py)
                expected = vecblob.decode(vecblob.encode(kind, again[kind][row]))
                assert np.allclose(stored[i].ravel(), expected, rtol=0, atol=1e-6), (kind, paths[row])


def test_a_batch_stacker_reuses_its_arrays_and_never_mixes_kinds_or_shapes():
    """The indexer stacks each batch's inputs into arrays it keeps (BatchStacker): the same
    array for the same kind, filled afresh (a shorter batch in its first rows); another kind or
    shape gets its own."""
    from photolens.engine.indexer import BatchStacker

    stack = BatchStacker()
    photos = [np.full((3, 4, 4), i, np.float32) for i in range(4)]
    first = stack("detail", photos)
    assert first.shape == (4, 3, 4, 4) and (first[:, 0, 0, 0] == [0, 1, 2, 3]).all()
    again = stack("detail", photos[::-1])
    assert np.shares_memory(again, first) and (again[:, 0, 0, 0] == [3, 2, 1, 0]).all()
    fewer = stack("detail", photos[:2])  # the last, shorter batch: the kept array's first rows
    assert fewer.shape == (2, 3, 4, 4) and (fewer[:, 0, 0, 0] == [0, 1]).all() and fewer.flags.c_contiguous
    assert np.shares_memory(fewer, first)
    other = stack("views", photos)
    assert not np.shares_memory(other, stack("detail", photos)) and (other[:, 0, 0, 0] == [0, 1, 2, 3]).all()
    bigger = stack("detail", [np.full((3, 8, 8), 5, np.float32)] * 2)  # another shape: its own
    assert bigger.shape == (2, 3, 8, 8) and not np.shares_memory(bigger, first) and (bigger == 5).all()
