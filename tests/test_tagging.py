"""Vocabulary, auto-tags, taught concepts and focused similarity."""
from __future__ import annotations

import contextlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import dataset, needs_builtin, use_model, write_photo
from photolens.engine.tagger import MAX_TAGS, terms

DENY_WORDS = {"black", "white", "asian", "african", "caucasian", "hispanic", "muslim", "christian", "jewish", "hindu",
              "religion", "race", "ethnic", "fat", "obese", "skinny", "ugly", "beautiful", "attractive", "sexy",
              "nude", "naked", "body"}


@contextlib.contextmanager
def _model_with(catalog, **manifest_changes):
    """The catalog's model with some manifest entries replaced, while the block runs."""
    import dataclasses

    embedder = catalog.embedder
    original = embedder.model
    embedder.model = dataclasses.replace(original, manifest=dict(original.manifest, **manifest_changes))
    try:
        yield embedder
    finally:
        embedder.model = original


def test_vocabulary_is_deduplicated_and_free_of_denied_labels():
    words = terms()
    assert len(words) >= 1000 and len(words) == len(set(words))
    allowed = {"hot dog", "white shark", "black swan", "polar bear"}
    bad = [w for w in words if w not in allowed and set(re.findall(r"[a-z]+", w)) & DENY_WORDS]
    assert bad == []
    assert {"dog", "beach", "sunset", "birthday party", "television"} <= set(words)
    assert "tv" not in words  # merged into its synonym
    # garments English names only in the plural ("jean" reads as a name)
    assert {"jeans", "pajamas"} <= set(words) and not {"jean", "pajama"} & set(words)


def test_user_tags_survive_and_removed_tags_stay_removed(tmp_path, catalog):
    folder = tmp_path / "p"
    for i in range(6):
        write_photo(folder / f"{i}.jpg", color=(40 * i, 100, 160))
    catalog.add_folder(folder)
    catalog.index_all()
    pid = catalog.photo_id(str(folder / "0.jpg"))
    auto = [t for t in catalog.store.tags_of(pid) if t["source"] == "auto"]
    catalog.store.set_user_tag(pid, "grandma's garden")
    if auto:
        catalog.store.remove_tag(pid, auto[0]["tag"])
    catalog.store.execute("UPDATE photos SET tagged_with = NULL")
    catalog.tagger.threshold = -100  # every term passes: the removed one still must not return
    catalog.retag()
    tags = {t["tag"]: t["source"] for t in catalog.store.tags_of(pid)}
    assert tags["grandma's garden"] == "user"
    if auto:
        assert auto[0]["tag"] not in tags


def test_tags_are_recomputed_from_stored_vectors_when_the_tagger_changes(tmp_path, catalog):
    """An update that ships another tagger, vocabulary or threshold (or a switch back to a model
    whose vectors exist) retags the library on the next index run, without embedding again."""
    folder = tmp_path / "p"
    for i in range(6):
        write_photo(folder / f"{i}.jpg", color=(40 * i, 100, 160))
    catalog.add_folder(folder)
    first = catalog.index_all()
    assert first["embedded"] == 6 and first["retagged"] == 0  # tagged while indexing
    assert catalog.index_all()["retagged"] == 0  # nothing changed
    before = catalog.tagger.identity
    catalog.tagger.threshold = -100  # as if an update shipped a tagger calibrated differently
    assert catalog.tagger.identity != before
    stages = []
    again = catalog.index_all(progress=lambda p: stages.append((p.stage, p.done, p.total)))
    assert again["embedded"] == 0 and again["retagged"] == 6
    assert stages[-1] == ("updating tags", 6, 6)
    for i in range(6):
        auto = [t for t in catalog.store.tags_of(catalog.photo_id(str(folder / f"{i}.jpg"))) if t["source"] == "auto"]
        assert len(auto) == min(MAX_TAGS, len(catalog.tagger.words))  # every term passes now
    assert catalog.index_all()["retagged"] == 0

    def no_pass_over_the_library(*args):
        raise AssertionError("a finished retag under this identity needs no pass over the library")

    catalog.store.photos_to_tag = no_pass_over_the_library
    assert catalog.index_all()["retagged"] == 0


def test_a_growing_librarys_photos_are_tagged_again_with_its_statistics(tmp_path, catalog, monkeypatch):
    """Photos tagged while a library has fewer than MIN_REFERENCE photos were scored against a
    handful of photos' term statistics: once it has enough, the next index run scores them again.
    While the statistics come from fewer than STATS_SETTLED photos, they follow the library as it
    grows, and every full run that adds photos scores the earlier ones again with them."""
    from photolens.engine import tagger as tagger_module
    from photolens.engine.tagger import MIN_REFERENCE, PROVISIONAL

    monkeypatch.setattr(tagger_module, "STATS_SETTLED", 100)
    folder = tmp_path / "p"
    for i in range(6):
        write_photo(folder / f"a{i}.jpg", color=(40 * i, 100, 160), noise=6, seed=i)
    catalog.add_folder(folder)
    assert catalog.index_all()["retagged"] == 0  # still too few: nothing would change
    marks = lambda: [r[0] for r in catalog.store.query("SELECT tagged_with FROM photos")]  # noqa: E731
    assert all(m.endswith(PROVISIONAL) for m in marks())  # too few photos: no statistics kept
    for i in range(MIN_REFERENCE):
        write_photo(folder / f"b{i}.jpg", color=(5 * i, 200 - 3 * i, 90), noise=6, seed=100 + i)
    result = catalog.index_all()
    # Every photo not scored with the 56 photos' statistics while indexing is scored again with them.
    assert result["retagged"] >= 6
    tagger = catalog.tagger
    assert tagger._stats_from == 6 + MIN_REFERENCE
    assert all(m.endswith(PROVISIONAL + "@56") for m in marks())  # 56 < STATS_SETTLED: not for good yet
    first = [pid for (pid,) in catalog.store.query("SELECT id FROM photos ORDER BY id LIMIT 6")]

    def stored_tags():
        return {pid: sorted(t["tag"] for t in catalog.store.tags_of(pid) if t["source"] == "auto") for pid in first}
    ids, outputs = tagger.stored_outputs(first)
    assert any(stored_tags().values())
    assert stored_tags() == {pid: sorted(t for t, _ in tags)
                             for pid, tags in zip(ids, tagger.tags_for(outputs, tagger.stats()))}
    assert catalog.index_all()["retagged"] == 0  # nothing new: no pass over the library
    # Photos scored after the run's retag with the same statistics (the app's chunks of tag
    # details, the watcher) are not scored again by the next run.
    with catalog.store.transaction():
        tagger.apply(ids, outputs)
    assert catalog.index_all()["retagged"] == 0
    for i in range(60):
        write_photo(folder / f"c{i}.jpg", color=(200, 4 * i, 250 - 4 * i), noise=6, seed=300 + i)
    result = catalog.index_all()
    assert tagger._stats_from == 116 and result["retagged"] >= 56
    assert not any(PROVISIONAL in m for m in marks())  # from 116 >= 100 photos: for good
    assert catalog.index_all()["retagged"] == 0


@pytest.fixture(scope="module")
def coco_catalog(tmp_path_factory):
    needs_builtin()
    from photolens.engine import Catalog

    coco = dataset("coco-mini")
    entries = json.loads((coco / "labels.json").read_text())["images"]
    photos = tmp_path_factory.mktemp("coco")
    for e in entries:
        shutil.copy(coco / e["file"], photos / Path(e["file"]).name)
    lib = tmp_path_factory.mktemp("lib")
    use_model(lib, "builtin")
    cat = Catalog(lib, device="cpu")
    cat.add_folder(photos)
    cat.index_all()
    yield cat, {str(photos / Path(e["file"]).name): set(e["classes"]) for e in entries}
    cat.close()


@pytest.mark.e2e
def test_builtin_tag_views_and_detail_are_stored_and_retagging_reproduces_index_time_scores(coco_catalog):
    """The built-in model looks at each photo's centre again, and at every small window of it at
    448 px, for tags; those outputs are kept, so tags recomputed from the library (after a model
    switch or new statistics) match the ones computed from the live outputs while indexing."""
    from photolens.engine.indexer import decode_photo, embed_decoded

    cat, classes = coco_catalog
    tagger, model = cat.tagger, cat.model
    assert model.tag_views == ((0.25, 0.25, 0.75, 0.75),)
    assert model.tag_detail is not None and model.tag_detail.size == 448
    paths = sorted(classes)[:24]
    ids = [cat.photo_id(p) for p in paths]
    stored_ids, stored = tagger.stored_outputs(ids)
    assert stored_ids == ids and stored["view_features"].shape == (24, 1, 1280)
    assert stored["detail_features"].shape == (24, 1280) and stored["detail_probs"].shape == (24, 1000)
    live = embed_decoded(cat.embedder, [decode_photo(model, p) for p in paths])
    assert live["view_features"].shape == (24, 1, 1280) and live["view_logits"].shape == (24, 1, 1000)
    assert (live["detail_probs"] <= 1 + 1e-5).all() and (live["detail_probs"].max(1) > 0.05).all()
    stats = tagger.stats()
    a, b = tagger.scores(live, stats), tagger.scores(stored, stats)
    assert np.abs(a - b).max() < 0.02  # float16 storage, logits from the stored features
    # The views and the detail pass matter: without them the same photos score differently.
    for prefix in ("view_", "detail_"):
        without = {k: v for k, v in live.items() if not k.startswith(prefix)}
        assert np.abs(a - tagger.scores(without, stats)).max() > 0.05, prefix


@pytest.mark.e2e
def test_the_detail_pass_finds_faces_and_they_raise_the_person_tag(coco_catalog):
    """The built-in model's detail pass carries a face detector (models/face_detector.py): its
    score is stored with the pass's other outputs, is high on coco-mini's photos of people far
    more often than on the rest, and ranks them better for "person" than the same photos scored
    without it (by the stacker fitted for photos the detector has not seen)."""
    cat, classes = coco_catalog
    tagger = cat.tagger
    assert cat.model.tag_detail.faces == "faces"
    paths = sorted(classes)
    ids, stored = tagger.stored_outputs([cat.photo_id(p) for p in paths])
    faces = stored["detail_faces"][:, 0]
    people = np.array(["person" in classes[p] for p in paths])
    assert stored["detail_faces"].shape == (len(paths), 1) and not np.isnan(faces).any()
    assert (faces[people] > 0.5).sum() >= 20 and (faces[~people] > 0.5).sum() <= 5, \
        ((faces[people] > 0.5).sum(), (faces[~people] > 0.5).sum())
    from photolens.engine.evaluate import average_precision

    stats = tagger.stats()
    person = tagger.words.index("person")
    with_faces = tagger.raw_scores(stored, stats)[:, person]
    stored.detail_faces = np.full_like(stored.detail_faces, np.nan)  # as if the detector had not run
    without = tagger.raw_scores(stored, stats)[:, person]
    assert average_precision(with_faces, people) > average_precision(without, people) + 0.01


def test_face_evidence_reaches_only_the_face_terms_and_a_missing_score_counts_for_nothing():
    from photolens.engine import tagscore
    from photolens.engine.tagscore import Evidence

    words = ["dog", "person", "cat"]
    groups = np.zeros((4, 3), np.float32)
    rng = np.random.default_rng(0)
    feats, logits = rng.random((3, 5)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    z = rng.standard_normal((3, 3)).astype(np.float32)
    x = tagscore.evidence(None, words, feats, logits, groups, z, faces=np.array([0.9, 0.1, np.nan], np.float32))
    assert x[:, 1, Evidence.FACE].tolist() == pytest.approx([0.9, 0.1, 0.0])
    assert x[:, 1, Evidence.FACE_SEEN].tolist() == [1, 1, 0]
    assert not x[:, [0, 2]][:, :, [Evidence.FACE, Evidence.FACE_SEEN]].any()
    assert not tagscore.evidence(None, words, feats, logits, groups, z)[:, :, [Evidence.FACE, Evidence.FACE_SEEN]].any()


def test_a_photo_without_a_face_score_has_its_person_score_recalibrated_and_no_other(tmp_path):
    """Where the detector has not run, "person" is scored from its other evidence, recalibrated
    (Platt's scaling fitted on labelled photos); every other term scores as with a face score."""
    from photolens.engine import tagscore
    from photolens.engine.tagscore import Evidence

    words = ["dog", "person"]
    rng = np.random.default_rng(0)
    n = 400
    x = np.zeros((n, 2, tagscore.N_EVIDENCE), np.float32)
    x[:, :, Evidence.BIAS] = 1
    x[:, :, Evidence.ZSCORE] = rng.standard_normal((n, 2))
    face = rng.random(n)
    x[:, 1, Evidence.FACE], x[:, 1, Evidence.FACE_SEEN] = face, 1
    y = rng.random((n, 2)) < tagscore.sigmoid(x[:, :, Evidence.ZSCORE] + 4 * (face[:, None] - 0.5) * [0, 1])
    w = tagscore.fit_stacker(x, y.astype(np.float32))
    scale, shift = tagscore.fit_faceless(x, y.astype(np.float32), w, 1)
    # Calibrated without the face: the mean probability matches the labels' rate.
    faceless_logit = scale * (tagscore.without_faces(x)[:, 1] @ w) + shift
    assert tagscore.sigmoid(faceless_logit).mean() == pytest.approx(y[:, 1].mean(), abs=0.01)
    assert 0 < scale < 1.5  # the face explained part of the spread: without it, less sharp
    model = tagscore.TagModel([], np.zeros((3, 0), np.float32), np.zeros(0, np.float32), np.zeros(3, np.float32),
                              np.ones(3, np.float32), np.zeros(0, np.float32), w, 0.5, (scale, shift))
    lay = tagscore.layout(None, words, np.zeros((4, 2), np.float32))
    seen = np.arange(n) % 2 == 0
    p = tagscore.stacked_by_faces(np.where(seen[:, None, None], x, tagscore.without_faces(x)), model, seen, lay)
    np.testing.assert_allclose(p[:, 0], tagscore.stacked(x, w)[:, 0], rtol=1e-5)  # "dog" alike in both states
    np.testing.assert_allclose(p[seen, 1], tagscore.stacked(x, w)[seen, 1], rtol=1e-5)
    np.testing.assert_allclose(p[~seen, 1], tagscore.sigmoid(faceless_logit[~seen]), rtol=1e-4)
    model.save(tmp_path / "t.npz")
    assert tagscore.TagModel.load(tmp_path / "t.npz").faceless == pytest.approx((scale, shift))


def test_the_stacker_fits_a_column_that_speaks_for_one_term():
    """A column nonzero for one term of eighty (the face score, for "person") is penalised per
    pair like the others, so its weight is of the order its evidence earns, not shrunk 80 times."""
    from photolens.engine import tagscore

    rng = np.random.default_rng(0)
    n, t = 300, 80
    x = np.zeros((n, t, 4))
    x[:, :, 0] = rng.standard_normal((n, t))  # shared evidence, weakly predictive everywhere
    x[:, :, 1] = 1  # bias
    signal = rng.random(n)
    x[:, 0, 2] = signal  # the one-term column (FACE) ...
    x[:, 0, 3] = 1  # ... and its own bias (FACE_SEEN)
    logit = 0.5 * x[:, :, 0] - 1.0
    logit[:, 0] += 6 * (signal - 0.5)
    y = (rng.random((n, t)) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    w = tagscore.fit_stacker(x, y)
    assert 2 < w[2] < 9 and w[3] < 0, w  # l2 on every pair alike held it at 0.1 (the true weight is 6)
    assert 0.3 < w[0] < 0.7, w


@pytest.mark.e2e
def test_photos_indexed_before_the_detail_pass_are_tagged_with_a_stand_in(coco_catalog):
    """A library indexed by an older build has no detail outputs: retagging it still works, with
    the whole photo standing in for its windows, and its tags stay close to the full ones."""
    cat, classes = coco_catalog
    tagger = cat.tagger
    ids = [cat.photo_id(p) for p in sorted(classes)[:24]]
    _, full = tagger.stored_outputs(ids)
    saved = cat.store.query("SELECT * FROM vectors WHERE kind IN ('detail_features', 'detail_probs')")
    try:
        cat.store.execute("DELETE FROM vectors WHERE kind IN ('detail_features', 'detail_probs')")
        stored_ids, stand_in = tagger.stored_outputs(ids)
        assert stored_ids == ids
        np.testing.assert_allclose(stand_in["detail_features"], full["features"])
        assert stand_in["detail_probs"].shape == (24, 1000)
        np.testing.assert_allclose(stand_in["detail_probs"].sum(1), 1, atol=1e-4)  # one softmax, not a max
        stats = tagger.stats()
        assert not np.allclose(tagger.scores(stand_in, stats), tagger.scores(full, stats))
    finally:
        with cat.store.transaction():
            cat.store.execute("DELETE FROM vectors WHERE kind IN ('detail_features', 'detail_probs')")
            for row in saved:
                cat.store.execute("INSERT INTO vectors VALUES (?, ?, ?, ?)", row)


@pytest.mark.e2e
def test_without_thorough_tags_indexing_skips_the_detail_pass_and_still_tags(tmp_path, monkeypatch):
    """The "thorough tags" setting off (faster indexing on a CPU): the detail pass never runs,
    nothing of it is stored, and the photos are still tagged. It persists with the library, and
    the CLI shows and changes it."""
    from conftest import cli_json, coco_library
    from photolens.engine import Catalog
    from photolens.engine.embedder import Embedder

    photos, lib = coco_library(tmp_path, 6)
    first = sorted(photos.iterdir())[0]
    assert cli_json("settings", library=lib)["thorough_tags"] is True
    assert cli_json("settings", "--thorough-tags", "off", library=lib)["thorough_tags"] is False
    calls = []
    real = Embedder.embed_detail
    monkeypatch.setattr(Embedder, "embed_detail", lambda self, px: calls.append(len(px)) or real(self, px))
    cat = Catalog(lib, device="cpu")
    try:
        assert cat.settings.thorough_tags is False and cat.status().thorough_tags is False
        cat.add_folder(photos)
        assert cat.index_all()["embedded"] == 6
        assert calls == []
        kinds = {k for (k,) in cat.store.query("SELECT DISTINCT kind FROM vectors")}
        assert kinds == {"embedding", "features", "view_features"}
        pids = [pid for (pid,) in cat.store.query("SELECT id FROM photos ORDER BY id")]
        tagged = [cat.store.tags_of(pid) for pid in pids]
        assert sum(bool(t) for t in tagged) >= 4
        # The whole photo stands in for the detail pass alike while indexing and when retagging.
        cat.store.execute("UPDATE photos SET tagged_with = NULL")
        cat.store.execute("DELETE FROM meta WHERE key = 'tags_retagged_under'")
        assert cat.retag() == 6
        again = [cat.store.tags_of(pid) for pid in pids]
        assert [[t["tag"] for t in row] for row in again] == [[t["tag"] for t in row] for row in tagged]
        assert all(abs(a["score"] - b["score"]) < 0.02 for r1, r2 in zip(tagged, again) for a, b in zip(r1, r2))
        cat.set_thorough_tags(True)  # new photos get the pass again
        shutil.copy(first, photos / "again.jpg")
        cat.index_all()
        assert calls and "detail_probs" in {k for (k,) in cat.store.query("SELECT DISTINCT kind FROM vectors")}
    finally:
        cat.close()


@pytest.mark.e2e
def test_a_library_indexed_before_the_detail_pass_gets_it_without_losing_search(tmp_path, monkeypatch, caplog):
    """An update brings the detail pass: the next full index run adds it to the photos indexed
    before ("looking closer" in the progress), their embeddings (search) are never dropped,
    and their tags are recomputed. Another build of the detail graph redoes only its outputs."""
    from conftest import coco_catalog_without_tag_details

    cat = coco_catalog_without_tag_details(tmp_path, 5)
    try:
        embeddings = dict(cat.store.query("SELECT photo_id, vec FROM vectors WHERE kind = 'embedding'"))
        assert cat.store.query("SELECT count(*) FROM vectors WHERE kind = 'detail_probs'")[0][0] == 0
        stages = []
        summary = cat.index_all(progress=lambda p: stages.append((p.stage, p.done, p.total)))
        assert summary["tag_details_added"] == 5 and summary["embedded"] == 0
        assert ("looking closer", 5, 5) in stages
        assert cat.store.query("SELECT count(*) FROM vectors WHERE kind = 'detail_probs'")[0][0] == 5
        assert dict(cat.store.query("SELECT photo_id, vec FROM vectors WHERE kind = 'embedding'")) == embeddings
        assert cat.index_all()["tag_details_added"] == 0  # once

        # Another build of the detail graph (an update): its outputs are redone, nothing else.
        cat.store.set_meta("detail_fingerprint:builtin", "an-older-build")
        with caplog.at_level("WARNING", logger="photolens.catalog"):
            summary = cat.index_all()
        assert summary["tag_details_added"] == 5 and summary["embedded"] == 0
        assert "tag detail pass" in caplog.text
        assert dict(cat.store.query("SELECT photo_id, vec FROM vectors WHERE kind = 'embedding'")) == embeddings
    finally:
        cat.close()


def test_a_tagger_from_another_version_falls_back_to_zscores(catalog, caplog):
    """A tagger that weighs a different number of kinds of evidence (an older build) is not
    misread: tags fall back to z-scores, with a warning, until the model is rebuilt."""
    from photolens.engine import tagscore
    from photolens.engine.tagger import Tagger

    dim, folder = catalog.model.dim, catalog.model.folder
    old = tagscore.TagModel(["red"], np.zeros((dim, 1), np.float32), np.zeros(1, np.float32), np.zeros(dim, np.float32),
                            np.ones(dim, np.float32), np.full(1, 0.5, np.float32), np.zeros(8), 0.5)
    old.save(folder / "old-tagger.npz")
    np.save(folder / "w.npy", np.zeros((3, dim), np.float32))
    np.save(folder / "b.npy", np.zeros(3, np.float32))
    try:
        with _model_with(catalog, tagger={"file": "old-tagger.npz"}, classifier={"weights": "w.npy", "bias": "b.npy"}), \
                caplog.at_level("WARNING", logger="photolens.tags"):
            tagger = Tagger(catalog.store, catalog.embedder, ["red", "blue", "green"])
        assert tagger.tag_model is None and "weighs 8 kinds of evidence" in caplog.text
    finally:
        for f in ("old-tagger.npz", "w.npy", "b.npy"):
            (folder / f).unlink()


@pytest.mark.e2e
def test_teaching_a_concept_from_five_examples_ranks_held_back_photos_first(coco_catalog):
    cat, classes = coco_catalog
    concept_photos = sorted(p for p, c in classes.items() if "car" in c)
    assert len(concept_photos) >= 10
    for p in concept_photos[:5]:
        cat.concepts.add_example("my car", cat.photo_id(p), True)
    proposals = cat.concepts.propose("my car", k=len(classes))
    ranked = [r.path for r in proposals]
    held_back = set(concept_photos[5:])
    ranks = [ranked.index(p) for p in held_back]
    others = [i for i, p in enumerate(ranked) if p not in held_back]
    # The held-back car photos rank above the rest on average (AUC well above chance).
    auc = np.mean([[r < o for o in others] for r in ranks])
    assert auc >= 0.75, auc
    # Rejecting a proposal refines it: that photo is no longer proposed.
    wrong = next(r for r in proposals if r.path not in held_back)
    cat.concepts.add_example("my car", wrong.id, False)
    assert wrong.id not in [r.id for r in cat.concepts.propose("my car", k=len(classes))]


@pytest.mark.e2e
def test_focus_on_cat_brings_more_cats_among_the_neighbours(coco_catalog):
    cat, classes = coco_catalog
    subject = next(p for p, c in classes.items() if "cat" in c and len(c) > 1)
    plain = cat.similar(subject, k=15)
    focused = cat.similar(subject, k=15, focus="cat")
    cats = lambda res: sum("cat" in classes.get(r.path, set()) for r in res)  # noqa: E731
    assert cats(focused) > cats(plain), (cats(focused), cats(plain))


@pytest.mark.e2e
def test_related_words_and_combined_queries(coco_catalog):
    cat, classes = coco_catalog
    related = cat.related_words("dog on the beach")
    assert related and "dog" not in related
    both = cat.search("dog + beach", k=10)
    minus = cat.search(["dog", "-", "people"], k=10)
    assert both and minus and [r.id for r in both] != [r.id for r in minus]


@pytest.mark.e2e
def test_a_library_photo_plus_words_searches_without_the_photo_itself(coco_catalog):
    """ "This photo, but at night": the photo is the subject, so it is not among the results."""
    cat, classes = coco_catalog
    subject = next(p for p, c in classes.items() if "dog" in c)
    plain = cat.search(f"image:{subject}", k=10)
    night = cat.search(["image:" + subject, "+", "at night"], k=10)
    assert plain and night
    assert subject not in {r.path for r in plain} | {r.path for r in night}
    assert [r.id for r in plain] != [r.id for r in night]


def test_imagenet_groups_map_classes_to_terms(tmp_path):
    from photolens.engine import tagscore

    spec = tmp_path / "groups.json"
    spec.write_text(json.dumps({"ranges": {"dog": [[1, 2]]}, "names": {"cat": ["tabby", "missing class"]}}))
    classes = [["tench"], ["beagle"], ["pug", "carlin"], ["tabby"], ["sorrel"]]
    m = tagscore.imagenet_groups(["dog", "cat", "sorrel", "beach"], classes, spec)
    assert m[:, 0].tolist() == [0, 1, 1, 0, 0]
    assert m[:, 1].tolist() == [0, 0, 0, 1, 0]
    assert m[:, 2].tolist() == [0, 0, 0, 0, 1]  # a term that is itself a class is its own group
    assert not m[:, 3].any()


def test_the_shipped_person_group_is_what_people_wear_and_no_animal():
    """ImageNet has no person class: "person" reads the classes of things only a person wears or
    is (a jersey, the ballplayer), never an animal's and never a thing that stands alone (a shoe
    shop, a mask on a wall)."""
    from photolens.engine import tagscore
    from photolens.engine.config import bundled_models_dir

    data = bundled_models_dir() / "data"
    classes = json.loads((data / "imagenet_classes.json").read_text())["classes"]
    words = terms()
    m = tagscore.imagenet_groups(words, [c["names"] for c in classes], data / "imagenet_groups.json")
    person = {classes[i]["names"][0] for i in np.flatnonzero(m[:, words.index("person")])}
    assert {"jersey", "suit", "ballplayer", "groom", "scuba diver", "military uniform"} <= person
    assert m[:, words.index("person")].sum() == 46  # two classes are "maillot"
    assert not m[:398, words.index("person")].any()  # ImageNet's animals
    assert not person & {"shoe shop", "mask", "sunglass", "running shoe", "lipstick"}


def test_an_edited_imagenet_groups_file_retags_as_a_new_tagger_would(tmp_path, monkeypatch):
    """The groups file is hand-made data the tagger reads: a library tagged before an edit to it
    is under another identity afterwards, so its tags are recomputed."""
    needs_builtin()
    from photolens.engine import tagger as tagger_module
    from photolens.engine.config import bundled_models_dir
    from photolens.engine.embedder import Embedder
    from photolens.engine.models import get_model

    embedder = Embedder(get_model("builtin"), "cpu")
    before = tagger_module.Tagger(None, embedder)
    shutil.copytree(bundled_models_dir() / "data", tmp_path / "data")
    spec = json.loads((tmp_path / "data" / "imagenet_groups.json").read_text())
    del spec["names"]["person"]
    (tmp_path / "data" / "imagenet_groups.json").write_text(json.dumps(spec))
    monkeypatch.setattr(tagger_module, "bundled_models_dir", lambda: tmp_path)
    after = tagger_module.Tagger(None, embedder)
    person = after.words.index("person")
    assert before._groups[:, person].any() and not after._groups[:, person].any()
    assert after.identity != before.identity


def test_stacked_tag_scores_follow_their_evidence_and_round_trip(tmp_path):
    from photolens.engine import tagscore

    rng = np.random.default_rng(0)
    words = ["dog", "cat", "beach"]
    feats = rng.standard_normal((40, 8)).astype(np.float32)
    model = tagscore.TagModel(["dog"], np.eye(8, 1, dtype=np.float32) * 4, np.zeros(1, np.float32),
                              np.zeros(8, np.float32), np.ones(8, np.float32), np.full(1, 0.5, np.float32),
                              np.zeros(tagscore.N_EVIDENCE), 0.5)
    groups = np.zeros((3, 3), np.float32)
    groups[0, 1] = 1  # class 0 stands for "cat"
    logits = rng.standard_normal((40, 3)).astype(np.float32) * 3
    z = rng.standard_normal((40, 3)).astype(np.float32)
    x = tagscore.evidence(model, words, feats, logits, groups, z)
    assert x.shape == (40, 3, tagscore.N_EVIDENCE)
    assert (x[:, 0, 1] == 1).all() and (x[:, 1:, 1] == 0).all()  # only "dog" has a caption tagger
    assert (x[:, 1, 3] == 1).all() and (x[:, [0, 2], 3] == 0).all()  # only "cat" has an ImageNet group
    # Only evidence above the base rate counts: a prior of 0.5 leaves the positive half.
    assert (x[:, 0, 0] >= 0).all() and x[feats[:, 0] > 0.5, 0, 0].min() > 0 and x[feats[:, 0] < 0, 0, 0].max() == 0
    # Labels that follow the caption tagger's feature: the fitted stacker must weigh it positively.
    y = np.zeros((40, 3), np.float32)
    y[:, 0] = feats[:, 0] > 0
    w = tagscore.fit_stacker(x, y)
    assert w[0] > 0
    p = tagscore.stacked(x, w)
    assert p[feats[:, 0] > 1, 0].mean() > p[feats[:, 0] < -1, 0].mean() + 0.3
    model.stack, model.threshold = w, 0.42
    model.save(tmp_path / "t.npz")
    back = tagscore.TagModel.load(tmp_path / "t.npz")
    assert back.terms == ["dog"] and back.threshold == 0.42
    assert np.allclose(tagscore.stacked(tagscore.evidence(back, words, feats, logits, groups, z), back.stack), p,
                       atol=1e-2)

    # Tag views: their columns hold the best view's detector evidence, and are 0 without views.
    assert not x[:, :, 8:].any()
    views = np.stack([feats * 0.5, feats], axis=1)  # [N, V=2, D]: the second view is the photo again
    view_logits = np.stack([logits * 0.5, logits], axis=1)
    xv = tagscore.evidence(model, words, feats, logits, groups, z, views, view_logits)
    assert np.allclose(xv[:, :, :8], x[:, :, :8])
    assert np.allclose(xv[:, :, 8], np.maximum(x[:, :, 0], tagscore.evidence(model, words, feats * 0.5, logits * 0.5,
                                                                             groups, z)[:, :, 0]))
    assert np.allclose(xv[:, 1, 9], np.maximum(x[:, 1, 2], tagscore.evidence(model, words, feats * 0.5, logits * 0.5,
                                                                             groups, z)[:, 1, 2]))


@pytest.mark.e2e
def test_builtin_auto_tags_name_what_the_photos_show(coco_catalog):
    """The built-in model's trained tagger: its tags for coco-mini mostly match the COCO labels."""
    cat, classes = coco_catalog
    assert cat.tagger.tag_model is not None  # the built model ships its trained tagger
    mapping = json.loads((Path(__file__).resolve().parents[1] / "models" / "data" / "vocabulary.json")
                         .read_text())["coco_map"]
    coco_terms = set(mapping.values())
    right = wrong = 0
    for path, labels in classes.items():
        truth = {mapping.get(c, c) for c in labels}
        got = {t["tag"] for t in cat.store.tags_of(cat.photo_id(path)) if t["source"] == "auto"} & coco_terms
        right += len(got & truth)
        wrong += len(got - truth)
        assert all(0 <= t["score"] <= 1 for t in cat.store.tags_of(cat.photo_id(path)) if t["source"] == "auto")
    assert right >= 60 and right / (right + wrong) >= 0.5, (right, wrong)


def test_a_damaged_tagger_file_falls_back_to_zscores(catalog, caplog):
    """A model whose trained tagger cannot be read still tags (with z-scores) and says why."""
    from photolens.engine.tagger import Tagger

    model = catalog.model
    (model.folder / "tagger.npz").write_bytes(b"not an npz")
    try:
        with _model_with(catalog, tagger={"file": "tagger.npz"},
                         classifier={"weights": "missing.npy", "bias": "missing.npy"}), \
                caplog.at_level("WARNING", logger="photolens.tags"):
            tagger = Tagger(catalog.store, catalog.embedder, ["red", "blue", "green"])
        assert tagger.tag_model is None and "cannot be read" in caplog.text
        scores = tagger.scores({"embedding": np.eye(3, model.dim, dtype=np.float32)},
                               tagger.stats(np.eye(3, model.dim, dtype=np.float32)))
        assert scores.shape == (3, 3) and np.isfinite(scores).all()
    finally:
        (model.folder / "tagger.npz").unlink()


def test_the_evidence_layout_gives_what_the_evidence_would_work_out_itself():
    """What evidence() needs of the tagger, the words and the group matrix (tagscore.layout,
    which a Tagger makes once) gives the same evidence as working it out for the batch, and a
    vocabulary in another order gets its own columns."""
    from photolens.engine import tagscore

    rng = np.random.default_rng(1)
    words = ["dog", "cat", "beach"]
    feats = rng.standard_normal((12, 8)).astype(np.float32)
    model = tagscore.TagModel(["dog", "beach"], rng.standard_normal((8, 2)).astype(np.float32),
                              np.zeros(2, np.float32), np.zeros(8, np.float32), np.ones(8, np.float32),
                              np.array([0.5, 0.2], np.float32), np.zeros(tagscore.N_EVIDENCE), 0.5)
    groups = np.zeros((3, 3), np.float32)
    groups[0, 1] = groups[2, 0] = 1
    logits = rng.standard_normal((12, 3)).astype(np.float32) * 3
    z = rng.standard_normal((12, 3)).astype(np.float32)
    x = tagscore.evidence(model, words, feats, logits, groups, z)
    lay = tagscore.layout(model, words, groups)
    assert np.array_equal(tagscore.evidence(model, words, feats, logits, groups, z, lay=lay), x)
    assert (x[:, :, tagscore.Evidence.HAS_CAPTION] == [1, 0, 1]).all()
    assert (x[:, :, tagscore.Evidence.HAS_IMAGENET] == [1, 1, 0]).all()
    order = [2, 0, 1]
    reordered = [words[i] for i in order]
    shuffled = tagscore.evidence(model, reordered, feats, logits, groups[:, order], z[:, order],
                                 lay=tagscore.layout(model, reordered, groups[:, order]))
    assert np.array_equal(shuffled, x[:, order, :])
