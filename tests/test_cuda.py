"""The CUDA execution provider, on a machine that has one.

CI and most development machines have no NVIDIA GPU: there these tests are skipped, each with
its reason in pytest's summary (never silently). They ran on a GPU machine lent for a session
(README: "On an NVIDIA GPU"); the CPU fallback when CUDA is missing is tested in test_trust.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import needs_builtin, write_photo
from photolens.engine import Catalog
from photolens.engine.embedder import CUDA, Embedder, available_providers
from photolens.engine.indexer import decode_photo, embed_decoded
from photolens.engine.models import get_model



def _cuda_starts() -> bool:
    """Whether a CUDA session really starts here: the GPU build of ONNX Runtime lists its CUDA
    provider on any machine, also one without a GPU or its driver."""
    if CUDA not in available_providers():
        return False
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from photolens.engine.embedder import preload_cuda_libraries

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    preload_cuda_libraries()
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=[CUDA])
    except Exception:  # no GPU, no driver, no CUDA libraries: ONNX Runtime's own errors
        return False
    return session.get_providers()[0] == CUDA


pytestmark = pytest.mark.skipif(not _cuda_starts(),
                                reason="no CUDA session starts here (onnxruntime-gpu, an NVIDIA GPU and its driver)")


def _photos(folder: Path, n: int = 6) -> list[Path]:
    colours = [(200, 30, 30), (30, 160, 40), (40, 60, 210), (230, 210, 40), (20, 20, 20), (240, 240, 240)]
    return [write_photo(folder / f"p{i}.jpg", colours[i % len(colours)], size=(640, 480), noise=25, seed=i)
            for i in range(n)]


def test_the_builtin_model_gives_the_same_outputs_on_cuda_as_on_the_cpu(tmp_path):
    needs_builtin()
    model = get_model("builtin")
    decoded = [decode_photo(model, str(p)) for p in _photos(tmp_path)]
    on_cpu = embed_decoded(Embedder(model, "cpu"), decoded)
    gpu = Embedder(model, "cuda")
    on_gpu = embed_decoded(gpu, decoded)
    assert gpu.device_name == "cuda" and gpu.warnings == []
    # The same vectors up to float rounding (cuDNN sums in another order): search, similar
    # photos and tags cannot tell the devices apart.
    assert np.min(np.sum(on_cpu.embedding * on_gpu.embedding, axis=1)) > 0.999
    np.testing.assert_allclose(on_gpu.detail_probs, on_cpu.detail_probs, atol=2e-3)
    assert list(np.argmax(on_gpu.logits, axis=1)) == list(np.argmax(on_cpu.logits, axis=1))


def test_a_library_on_cuda_indexes_searches_and_says_where_it_runs(tmp_path):
    needs_builtin()
    folder = tmp_path / "photos"
    _photos(folder, 8)
    cat = Catalog(tmp_path / "lib", device="cuda", model="builtin")
    try:
        cat.add_folder(folder)
        summary = cat.index_all(faces=False)
        assert summary["embedded"] == 8 and summary["failed"] == 0
        status = cat.status()
        assert (status.device, status.provider) == ("cuda", CUDA)
        assert cat.embedder.warnings == []  # (the text reader's own are not this test's)
        assert len(cat.search("a red photo", k=8)) > 0
    finally:
        cat.close()
