"""Stored vectors: float16 embeddings, one byte a value for the tagger's inputs, old blobs read."""
from __future__ import annotations

import numpy as np
import pytest

from photolens.engine.vecblob import COMPACT_KINDS, decode, decode_many, encode


@pytest.mark.parametrize("dim", [1280, 1000, 7])
def test_a_compact_blob_is_one_byte_a_value_and_round_trips_within_its_step(dim):
    rng = np.random.default_rng(dim)
    v = (rng.gamma(0.5, 1.0, dim) * rng.random(dim)).astype(np.float32)  # non-negative, heavy-tailed
    blob = encode("features", v)
    assert len(blob) % 2 == 1 and len(blob) <= dim + 6
    back = decode(blob)
    assert back.shape == (dim,)
    step = 2 * np.sqrt(v * v.max()) / 255 + v.max() / 255 ** 2  # one step on the square-root scale
    assert np.all(np.abs(back - v) <= step + 1e-6)
    assert back.argmax() == v.argmax() and decode(encode("features", np.zeros(dim)))[0] == 0


def test_embeddings_and_vectors_with_negative_values_stay_float16():
    v = np.array([0.5, -0.25, 0.125], np.float32)
    for kind in ("embedding", "features"):
        blob = encode(kind, v)
        assert len(blob) == 6 and np.array_equal(decode(blob), v)
    assert len(encode("embedding", np.ones(4))) == 8 and "embedding" not in COMPACT_KINDS


def test_blobs_written_before_compact_storage_read_unchanged_beside_new_ones():
    old = np.array([[1.0, 2.0, 0.5, 0.0], [3.0, 0.25, 0.0, 1.0]], np.float32)
    blobs = [old[0].astype(np.float16).tobytes(), encode("detail_probs", old[1])]
    mat = decode_many(blobs)
    assert mat.shape == (2, 4) and np.array_equal(mat[0], old[0])
    np.testing.assert_allclose(mat[1], old[1], atol=0.03)
    assert np.array_equal(decode_many(blobs[:1] * 3), np.tile(old[:1], (3, 1)))


def test_an_unknown_format_is_an_error_not_garbage():
    with pytest.raises(ValueError):
        decode(b"\x09" + b"\0" * 8)


def test_many_compact_blobs_decode_in_one_step_as_one_by_one():
    rng = np.random.default_rng(3)
    vecs = rng.gamma(0.5, 1.0, (50, 1280)).astype(np.float32)
    blobs = [encode("features", v) for v in vecs]
    assert np.array_equal(decode_many(blobs), np.stack([decode(b) for b in blobs]))
    odd = [encode("detail_probs", v) for v in rng.random((4, 7)).astype(np.float32)]  # padded blobs
    assert np.array_equal(decode_many(odd), np.stack([decode(b) for b in odd]))
