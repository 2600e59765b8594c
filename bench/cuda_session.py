"""The built-in model's image graphs on CUDA under each of cuDNN's ways to choose convolution
algorithms, measured in the same run.

    .venv/bin/python bench/cuda_session.py [--json]

ONNX Runtime's CUDA provider tries every convolution algorithm (EXHAUSTIVE) the first time a
session sees an input size, and keeps the fastest. A library's batches come in many sizes (the
pipeline's 32, every remainder, the watcher's few), so that first run is paid again and again;
HEURISTIC asks cuDNN for its guess instead, DEFAULT takes the first algorithm. For each way and
each graph (the search model at 224 px, the tag detail pass at 448 px):
  load_ms        creating the session
  first_ms       the first batch of 32 (the choice is made then)
  ms_per_photo   the best of ten batches of 32 after it (the GPU's wall time, inputs copied in)
  new_size_ms    the first batch of another size (7) after that
One JSON line last.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from common import emit

SEARCHES = ("EXHAUSTIVE", "HEURISTIC", "DEFAULT")


def measure(path: str, input_name: str, size: int, search: str) -> dict:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    t = time.perf_counter()
    sess = ort.InferenceSession(path, opts, providers=[("CUDAExecutionProvider", {"cudnn_conv_algo_search": search}),
                                                       "CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t) * 1e3
    if sess.get_providers()[0] != "CUDAExecutionProvider":
        raise SystemExit(f"{path} does not run on CUDA here: {sess.get_providers()}")
    rng = np.random.default_rng(0)

    def run(n: int) -> float:
        x = rng.standard_normal((n, 3, size, size), dtype=np.float32)
        t = time.perf_counter()
        sess.run(None, {input_name: x})
        return (time.perf_counter() - t) * 1e3

    first = run(32)
    steady = min(run(32) for _ in range(10)) / 32
    return {"load_ms": round(load_ms, 1), "first_ms": round(first, 1), "ms_per_photo": round(steady, 3),
            "new_size_ms": round(run(7), 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from photolens.engine.embedder import preload_cuda_libraries
    from photolens.engine.models import get_model

    preload_cuda_libraries()  # as the engine does before its first CUDA session
    model = get_model("builtin")
    graphs = {"search_224": (str(model.file(model.visual["file"])), model.visual.get("input", "image"),
                             model.preprocess.size)}
    if model.tag_detail is not None:
        spec = model.tag_detail
        graphs["detail_448"] = (str(model.file(spec.file)), spec.input, spec.size)
    result = {name: {search: measure(*graph, search) for search in SEARCHES} for name, graph in graphs.items()}
    emit(result, args.json)


if __name__ == "__main__":
    main()
