"""What the face detector costs the tag detail pass, against the pass without it, in the same run.

    .venv/bin/python bench/face_evidence.py [--photos 64] [--rounds 5] [--json]

The built-in model's detail pass (models/builtin/detail.onnx) carries CenterFace beside the CNN
(models/face_detector.py). The baseline is the same file cut down to the CNN's outputs
(onnx.utils.extract_model: the face branch left out), so both run the same CNN on the same
batches. Real photos (coco128, as the indexer prepares them at 448 px), batches of 16, both
sessions on the engine's CPU settings (Embedder), alternating round by round; each figure is the
best round. Reports ms a photo for each and `ratio` = with faces / without (lower is better).
One JSON line last.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from common import emit

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "datasets" / "coco128"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import onnx.utils

    from photolens.engine.embedder import Embedder, OrtSession
    from photolens.engine.imaging import decode_for_model
    from photolens.engine.models import get_model

    model = get_model("builtin")
    spec = model.tag_detail
    if spec is None or spec.faces is None:
        raise SystemExit("the built-in model's detail pass has no face detector: run make setup")
    entries = json.loads((PHOTOS / "labels.json").read_text())["images"][:args.photos]
    pixels = np.stack([decode_for_model(str(PHOTOS / e["file"]), model.preprocess, (), spec.size).detail
                       for e in entries])
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "detail-without-faces.onnx"
        onnx.utils.extract_model(str(model.file(spec.file)), str(plain), [spec.input], [spec.features, spec.probs])
        with_faces = Embedder(model, "cpu")
        without = Embedder(model, "cpu")
        without._detail = OrtSession(plain, "cpu", threads=1)  # the session `detail` hands out
        without_spec = replace(spec, faces=None)  # the baseline has the CNN's two outputs only

        def timed(emb: Embedder, detail_spec) -> float:
            start = time.perf_counter()
            for i in range(0, len(pixels), 16):
                _run(emb, detail_spec, pixels[i:i + 16])
            return (time.perf_counter() - start) * 1e3 / len(pixels)

        timed(with_faces, spec), timed(without, without_spec)  # warm both
        best_with, best_without = np.inf, np.inf
        for _ in range(args.rounds):
            best_with = min(best_with, timed(with_faces, spec))
            best_without = min(best_without, timed(without, without_spec))
    report = {"photos": len(pixels), "rounds": args.rounds, "ms_per_photo_with_faces": round(best_with, 2),
              "ms_per_photo_without": round(best_without, 2), "ratio": round(best_with / best_without, 3)}
    print(f"detail pass: {best_with:.1f} ms a photo with the face detector, {best_without:.1f} without "
          f"(ratio {report['ratio']})")
    emit(report, args.json)


def _run(emb, spec, chunk: np.ndarray) -> None:
    """One batch through the detail session, as Embedder.embed_detail runs it (in CPU chunks)."""
    names = [spec.features, spec.probs] + ([spec.faces] if spec.faces else [])
    sess = emb.detail

    def run(part: np.ndarray, release: bool) -> dict[str, np.ndarray]:
        return dict(zip(names, sess.run(names, {spec.input: np.ascontiguousarray(part, np.float32)}, release)))

    emb._in_chunks(sess, run, chunk, False)


if __name__ == "__main__":
    main()
