"""How SAME_PERSON_DISTANCE was chosen: the clustering rule of engine/people.py replayed on
faces-dev's face vectors for several thresholds and arrival orders.

    python bench/faces_threshold.py [--json] [--orders 3]

Faces are found once (FaceFinder); then, for each threshold and each shuffled order, faces
arrive one at a time: a face joins the person of its nearest grouped face under the threshold,
else starts a person with its nearest ungrouped face under it, and ungrouped faces within the
threshold of it join too (People._cluster, without the database). Labels as in bench/faces.py:
the largest face of a photo naming one person carries that name. The last line is JSON.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random

import numpy as np
from common import DATASETS, emit

from photolens.engine.faces import FaceFinder  # noqa: E402 (common puts app/ on the path)

THRESHOLDS = (0.44, 0.46, 0.48, 0.50, 0.52, 0.55, 0.60)


def cluster(vecs: np.ndarray, photo: np.ndarray, order: list[int], t: float) -> np.ndarray:
    person = np.full(len(vecs), -1)
    seen: list[int] = []
    next_id = 0
    for i in order:
        if seen:
            s = np.array(seen)
            d = np.linalg.norm(vecs[s] - vecs[i], axis=1)
            other = photo[s] != photo[i]
            grouped = (person[s] >= 0) & other
            if grouped.any() and d[np.where(grouped, d, np.inf).argmin()] < t:
                person[i] = person[s[np.where(grouped, d, np.inf).argmin()]]
            alone = (person[s] < 0) & other
            if person[i] < 0 and alone.any() and d[np.where(alone, d, np.inf).argmin()] < t:
                person[i] = next_id
                next_id += 1
            if person[i] >= 0:
                person[s[alone & (d < t)]] = person[i]
        seen.append(i)
    return person


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--orders", type=int, default=3)
    args = ap.parse_args()
    root = DATASETS / "faces-dev"
    finder = FaceFinder()
    vecs, photo, label = [], [], []
    for k, e in enumerate(json.loads((root / "labels.json").read_text())["images"]):
        faces = finder.find(str(root / e["file"])).faces
        main_face = max(range(len(faces)), key=lambda j: (faces[j].box[2] - faces[j].box[0]) *
                        (faces[j].box[3] - faces[j].box[1])) if faces and len(e["people"]) == 1 else None
        for j, f in enumerate(faces):
            vecs.append(f.embedding)
            photo.append(k)
            label.append(e["people"][0] if j == main_face else None)
    vecs, photo = np.array(vecs), np.array(photo)
    named = [i for i, x in enumerate(label) if x]
    result = {"faces": len(vecs), "labelled": len(named)}
    for t in THRESHOLDS:
        runs = []
        for seed in range(args.orders):
            person = cluster(vecs, photo, random.Random(seed).sample(range(len(vecs)), len(vecs)), t)
            tp = fp = fn = 0
            for a, b in itertools.combinations(named, 2):
                same, together = label[a] == label[b], person[a] >= 0 and person[a] == person[b]
                tp, fp, fn = tp + (same and together), fp + (together and not same), fn + (same and not together)
            runs.append((round(tp / max(1, tp + fp), 3), round(tp / max(1, tp + fn), 3),
                         len(set(person[person >= 0].tolist()))))
        result[f"t{t:.2f}"] = {"precision": [r[0] for r in runs], "recall": [r[1] for r in runs],
                               "people": [r[2] for r in runs]}
    emit(result, args.json)


if __name__ == "__main__":
    main()
