"""The tagger scores its z-scores on its own head's embedding, computed from the stored features."""
from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
from conftest import BUILTIN, coco_library, needs_builtin

from photolens.engine import Catalog
from photolens.engine.models import read_manifest
from photolens.engine.outputs import PhotoOutputs
from photolens.engine.taghead import load_tag_head
from photolens.engine.tagger import Tagger


@pytest.fixture(scope="module")
def coco_cat(tmp_path_factory):
    photos, library = coco_library(tmp_path_factory.mktemp("taghead"), 12)
    cat = Catalog(library, device="cpu")
    cat.add_folder(photos)
    cat.index_all(faces=False)
    yield cat
    cat.close()


def test_the_builtin_model_ships_a_tag_head_beside_its_search_head():
    needs_builtin()
    model = read_manifest(BUILTIN, BUILTIN.parent)
    assert model.manifest["tag_head"]["file"] == "tag_head.npz"
    classifier = tuple(np.load(model.folder / model.manifest["classifier"][k]).astype(np.float32)
                       for k in ("weights", "bias"))
    head = load_tag_head(model, classifier)
    assert head.class_text.shape == (1000, model.dim) and 0 < head.mix <= 1 and head.conse_top_k == 20


def test_tags_come_from_the_tag_head_of_the_features_not_from_the_search_embedding(coco_cat):
    tagger = coco_cat.tagger
    assert tagger._tag_head is not None
    assert tagger.shown.thresholds is not None  # the term calibration still applies to this tagger
    ids, outputs = tagger.stored_outputs(coco_cat.store.vector_ids("builtin").tolist())
    tag_space = tagger.tag_embedding(outputs)
    search = outputs.embedding
    assert np.allclose(np.linalg.norm(tag_space, axis=1), 1, atol=1e-4)
    cos = (tag_space * search).sum(1)
    assert 0.3 < cos.mean() < 0.99  # related spaces, two heads
    stats = tagger.stats(outputs)
    z = tagger.zscores(tag_space, stats)
    # What raw_scores stacks is the tag head's z-score, not the search embedding's.
    assert not np.allclose(z, tagger.zscores(search, stats), atol=1e-2)
    mine = tagger.raw_scores(outputs, stats)
    swapped = tagger.raw_scores(PhotoOutputs(**{**{k: v for k, v in outputs.items()},
                                                 "embedding": tag_space}), stats)
    assert np.allclose(mine, swapped, atol=1e-5)  # the search embedding plays no part
    # The library's own statistics come from the tag head too (stored features, float16).
    assert np.allclose(tagger.stats(current=True).mean, tagger.stats(outputs).mean, atol=2e-3)


def test_tags_at_indexing_and_after_a_retag_from_stored_features_agree(coco_cat):
    store = coco_cat.store
    ids = store.vector_ids("builtin").tolist()
    before = {pid: {t["tag"] for t in store.tags_of(pid) if t["source"] == "auto"} for pid in ids}
    assert sum(map(len, before.values())) >= len(ids)  # real photos got tags
    tagger = coco_cat.tagger
    ids, outputs = tagger.stored_outputs(ids)
    again = [{t for t, _ in tags} for tags in tagger.tags_for(outputs, tagger.stats(current=True))]
    same = [len(again[i] & before[pid]) / max(len(again[i] | before[pid]), 1) for i, pid in enumerate(ids)]
    assert np.mean(same) > 0.9, same


def _tagger_with_damaged(tmp_path, caplog, file: str):
    """A tagger of a copy of the built-in model whose `file` is not what it should be:
    (the tagger, the copy's folder)."""
    needs_builtin()
    folder = tmp_path / "models" / "builtin"
    shutil.copytree(BUILTIN.parent, folder)
    (folder / file).write_bytes(b"not an npz")
    from photolens.engine.embedder import Embedder

    with caplog.at_level(logging.WARNING):
        return Tagger(None, Embedder(read_manifest(folder / "manifest.json", folder), device="cpu")), folder


def test_a_damaged_tag_head_falls_back_to_z_scores_and_says_so(tmp_path, caplog):
    tagger, folder = _tagger_with_damaged(tmp_path, caplog, "tag_head.npz")
    model = tagger.embedder.model
    assert tagger.tag_model is None and tagger._tag_head is None
    assert "cannot read its tag head" in caplog.text
    emb = np.eye(3, model.dim, dtype=np.float32)
    assert np.isfinite(tagger.scores(emb, tagger.stats(emb))).all()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tag_head"]  # the manifest still names it: nothing was rewritten


def test_a_tag_head_without_a_readable_tagger_still_scores_the_features(tmp_path, caplog):
    """The z-scores alone then tag; indexing, retagging and the statistics all use the tag head,
    so the stored features are read back for it."""
    tagger, _ = _tagger_with_damaged(tmp_path, caplog, "tagger.npz")
    model = tagger.embedder.model
    assert tagger.tag_model is None and tagger._tag_head is not None and tagger.needs_features
    rng = np.random.default_rng(0)
    features = np.abs(rng.standard_normal((4, 1280))).astype(np.float32)
    outputs = PhotoOutputs(np.eye(4, model.dim, dtype=np.float32), features=features)
    z = tagger.zscores(tagger.tag_embedding(outputs), tagger.stats(outputs))
    assert np.allclose(tagger.raw_scores(outputs, tagger.stats(outputs)), z, atol=1e-5)
    with pytest.raises(ValueError):  # never the search embedding on the tag head's statistics
        tagger.tag_embedding(np.eye(4, model.dim, dtype=np.float32))


def test_a_tagger_works_out_its_evidence_layout_once(coco_cat, monkeypatch):
    """The evidence's layout (tagscore.layout) is made when the tagger is, not for each batch."""
    from photolens.engine import tagscore

    made: list[int] = []
    real = tagscore.layout
    monkeypatch.setattr(tagscore, "layout", lambda *args: made.append(1) or real(*args))
    tagger = Tagger(coco_cat.store, coco_cat.embedder)
    _, outputs = tagger.stored_outputs(coco_cat.store.vector_ids("builtin").tolist())
    first = tagger.raw_scores(outputs)
    assert np.array_equal(tagger.raw_scores(outputs), first) and len(made) == 1
