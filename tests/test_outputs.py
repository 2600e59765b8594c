"""PhotoOutputs: a model's outputs per photo round-trip through a real library database, with
the whole photo standing in for what a photo was indexed without."""
from __future__ import annotations

import numpy as np
import pytest

from photolens.engine.outputs import DETAIL_KINDS, PhotoOutputs
from photolens.engine.store import Store
from photolens.engine.tagscore import Evidence, N_EVIDENCE, evidence_matrix, softmax

N_VIEWS, DIM, CLASSES = 2, 6, 5


@pytest.fixture
def store_with_photos(tmp_path):
    store = Store(tmp_path / "library.db")
    folder = store.add_folder(str(tmp_path))
    with store.transaction():
        ids = [store.add_photo(folder, str(tmp_path / f"{i}.jpg"), 1, 1) for i in range(3)]
    yield store, ids
    store.close()


def _outputs(n: int, rng: np.random.Generator) -> PhotoOutputs:
    f32 = np.float32
    return PhotoOutputs(embedding=rng.normal(size=(n, 4)).astype(f32), features=rng.normal(size=(n, DIM)).astype(f32),
                        logits=rng.normal(size=(n, CLASSES)).astype(f32),
                        view_features=rng.normal(size=(n, N_VIEWS, DIM)).astype(f32),
                        view_logits=rng.normal(size=(n, N_VIEWS, CLASSES)).astype(f32),
                        detail_features=rng.normal(size=(n, DIM)).astype(f32),
                        detail_probs=softmax(rng.normal(size=(n, CLASSES))).astype(f32),
                        detail_faces=rng.random((n, 1)).astype(f32))


def test_outputs_round_trip_with_views_reshaped_and_logits_left_out(store_with_photos):
    store, ids = store_with_photos
    out = _outputs(3, np.random.default_rng(0))
    with store.transaction():
        out.save(store, "m", ids)
    kinds = {k for (k,) in store.query("SELECT DISTINCT kind FROM vectors")}
    assert kinds == {"embedding", "features", "view_features", *DETAIL_KINDS}  # logits are recomputed
    weights, bias = np.zeros((CLASSES, DIM), np.float32), np.zeros(CLASSES, np.float32)
    got_ids, back = PhotoOutputs.load(store, "m", ids, with_features=True, n_views=N_VIEWS,
                                      detail_classifier=(weights, bias))
    assert got_ids == ids
    assert back.view_features.shape == (3, N_VIEWS, DIM) and back.logits is None
    for kind in ("embedding", "features", "view_features", *DETAIL_KINDS):
        # float16 storage; a non-negative vector of the tagger's inputs: one byte a value (vecblob.py)
        np.testing.assert_allclose(back[kind], out[kind], atol=2e-3 if kind == "embedding" else 2e-2)


def test_a_photo_without_views_or_detail_has_its_whole_photo_standing_in(store_with_photos):
    store, ids = store_with_photos
    out = _outputs(3, np.random.default_rng(1))
    with store.transaction():
        out.save(store, "m", ids)
        store.execute("DELETE FROM vectors WHERE photo_id = ? AND kind IN "
                      "('view_features', 'detail_features', 'detail_probs')", [ids[1]])
    rng = np.random.default_rng(2)
    weights, bias = rng.normal(size=(CLASSES, DIM)).astype(np.float32), rng.normal(size=CLASSES).astype(np.float32)
    _, back = PhotoOutputs.load(store, "m", ids, with_features=True, n_views=N_VIEWS, detail_classifier=(weights, bias))
    np.testing.assert_allclose(back.view_features[1], np.repeat(back.features[1][None], N_VIEWS, 0))
    np.testing.assert_allclose(back.detail_features[1], back.features[1])
    np.testing.assert_allclose(back.detail_probs[1], softmax(back.features[1] @ weights.T + bias), rtol=1e-5)
    np.testing.assert_allclose(back.detail_probs[0], out.detail_probs[0], atol=2e-3)  # the others keep theirs


def test_a_photo_without_a_face_score_has_nan_there_and_no_stand_in(store_with_photos):
    store, ids = store_with_photos
    out = _outputs(3, np.random.default_rng(3))
    with store.transaction():
        out.save(store, "m", ids)
        store.execute("DELETE FROM vectors WHERE photo_id = ? AND kind = 'detail_faces'", [ids[2]])
    weights, bias = np.zeros((CLASSES, DIM), np.float32), np.zeros(CLASSES, np.float32)
    _, back = PhotoOutputs.load(store, "m", ids, with_features=True, detail_classifier=(weights, bias))
    assert back.detail_faces.shape == (3, 1) and np.isnan(back.detail_faces[2, 0])
    np.testing.assert_allclose(back.detail_faces[:2], out.detail_faces[:2], atol=1e-3)


def test_photos_without_an_embedding_are_left_out_and_the_mapping_view_lists_what_is_there(store_with_photos):
    store, ids = store_with_photos
    out = PhotoOutputs(np.eye(2, 4, dtype=np.float32))
    with store.transaction():
        out.save(store, "m", ids[:2])
    got_ids, back = PhotoOutputs.load(store, "m", ids)
    assert got_ids == ids[:2] and list(back) == ["embedding"] and back.features is None
    assert PhotoOutputs.load(store, "m", [ids[2]])[1].count == 0
    with pytest.raises(KeyError):
        back["features"]
    assert list(PhotoOutputs.of({"embedding": out.embedding, "features": out.embedding}).take([1])) == \
        ["embedding", "features"]


def test_evidence_columns_are_built_by_name_in_the_stored_order():
    assert N_EVIDENCE == 15 and Evidence.BIAS == 7 and Evidence.CAPTION_PRIOR == 12 and Evidence.FACE_SEEN == N_EVIDENCE - 1
    x = evidence_matrix({Evidence.BIAS: 1, Evidence.ZSCORE: np.arange(6, dtype=np.float32).reshape(2, 3)}, 2, 3)
    assert x.shape == (2, 3, N_EVIDENCE) and (x[:, :, 7] == 1).all()
    assert x[1, 2, 4] == 5 and x[:, :, [i for i in range(N_EVIDENCE) if i not in (4, 7)]].sum() == 0
