"""Tiny real ONNX models for unit tests, made with onnx.helper.

The image model averages the picture over a 4x4 grid of colour cells and projects those 48
numbers with a fixed random matrix, so similar-looking images get similar vectors. The text
model averages per-token vectors from a word-level tokenizer. Both are real ONNX Runtime
sessions, built in milliseconds.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WORDS = ["[PAD]", "[UNK]", "red", "green", "blue", "dog", "cat", "beach", "night", "car", "photo", "a", "of",
         "the", "on", "people", "sunset", "tree", "white", "black"]
SIZE = 32
DIM = 16


def _save(graph, path: Path, opset: int = 17) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def color_projection(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((3 * 16, DIM)).astype(np.float32)


def make_visual(path: Path, batch: int | str = "N", input_name: str = "image", with_features: bool = False,
                seed: int = 0) -> None:
    w = color_projection(seed)
    nodes = [
        helper.make_node("AveragePool", [input_name], ["pooled"], kernel_shape=[SIZE // 4, SIZE // 4],
                         strides=[SIZE // 4, SIZE // 4]),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["embedding"]),
    ]
    outputs = [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, DIM])]
    if with_features:
        nodes.append(helper.make_node("Identity", ["flat"], ["features"]))
        outputs.append(helper.make_tensor_value_info("features", TensorProto.FLOAT, [batch, 48]))
    graph = helper.make_graph(
        nodes, "tiny_visual",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [batch, 3, SIZE, SIZE])],
        outputs, [numpy_helper.from_array(w, "W")])
    _save(graph, path)


def make_textual(path: Path, batch: int | str = "N", length: int | str = "L", input_name: str = "input_ids",
                 dtype=TensorProto.INT64, seed: int = 1) -> None:
    table = np.random.default_rng(seed).standard_normal((len(WORDS), DIM)).astype(np.float32)
    table[0] = 0  # padding adds nothing
    nodes = []
    ids = input_name
    if dtype != TensorProto.INT64:
        nodes.append(helper.make_node("Cast", [input_name], ["ids64"], to=TensorProto.INT64))
        ids = "ids64"
    nodes += [
        helper.make_node("Gather", ["table", ids], ["vecs"], axis=0),
        helper.make_node("ReduceSum", ["vecs", "axes"], ["embedding"], keepdims=0),
    ]
    graph = helper.make_graph(
        nodes, "tiny_textual",
        [helper.make_tensor_value_info(input_name, dtype, [batch, length])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [batch, DIM])],
        [numpy_helper.from_array(table, "table"), numpy_helper.from_array(np.array([1], np.int64), "axes")])
    _save(graph, path)


def make_tokenizer(path: Path) -> None:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(path))


def make_tiny_model(folder: Path, name: str = "tiny") -> Path:
    """Our own layout: manifest.json, dynamic batch."""
    make_visual(folder / "visual.onnx", with_features=True)
    make_textual(folder / "textual.onnx")
    make_tokenizer(folder / "tokenizer.json")
    manifest = {
        "name": name, "family": "builtin", "title": "Tiny test model", "dim": DIM, "license": "test",
        "visual": {"file": "visual.onnx", "input": "image", "outputs": {"embedding": "embedding", "features": "features"}},
        "textual": {"file": "textual.onnx", "inputs": {"input_ids": "input_ids"}, "output": "embedding",
                    "tokenizer": "tokenizer.json", "context_length": 16},
        "preprocess": {"size": SIZE, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25], "resize_mode": "squash"},
        "files": [],
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def make_immich_clip(folder: Path) -> Path:
    """A randomly initialised CLIP-shaped model in Immich's layout: batch fixed at 1, text int32 [1, 77]."""
    make_visual(folder / "visual" / "model.onnx", batch=1, seed=3)
    make_textual(folder / "textual" / "model.onnx", batch=1, length=77, input_name="text", dtype=TensorProto.INT32)
    make_tokenizer(folder / "textual" / "tokenizer.json")
    (folder / "textual" / "tokenizer_config.json").write_text(json.dumps({"pad_token": "[PAD]"}))
    (folder / "visual" / "preprocess_cfg.json").write_text(json.dumps(
        {"size": [SIZE, SIZE], "mode": "RGB", "mean": [0.48, 0.46, 0.41], "std": [0.27, 0.26, 0.28],
         "interpolation": "bicubic", "resize_mode": "shortest", "fill_color": 0}))
    (folder / "config.json").write_text(json.dumps({"embed_dim": DIM, "text_cfg": {"context_length": 77}}))
    return folder
