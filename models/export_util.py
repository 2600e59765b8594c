"""ONNX export helpers for the model-building scripts (torch is allowed here)."""
from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import torch

from builtin_parts import Backbone, LITE_VARIANTS, load_backbone, load_text_encoder

OPSET = 17


def export(module: torch.nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str],
           dynamic: dict[str, dict[int, str]]) -> Path:
    """Export with the TorchScript exporter: it handles these plain CNN/BERT graphs, needs no
    extra packages, and gives dynamic batch axes directly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(tmp), input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)
    tmp.replace(path)
    return path


def export_backbone(variant: str, path: Path) -> Path:
    size = LITE_VARIANTS[variant]
    backbone = Backbone(load_backbone(variant)).eval()
    dummy = torch.zeros(2, 3, size, size)
    return export(backbone, (dummy,), path, ["image"], ["features", "logits"],
                  {"image": {0: "batch"}, "features": {0: "batch"}, "logits": {0: "batch"}})


def export_text(path: Path) -> Path:
    encoder = load_text_encoder()
    ids = torch.ones(2, 8, dtype=torch.int64)
    mask = torch.ones(2, 8, dtype=torch.int64)
    return export(encoder, (ids, mask), path, ["input_ids", "attention_mask"], ["embedding"],
                  {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
                   "embedding": {0: "batch"}})


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class OnnxText:
    """Encodes sentences with the exported text model (used while training and building)."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, max_tokens: int = 128):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        self.tok = Tokenizer.from_file(str(tokenizer_path))
        self.tok.enable_truncation(max_tokens)
        self.tok.enable_padding()

    def encode(self, texts: list[str], batch: int = 128) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch):
            enc = self.tok.encode_batch(texts[i:i + batch])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            out.append(self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0])
        return np.concatenate(out).astype(np.float32)
