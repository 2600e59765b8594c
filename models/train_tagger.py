"""Train the built-in model's auto-tagger (see app/photolens/engine/tagscore.py for the method).

    .venv/bin/python models/train_tagger.py [--variant lite0]
        -> models/head/builtin-tagger-<variant>.npz   (then `make setup` / build_builtin.py ships it)

1. Labels: a vocabulary term is positive for a flickr8k-train photo when one of its five
   captions names the term, a plural, an alias or a listed synonym (CAPTION_WORDS). Terms with
   fewer than MIN_POSITIVES photos get no caption tagger (the other evidence still covers them).
2. The caption tagger: one logistic regression per term over the standardised CNN features of
   every augmented view (the cached features of models/train_head.py), trained jointly (Adam).
3. Calibration on coco-mini (with the model's tag views and detail pass, as the indexer runs
   them), COCO classes mapped to vocabulary terms: the stacker's weights, then the threshold with
   the most recall at precision >= 0.6 (at most MAX_TAGS per photo), with coco-mini's photos
   weighed as in a natural library and 80% confidence (calibration.threshold_for_precision: the
   same function `photolens eval` calibrates with).
   The stacker has a handful of weights (tagscore.N_EVIDENCE), so 159 photos calibrate it.
   The photos come through the built model's own ONNX pipeline, exactly as at run time.

flickr8k-dev is never read. coco128 is never read: it is where `photolens eval` measures.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "app"))
from train_head import DATASETS, extract_features, load_set  # noqa: E402

from photolens.engine import tagscore  # noqa: E402
from photolens.engine.captions import caption_patterns  # noqa: E402

MIN_POSITIVES = 20
def caption_labels(entries: list[dict], pats: dict[str, re.Pattern]) -> tuple[list[str], np.ndarray]:
    terms = list(pats)
    y = np.zeros((len(entries), len(terms)), np.float32)
    for i, e in enumerate(entries):
        text = " \n ".join(c.lower() for c in e["captions"])
        for j, t in enumerate(terms):
            if pats[t].search(text):
                y[i, j] = 1
    keep = [j for j in range(len(terms)) if y[:, j].sum() >= MIN_POSITIVES]
    return [terms[j] for j in keep], y[:, keep]


def train_caption_tagger(feats: np.ndarray, y: np.ndarray, steps: int, l2: float = 1e-4, lr: float = 3e-3):
    """Joint one-vs-rest logistic regression on every view (Adam, full batch)."""
    n, v, d = feats.shape
    x = feats.reshape(n * v, d).astype(np.float32)
    mu, sd = x.mean(0), x.std(0) + 1e-3
    x = (x - mu) / sd
    yr = np.repeat(y, v, axis=0)
    prior = yr.mean(0).clip(1e-4, 1 - 1e-4)
    w = np.zeros((d, y.shape[1]), np.float32)
    b = np.log(prior / (1 - prior)).astype(np.float32)
    state = {k: np.zeros_like(p) for k, p in (("mw", w), ("vw", w), ("mb", b), ("vb", b))}
    start = time.time()
    for step in range(1, steps + 1):
        p = tagscore.sigmoid(x @ w + b)
        g = (p - yr) / len(x)
        gw, gb = x.T @ g + l2 * w, g.sum(0)
        for param, grad, m, v2 in ((w, gw, "mw", "vw"), (b, gb, "mb", "vb")):
            state[m] = 0.9 * state[m] + 0.1 * grad
            state[v2] = 0.999 * state[v2] + 0.001 * grad * grad
            param -= lr * (state[m] / (1 - 0.9 ** step)) / (np.sqrt(state[v2] / (1 - 0.999 ** step)) + 1e-8)
        if step % 200 == 0:
            loss = -np.mean(yr * np.log(p + 1e-7) + (1 - yr) * np.log(1 - p + 1e-7))
            print(f"  step {step}: loss {loss:.4f} ({time.time() - start:.0f}s)", flush=True)
    return w, b, mu, sd


def cached_caption_tagger(args, feats: np.ndarray, terms: list[str], y: np.ndarray):
    """Training takes minutes, so it is cached. Each term's regression is independent of the
    others (its own loss, its own Adam state), so a cached run over more terms serves a
    vocabulary that lost some: its columns are just selected. A column is only taken where its
    labels are the ones it was trained on (a digest of each term's labels is kept with it), so
    a change to the caption words (captions.CAPTION_WORDS) trains the whole tagger again."""
    cache = HERE / ".cache" / f"caption-tagger-{args.variant}-{args.steps}-s{args.seed}.npz"
    digests = [label_digest(y[:, j]) for j in range(y.shape[1])]
    if cache.exists():
        c = np.load(cache, allow_pickle=False)
        cols = {(str(t), str(d)): j for j, (t, d) in enumerate(zip(c["terms"], c["labels"]))} if "labels" in c else {}
        if all((t, d) in cols for t, d in zip(terms, digests)):
            pick = [cols[(t, d)] for t, d in zip(terms, digests)]
            return c["w"][:, pick], c["b"][pick], c["mu"], c["sd"]
    w, b, mu, sd = train_caption_tagger(feats, y, args.steps)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, terms=np.array(terms), labels=np.array(digests), w=w, b=b, mu=mu, sd=sd)
    return w, b, mu, sd


def label_digest(column: np.ndarray) -> str:
    """A short digest of one term's labels over the training photos."""
    return hashlib.sha256(np.packbits(column > 0).tobytes()).hexdigest()[:16]


def coco_mini_outputs(model_name: str):
    """coco-mini through the built model, exactly as the indexer runs it (tag views included):
    outputs and truth per photo."""
    from photolens.engine.embedder import Embedder
    from photolens.engine.indexer import decode_photo, embed_decoded
    from photolens.engine.models import get_model

    model = get_model(model_name)
    emb = Embedder(model, "cpu")
    root = DATASETS / "coco-mini"
    entries = json.loads((root / "labels.json").read_text())["images"]
    parts = []
    for i in range(0, len(entries), 16):
        parts.append(embed_decoded(emb, [decode_photo(model, str(root / e["file"])) for e in entries[i:i + 16]]))
    return emb, {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, entries


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="lite0")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from photolens.engine.calibration import threshold_for_precision
    from photolens.engine.outputs import PhotoOutputs, detail_or_stand_in
    from photolens.engine.tagger import Tagger, vocabulary

    vocab = vocabulary()
    words = [t["term"] for t in vocab["terms"]]
    entries = load_set("flickr8k-train")
    feats, _ = extract_features(args.variant, entries, args.seed)
    terms, y = caption_labels(entries, caption_patterns(vocab))
    print(f"caption tagger: {len(terms)} terms with >= {MIN_POSITIVES} photos, {len(entries)} photos", flush=True)
    w, b, mu, sd = cached_caption_tagger(args, feats, terms, y)
    model = tagscore.TagModel(terms, w, b, mu, sd, y.mean(0), np.zeros(tagscore.N_EVIDENCE), 0.5)

    emb, out, cal = coco_mini_outputs("builtin")
    classes = json.loads((HERE / "data" / "imagenet_classes.json").read_text())["classes"]
    groups = tagscore.imagenet_groups(words, [c["names"] for c in classes], HERE / "data" / "imagenet_groups.json")
    tagger = Tagger(None, emb, words)
    # The z-scores of the tag head's embedding (of the search embedding without one), as the
    # stacker reads them at run time (Tagger.raw_scores): raw, before the shown-tags step, which
    # applies to the stacked probabilities and would rescale z-scores as if they were some.
    z = tagger.zscores(tagger.tag_embedding(out), tagger.stats(out))
    x = tagscore.evidence(model, words, out["features"], out["logits"], groups, z,
                          out.get("view_features"), out.get("view_logits"), out.get("detail_features"),
                          out.get("detail_probs"), faces=out.get("detail_faces"))
    cmap = vocab["coco_map"]
    coco_cols = sorted({words.index(t) for t in cmap.values()})
    allowed = np.zeros(len(words), bool)
    allowed[coco_cols] = True
    truth = [{cmap.get(c, c) for c in e.get("classes") or []} for e in cal]
    yc = np.array([[words[j] in tr for j in coco_cols] for tr in truth], np.float32)
    model.stack = tagscore.fit_stacker(x[:, coco_cols], yc)
    # For photos without a face score: those the detail pass has not reached (or never will, with
    # thorough tags off), so fitted where the whole photo stands in for the pass (outputs.py).
    stand_in = detail_or_stand_in(PhotoOutputs(out["embedding"], out["features"]), out["logits"])
    x_without_pass = tagscore.evidence(model, words, out["features"], out["logits"], groups, z,
                                       out.get("view_features"), out.get("view_logits"), *stand_in)
    person = coco_cols.index(words.index(tagscore.FACE_TERMS[0]))  # the one face term
    model.faceless = tagscore.fit_faceless(x_without_pass[:, coco_cols], yc, model.stack, person)
    print(f"person without a face score: logit x {model.faceless[0]:.3f} + {model.faceless[1]:.3f}", flush=True)
    probs = tagscore.stacked(x, model.stack)
    cal = threshold_for_precision(probs, truth, words, allowed, 0.6)
    model.threshold = cal.threshold
    print(f"stacker weights {np.round(model.stack, 3).tolist()}; on coco-mini: threshold {cal.threshold:.3f}, "
          f"precision {cal.precision:.3f}, recall {cal.recall:.3f} (weighed as in a natural library), "
          f"precision >= 0.6 in {cal.confidence:.0%} of resamples", flush=True)
    out_path = HERE / "head" / f"builtin-tagger-{args.variant}.npz"
    model.save(out_path)
    print(f"wrote {out_path} ({out_path.stat().st_size / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
