"""Text search corrects each photo's similarity for how close it comes to every sentence (CSLS)."""
from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest
from conftest import BUILTIN, needs_builtin, use_model, write_photo

from photolens.engine import Catalog
from photolens.engine.hubness import QueryBank, load_bank
from photolens.engine.models import read_manifest


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def test_a_photo_near_every_sentence_loses_and_a_photo_near_none_gains():
    bank = QueryBank(_unit(np.eye(4)[[0, 0, 1, 1, 2, 2]] + 0.1), k=2, weight=0.5)
    hub = _unit([1, 1, 1, 0])  # close to all the bank's sentences
    loner = _unit([0, 0, 0, 1])  # close to none
    h = bank.hub(np.stack([hub, loner]))
    assert h[0] > 0.5 > h[1]
    # k nearest: the loner's two best sentences, by hand
    sims = (np.stack([hub, loner]) @ bank.vectors.T)
    assert h[1] == pytest.approx(np.sort(sims[1])[-2:].mean(), abs=1e-6)
    corr = bank.correction(np.stack([hub, loner]), 0.5)
    assert corr[0] < 0 < corr[1]
    assert corr == pytest.approx(-0.5 * (h - 0.5), abs=1e-6)
    assert bank.mean_hub(np.stack([hub, loner])) == pytest.approx(h.mean(), abs=1e-6)
    # The hub ranked first by similarity falls behind the loner; a photo with no vector keeps its score.
    hits = [(1, 0.60), (2, 0.58), (3, 0.10)]
    ranked = bank.corrected(hits, dict(zip([1, 2], h.tolist())), 0.5)
    assert [pid for pid, _ in ranked] == [2, 1, 3]
    assert dict(ranked)[3] == 0.10 and dict(ranked)[1] == pytest.approx(0.60 + corr[0], abs=1e-6)
    assert bank.corrected(hits, {}, 0.5) == hits


def test_the_hub_score_is_the_same_in_chunks_and_the_zero_comes_from_a_sample(monkeypatch):
    import photolens.engine.hubness as hubness

    rng = np.random.default_rng(0)
    bank = QueryBank(_unit(rng.standard_normal((50, 8))))
    mat = _unit(rng.standard_normal((37, 8)))
    whole = bank.hub(mat)
    monkeypatch.setattr(hubness, "CHUNK", 5)
    assert np.allclose(bank.hub(mat), whole)
    monkeypatch.setattr(hubness, "LIBRARY_SAMPLE", 10)
    sampled = bank.mean_hub(mat)
    assert sampled != pytest.approx(whole.mean(), abs=1e-7)  # ten rows, not all 37
    assert sampled == bank.mean_hub(mat) and abs(sampled - whole.mean()) < 0.1


def _banked_model(models_dir, tmp_path, name="tinybank", sentences=("red", "red photo", "red car", "blue")):
    """A copy of the tiny model with a query bank of the tiny text model's own sentences."""
    folder = tmp_path / "models" / name
    shutil.copytree(models_dir / "tiny", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["name"] = name
    (folder / "manifest.json").write_text(json.dumps(manifest))
    from photolens.engine.embedder import Embedder

    vecs = Embedder(read_manifest(folder / "manifest.json", folder), device="cpu").embed_texts(list(sentences))
    np.save(folder / "query_bank.npy", vecs.astype(np.float16))
    manifest["query_bank"] = {"file": "query_bank.npy"}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_text_search_scores_similarity_plus_the_correction_and_image_search_does_not(
        tmp_path, models_dir, monkeypatch):
    folder = _banked_model(models_dir, tmp_path)
    monkeypatch.setenv("PHOTOLENS_MODELS", str(folder.parent))
    photos = tmp_path / "p"
    for i, color in enumerate([(220, 20, 20), (200, 60, 40), (30, 30, 220), (40, 200, 40), (120, 120, 120)]):
        write_photo(photos / f"{i}.jpg", color=color, noise=6, seed=i)
    lib = tmp_path / "lib"
    use_model(lib, "tinybank")
    cat = Catalog(lib, device="cpu")
    try:
        cat.add_folder(photos)
        cat.index_all()
        bank = cat.searcher.query_bank
        assert bank is not None and len(bank.vectors) == 4
        ids, mat = cat.store.vectors(cat.model.name)
        vec = {int(i): v for i, v in zip(ids, mat)}
        assert np.abs(bank.correction(mat, bank.mean_hub(mat))).max() > 0.02  # large enough to tell apart below
        sentence = "a red car on the beach at night"  # a sentence, not a short query naming a tag
        q = cat.searcher.text_vector(sentence)
        got = cat.search(sentence, k=5)
        assert len(got) == 5
        for r in got:  # every score: the cosine, corrected
            expected = float(vec[r.id] @ q) + float(bank.correction(vec[r.id][None], bank.mean_hub(mat))[0])
            assert r.score == pytest.approx(expected, abs=2e-3), r
        assert [r.score for r in got] == sorted((r.score for r in got), reverse=True)
        assert [r.good for r in got] == [r.score >= cat.match_threshold for r in got]
        # New photos: the library's zero and the kept hub values follow.
        for i, color in enumerate([(250, 10, 10), (10, 10, 250)]):
            write_photo(photos / f"new{i}.jpg", color=color, noise=6, seed=10 + i)
        cat.index_all()
        ids, mat = cat.store.vectors(cat.model.name)
        vec = {int(i): v for i, v in zip(ids, mat)}
        again = cat.search(sentence, k=7)
        assert len(again) == 7
        for r in again:
            expected = float(vec[r.id] @ q) + float(bank.correction(vec[r.id][None], bank.mean_hub(mat))[0])
            assert r.score == pytest.approx(expected, abs=2e-3), r
        # A photo the words find but meaning does not rank gets its meaning score the same way.
        from photolens.engine.query import parse_query

        some = [int(i) for i in ids[:3]]
        scored = cat._meaning_scores(parse_query(sentence), some)
        for pid in some:
            expected = float(vec[pid] @ q) + float(bank.correction(vec[pid][None], bank.mean_hub(mat))[0])
            assert scored[pid] == pytest.approx(expected, abs=2e-3)
        # A short query naming a tag is ranked with the tagger's evidence, not corrected.
        cat.add_tag(int(ids[-1]), "zebra")
        tagged = {r.id: r.score for r in cat.search("zebra", k=5)}
        qz = cat.searcher.text_vector("zebra")
        assert all(s == pytest.approx(float(vec[i] @ qz) + (0.5 if i == int(ids[-1]) else 0.0), abs=2e-3)
                   for i, s in tagged.items())
        # An image query is a photo, not a sentence: plain cosine.
        first = int(ids[0])
        for r in cat.similar(first, k=4):
            assert r.score == pytest.approx(float(vec[first] @ vec[r.id]), abs=2e-3)
    finally:
        cat.close()


def test_a_model_without_a_bank_or_with_a_broken_one_searches_by_similarity_alone(
        tmp_path, models_dir, caplog):
    folder = _banked_model(models_dir, tmp_path)
    np.save(folder / "query_bank.npy", np.zeros((3, 5), np.float16))  # the wrong width
    with caplog.at_level(logging.WARNING):
        assert load_bank(read_manifest(folder / "manifest.json", folder)) is None
    assert "query bank of tinybank not used" in caplog.text
    (folder / "query_bank.npy").unlink()
    assert load_bank(read_manifest(folder / "manifest.json", folder)) is None
    assert load_bank(read_manifest(models_dir / "tiny" / "manifest.json", models_dir / "tiny")) is None


def test_the_builtin_model_ships_its_bank():
    needs_builtin()
    model = read_manifest(BUILTIN, BUILTIN.parent)
    bank = load_bank(model)
    assert bank is not None
    assert bank.vectors.shape == (2000, model.dim)
    assert np.allclose(np.linalg.norm(bank.vectors, axis=1), 1, atol=1e-3)
    assert bank.k == 10 and bank.weight == 0.5


def test_a_smart_album_holds_the_good_matches_of_its_sentence_as_search_scores_them(
        tmp_path, models_dir, monkeypatch):
    folder = _banked_model(models_dir, tmp_path)
    monkeypatch.setenv("PHOTOLENS_MODELS", str(folder.parent))
    photos = tmp_path / "p"
    for i in range(12):
        write_photo(photos / f"{i}.jpg", color=(20 * i, 240 - 18 * i, (70 * i) % 255), noise=6, seed=i)
    lib = tmp_path / "lib"
    use_model(lib, "tinybank")
    sentence = "a red car on the beach at night"
    cat = Catalog(lib, device="cpu")
    try:
        cat.add_folder(photos)
        cat.index_all()
        ids, mat = cat.store.vectors(cat.model.name)
        bank = cat.searcher.query_bank
        q = cat.searcher.text_vector(sentence)
        raw = mat @ q
        corrected = raw + bank.correction(mat, bank.mean_hub(mat))
        # A cut-off where the correction changes who is in: between the 6th and 7th corrected.
        cut = float(np.sort(corrected)[::-1][5:7].mean())
        assert set(ids[corrected >= cut].tolist()) != set(ids[raw >= cut].tolist())
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest["match_threshold"] = cut
        (folder / "manifest.json").write_text(json.dumps(manifest))
        cat.use_model("tinybank")  # reads the manifest again
        good = {r.id for r in cat.search(sentence, k=100) if r.good}
        assert good == set(ids[corrected >= cut].tolist()) and len(good) == 6
        cat.albums.create("night cars", query=sentence)
        assert {p.id for p in cat.albums.get("night cars").photos} == good
    finally:
        cat.close()


def test_warm_up_takes_the_librarys_hub_zero_before_the_first_sentence(tmp_path, models_dir, monkeypatch):
    folder = _banked_model(models_dir, tmp_path)
    monkeypatch.setenv("PHOTOLENS_MODELS", str(folder.parent))
    photos = tmp_path / "p"
    for i, color in enumerate([(220, 20, 20), (30, 30, 220), (40, 200, 40)]):
        write_photo(photos / f"{i}.jpg", color=color, noise=6, seed=i)
    lib = tmp_path / "lib"
    use_model(lib, "tinybank")
    with Catalog(lib, device="cpu") as cat:
        cat.add_folder(photos)
        cat.index_all()
    with Catalog(lib, device="cpu") as cat:  # a new session: nothing kept
        assert cat.searcher._hub_zero is None
        cat.warm_up()
        ids, mat = cat.store.vectors(cat.model.name)
        model, n, zero = cat.searcher._hub_zero
        assert (model, n) == ("tinybank", 3)
        assert zero == pytest.approx(cat.searcher.query_bank.mean_hub(mat), abs=1e-3)
        sampled = []
        monkeypatch.setattr(cat.index, "sample", lambda n: sampled.append(n))
        cat.search("a red car on the beach at night", k=3)
        assert not sampled  # the first sentence found the zero taken
