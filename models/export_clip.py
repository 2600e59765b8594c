"""Export an open_clip model to ONNX for Photolens: dynamic batch, normalised outputs.

    pip install open_clip_torch torch==2.13.0
    python models/export_clip.py ViT-B-32 openai --out ~/clip-vit-b32
    photolens models import ~/clip-vit-b32

Writes visual.onnx and textual.onnx (batch axis dynamic; outputs L2-normalised), the
tokenizer, and manifest.json with the model's own preprocessing. Needs torch and open_clip and
network access to fetch the weights, so it runs on a machine that has them; Photolens itself
only reads the result.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_util import export, sha256  # noqa: E402


class _Visual(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, image):
        return torch.nn.functional.normalize(self.model.encode_image(image), dim=-1)


class _Textual(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, text):
        return torch.nn.functional.normalize(self.model.encode_text(text), dim=-1)


def main() -> None:
    import open_clip

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("arch")
    ap.add_argument("pretrained")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--name")
    args = ap.parse_args()
    model, _, preprocess = open_clip.create_model_and_transforms(args.arch, pretrained=args.pretrained)
    model.eval()
    cfg = model.visual.preprocess_cfg if hasattr(model.visual, "preprocess_cfg") else {}
    size = cfg.get("size", model.visual.image_size)
    size = size[0] if isinstance(size, (list, tuple)) else size
    context = model.context_length
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    export(_Visual(model), (torch.zeros(2, 3, size, size),), out / "visual.onnx", ["image"], ["embedding"],
           {"image": {0: "batch"}, "embedding": {0: "batch"}})
    export(_Textual(model), (torch.zeros(2, context, dtype=torch.int64),), out / "textual.onnx", ["text"],
           ["embedding"], {"text": {0: "batch"}, "embedding": {0: "batch"}})
    tok = open_clip.get_tokenizer(args.arch)
    hf = getattr(tok, "tokenizer", None)
    if hf is not None and hasattr(hf, "save_pretrained"):
        hf.save_pretrained(str(out / "tok"))
        shutil.copy(out / "tok" / "tokenizer.json", out / "tokenizer.json")
        shutil.rmtree(out / "tok")
    else:
        raise SystemExit("this tokenizer has no tokenizer.json form; use an Immich export of the model instead")
    name = args.name or f"{args.arch}__{args.pretrained}".lower()
    manifest = {
        "name": name, "family": "clip", "title": f"{args.arch} ({args.pretrained})", "dim": int(model.text_projection.shape[1]),
        "license": "see the model card", "source": {"export": f"models/export_clip.py {args.arch} {args.pretrained}"},
        "visual": {"file": "visual.onnx", "input": "image", "outputs": {"embedding": "embedding"}, "batch": "dynamic"},
        "textual": {"file": "textual.onnx", "inputs": {"input_ids": "text"}, "output": "embedding",
                    "tokenizer": "tokenizer.json", "context_length": context, "pad_to_context": True,
                    "pad_token": "<|endoftext|>", "input_dtype": "int64", "batch": "dynamic"},
        "preprocess": {"size": size, "mean": list(cfg.get("mean", (0.48145466, 0.4578275, 0.40821073))),
                       "std": list(cfg.get("std", (0.26862954, 0.26130258, 0.27577711))),
                       "resize_mode": cfg.get("resize_mode", "shortest"),
                       "interpolation": cfg.get("interpolation", "bicubic")},
    }
    manifest["files"] = [{"path": p.name, "sha256": sha256(p), "size": p.stat().st_size}
                         for p in sorted(out.iterdir()) if p.name != "manifest.json"]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(f"exported {name} to {out}")


if __name__ == "__main__":
    main()
