"""Calibrate a model's match cut-off (`match_threshold` in its manifest template).

A search result is a "good match" when its score reaches the cut-off. The cut-off is chosen on
training photos only (a seeded sample of flickr8k-train), against nonsense queries generated
here (random letter strings and lone function words): it is the score that the best photo of
the sample reaches for only NONSENSE_PASS_RATE of them. Measured afterwards, never tuned, on
flickr8k-dev by `photolens eval` (nonsense queries from models/data/nonsense_queries.json, a
separate hand-written list, and how often a caption's own photo is a good match).

    .venv/bin/python models/calibrate_cutoff.py [--photos 1000] [--write]

Text search corrects scores for hubs (app/photolens/engine/hubness.py) when the model has a
query bank: the cut-off is chosen on corrected scores, as search gives them.

Without --write it prints the figures; with it, the template's match_threshold is updated (models/builtin.json; rebuild the model afterwards: models/build_builtin.py).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import string
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))

from photolens.engine.evaluate import index_dataset, load_labels  # noqa: E402
from photolens.engine.hubness import load_bank  # noqa: E402

TRAIN = ROOT.parent / "shared" / "datasets" / "flickr8k-train"
TEMPLATE = ROOT / "models" / "builtin.json"
# Share of nonsense queries allowed a good match in a library the size of the sample: a user
# typing nonsense should almost always hear "no good matches". The best score a nonsense query
# reaches grows with the library, about 0.012 for each doubling (subsamples of 80 to 659 photos of
# coco-mini and flickr8k-dev, the 1-5% quantiles alike), and the smallest libraries Photolens is
# for hold 5,000 photos, five times the sample: 1% here is about 5% there. (It was 5% here:
# 0.271 where 1% gives 0.294 with the five-head search head.)
NONSENSE_PASS_RATE = 0.01
FUNCTION_WORDS = ["the", "a", "an", "of", "and", "or", "is", "it", "to", "in", "on", "with", "at", "for",
                  "this", "that", "some", "my", "very", "just"]


def nonsense(n: int, seed: int = 0) -> list[str]:
    """Queries that mean nothing: pseudo-words of random letters, alone or in twos and threes,
    and strings of function words."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 9)))

    out = [" ".join(word() for _ in range(rng.randint(1, 3))) for _ in range(n - n // 5)]
    out += [" ".join(rng.sample(FUNCTION_WORDS, rng.randint(1, 3))) for _ in range(n // 5)]
    return out


def calibrate(photos: int, seed: int) -> dict:
    entries = load_labels(TRAIN)
    sample = random.Random(seed).sample(entries, min(photos, len(entries)))
    with tempfile.TemporaryDirectory() as tmp:
        subset = Path(tmp) / "set"
        (subset / "images").mkdir(parents=True)
        for e in sample:
            shutil.copy(TRAIN / e["file"], subset / "images" / Path(e["file"]).name)
        (subset / "labels.json").write_text(json.dumps({"images": [
            dict(e, file="images/" + Path(e["file"]).name) for e in sample]}))
        cat = index_dataset(subset, Path(tmp) / "lib", None, "cpu")
        try:
            _, mat = cat.store.vectors(cat.model.name)
            bank = load_bank(cat.model)
            # Search scores text queries with the hub correction (hubness.py), whose zero is the
            # library's mean hub value: the cut-off is set on that scale.
            shift = bank.correction(mat, bank.mean_hub(mat)) if bank else 0.0
            queries = nonsense(400, seed)
            best = np.array([float((mat @ cat.embedder.embed_text(q) + shift).max()) for q in queries])
            model = cat.model.name
        finally:
            cat.close()
    cut = float(np.quantile(best, 1 - NONSENSE_PASS_RATE))
    others = {str(rate): round(float(np.quantile(best, 1 - rate)), 3) for rate in (0.01, 0.02, 0.05, 0.1)}
    return {"model": model, "photos": len(sample), "nonsense_queries": len(best),
            "match_threshold": round(cut, 3), "threshold_by_pass_rate": others, "nonsense_best_median": round(float(np.median(best)), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="update match_threshold in models/builtin.json")
    args = ap.parse_args()
    result = calibrate(args.photos, args.seed)
    if args.write:
        template = json.loads(TEMPLATE.read_text())
        template["match_threshold"] = result["match_threshold"]
        TEMPLATE.write_text(json.dumps(template, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
